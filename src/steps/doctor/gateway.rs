//! nginx → LiteLLM, the SOP's "Nginx 502" row: the same readiness request through nginx and
//! to LiteLLM directly (its published port, else from inside its container) tells which side
//! fails. Then readiness itself: 200 with the database connected, the SOP's own criterion.

use std::time::Duration;

use super::{Containers, Context, Finding};
use crate::engine::Engine;
use crate::health::ProbeState;
use crate::health::look::readiness_once;
use crate::stack::LITELLM_PORT;

pub const UPSTREAM: &str = "nginx.upstream";
pub const READINESS: &str = "db.readiness";
pub const IDS: [&str; 2] = [UPSTREAM, READINESS];

const TIMEOUT: Duration = Duration::from_secs(3);

/// One readiness request and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    /// A URL, or `litellm container → localhost:4000` for the look from inside.
    pub at: String,
    pub state: ProbeState,
}

impl Look {
    /// LiteLLM itself answered (whatever it said).
    fn litellm_answered(&self) -> bool {
        matches!(
            self.state,
            ProbeState::Ready { .. } | ProbeState::DbNotConnected { .. } | ProbeState::ShuttingDown
        )
    }

    /// What was seen, untranslated.
    fn evidence(&self) -> String {
        let what = match &self.state {
            ProbeState::Refused => "connection refused".to_string(),
            ProbeState::NoAnswer { detail, .. } => format!("no HTTP answer ({detail})"),
            ProbeState::Gateway { status } | ProbeState::Unexpected { status } => format!("HTTP {status}"),
            ProbeState::DbNotConnected { status, db } => {
                format!("HTTP {status}, db: {}", db.as_deref().unwrap_or("-"))
            }
            ProbeState::ShuttingDown => "HTTP 503, status: shutting_down".to_string(),
            ProbeState::Ready { version, db } => format!(
                "HTTP 200, db: {}, litellm_version: {}",
                db.as_deref().unwrap_or("-"),
                version.as_deref().unwrap_or("-")
            ),
        };
        format!("GET {}/health/readiness: {what}", self.at)
    }
}

async fn over_http(base: &str) -> Look {
    let state = match readiness_once(base, TIMEOUT).await {
        Ok(s) => s,
        Err(e) => ProbeState::NoAnswer {
            detail: crate::error::Error::from(e).render(crate::i18n::Lang::En),
            timed_out: false,
        },
    };
    Look {
        at: base.to_string(),
        state,
    }
}

/// The image has Python but neither curl nor wget: the request from inside, in Python.
const INSIDE: &str = "import urllib.request as u, urllib.error as e\n\
try:\n    r = u.urlopen('http://localhost:4000/health/readiness', timeout=3)\n    print(r.status); print(r.read().decode())\n\
except e.HTTPError as x:\n    print(x.code); print(x.read().decode())\n";

/// The request from inside the litellm container, when its port is not published.
async fn from_inside(engine: &dyn Engine, containers: &Containers) -> Option<Look> {
    let c = containers.get("litellm").filter(|_| containers.running("litellm"))?;
    let cmd = vec!["python3".to_string(), "-c".to_string(), INSIDE.to_string()];
    let out = engine.exec_output(&c.id, &cmd, &[]).await.ok()?;
    let (status, body) = out.stdout.split_once('\n').unwrap_or((out.stdout.as_str(), ""));
    let state = match status.trim().parse::<u16>() {
        Ok(status) => ProbeState::from_response(status, body),
        Err(_) if out.stderr.contains("Connection refused") => ProbeState::Refused,
        Err(_) => ProbeState::NoAnswer {
            detail: out.stderr.lines().last().unwrap_or_default().to_string(),
            timed_out: false,
        },
    };
    Some(Look {
        at: format!("litellm container → localhost:{LITELLM_PORT}"),
        state,
    })
}

pub async fn checks(engine: &dyn Engine, ctx: &Context, containers: &Containers) -> Vec<Finding> {
    let through = async {
        match &ctx.endpoints.nginx {
            Some(url) => Some(over_http(url).await),
            None => None,
        }
    };
    let direct = async {
        match &ctx.endpoints.proxy {
            Some(url) => Some(over_http(url).await),
            None => from_inside(engine, containers).await,
        }
    };
    let (through, direct) = tokio::join!(through, direct);
    vec![
        upstream(ctx, containers, through.as_ref(), direct.as_ref()),
        readiness(ctx, through.as_ref(), direct.as_ref()),
    ]
}

/// Which side of nginx → LiteLLM fails, if one does.
pub fn upstream(ctx: &Context, containers: &Containers, through: Option<&Look>, direct: Option<&Look>) -> Finding {
    let Some(through) = through else {
        return Finding::skip(UPSTREAM, msg!("doctor.skip.no_nginx"));
    };
    let name = |service: &str| {
        containers.get(service).map_or_else(
            || crate::engine::spec::container_name(&ctx.stack.project, service),
            |c| c.name.clone(),
        )
    };
    let start_or_logs = |service: &str| {
        if containers.running(service) {
            msg!("doctor.fix.see_logs").arg("cmd", ctx.follow_up(&format!("logs {service}")))
        } else {
            msg!("doctor.fix.start")
                .arg("name", name(service))
                .arg("cmd", ctx.follow_up("install"))
        }
    };
    let f = match &through.state {
        _ if through.litellm_answered() => Finding::pass(UPSTREAM, msg!("doctor.upstream.ok").arg("url", &through.at)),
        ProbeState::Gateway { status } if direct.is_some_and(Look::litellm_answered) => Finding::fail(
            UPSTREAM,
            msg!("doctor.upstream.nginx_side")
                .arg("url", &through.at)
                .arg("status", status),
            msg!("doctor.fix.upstream_nginx")
                .arg("name", name("nginx"))
                .arg("port", LITELLM_PORT)
                .arg("plan", ctx.follow_up("plan")),
        ),
        ProbeState::Gateway { status } => Finding::fail(
            UPSTREAM,
            msg!("doctor.upstream.litellm_side")
                .arg("url", &through.at)
                .arg("status", status)
                .arg("port", LITELLM_PORT),
            start_or_logs("litellm"),
        ),
        // nginx took the connection and holds it: it is waiting on LiteLLM (or on Docker's
        // DNS for a container that is gone) and answers 502/504 only after its timeouts.
        ProbeState::NoAnswer { timed_out: true, .. } if !direct.is_some_and(Look::litellm_answered) => Finding::fail(
            UPSTREAM,
            msg!("doctor.upstream.litellm_side_slow")
                .arg("url", &through.at)
                .arg("seconds", TIMEOUT.as_secs())
                .arg("port", LITELLM_PORT),
            start_or_logs("litellm"),
        ),
        ProbeState::Refused | ProbeState::NoAnswer { .. } => Finding::fail(
            UPSTREAM,
            msg!("doctor.upstream.no_nginx").arg("url", &through.at),
            start_or_logs("nginx"),
        ),
        _ => Finding::fail(
            UPSTREAM,
            msg!("doctor.upstream.other").arg("url", &through.at),
            msg!("doctor.fix.port_other").arg("url", &through.at),
        ),
    };
    let f = f.seen(through.evidence());
    match direct {
        Some(d) => f.seen(d.evidence()),
        None => f,
    }
}

/// `/health/readiness` answers 200 with `db: connected`.
pub fn readiness(ctx: &Context, through: Option<&Look>, direct: Option<&Look>) -> Finding {
    let Some(look) = direct
        .filter(|d| d.litellm_answered())
        .or(through.filter(|t| t.litellm_answered()))
    else {
        return Finding::skip(
            READINESS,
            msg!("doctor.skip.no_litellm").arg(
                "id",
                if through.is_some() {
                    UPSTREAM
                } else {
                    "container.litellm.running"
                },
            ),
        );
    };
    let db_fix = || {
        msg!("doctor.fix.db_not_connected")
            .arg("litellm", ctx.follow_up("logs litellm"))
            .arg("postgres", ctx.follow_up("logs postgres"))
    };
    let f = match &look.state {
        ProbeState::Ready { db: Some(db), .. } if db == "connected" => {
            Finding::pass(READINESS, msg!("doctor.readiness.ok").arg("url", &look.at))
        }
        ProbeState::ShuttingDown => Finding::warn(
            READINESS,
            msg!("doctor.readiness.shutting_down").arg("url", &look.at),
            msg!("doctor.fix.wait").arg("cmd", ctx.follow_up("doctor")),
        ),
        ProbeState::Ready { db, .. } | ProbeState::DbNotConnected { db, .. } => Finding::fail(
            READINESS,
            msg!("doctor.readiness.no_db")
                .arg("url", &look.at)
                .arg("db", db.as_deref().unwrap_or("-")),
            db_fix(),
        ),
        _ => Finding::skip(READINESS, msg!("doctor.skip.no_litellm").arg("id", UPSTREAM)),
    };
    f.seen(look.evidence())
}

#[cfg(test)]
mod tests {
    use super::super::{Verdict, tests_support::context};
    use super::*;

    fn look(at: &str, state: ProbeState) -> Look {
        Look { at: at.into(), state }
    }

    fn ready() -> ProbeState {
        ProbeState::Ready {
            version: Some("1.108.7".into()),
            db: Some("connected".into()),
        }
    }

    #[test]
    fn a_502_with_litellm_down_blames_litellm_and_with_litellm_up_blames_nginx() {
        let ctx = context();
        let none = Containers::default();
        let bad_gateway = look("http://127.0.0.1:80", ProbeState::Gateway { status: 502 });
        let refused = look("http://127.0.0.1:4000", ProbeState::Refused);
        let f = upstream(&ctx, &none, Some(&bad_gateway), Some(&refused));
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(f.summary.key, key!("doctor.upstream.litellm_side"));
        assert_eq!(f.evidence.len(), 2, "{:?}", f.evidence);
        // LiteLLM not running: the fix starts it.
        assert_eq!(f.fix.as_ref().map(|m| m.key), Some("doctor.fix.start"));

        let held = look(
            "http://127.0.0.1:80",
            ProbeState::NoAnswer {
                detail: "operation timed out".into(),
                timed_out: true,
            },
        );
        let f = upstream(&ctx, &none, Some(&held), Some(&refused));
        assert_eq!(f.summary.key, "doctor.upstream.litellm_side_slow");

        let up = look("http://127.0.0.1:4000", ready());
        let f = upstream(&ctx, &none, Some(&bad_gateway), Some(&up));
        assert_eq!(f.summary.key, key!("doctor.upstream.nginx_side"));
        assert_eq!(f.fix.as_ref().map(|m| m.key), Some("doctor.fix.upstream_nginx"));

        let f = upstream(&ctx, &none, Some(&look("http://127.0.0.1:80", ready())), Some(&up));
        assert_eq!(f.verdict, Verdict::Pass);
    }

    #[test]
    fn readiness_wants_the_database_connected_and_is_skipped_when_litellm_is_silent() {
        let ctx = context();
        let through = look("http://127.0.0.1:80", ready());
        assert_eq!(readiness(&ctx, Some(&through), None).verdict, Verdict::Pass);
        let no_db = look(
            "http://127.0.0.1:4000",
            ProbeState::DbNotConnected {
                status: 503,
                db: Some("disconnected".into()),
            },
        );
        let f = readiness(&ctx, Some(&through), Some(&no_db));
        assert_eq!(f.verdict, Verdict::Fail, "the direct answer counts first");
        let gone = look("http://127.0.0.1:80", ProbeState::Gateway { status: 502 });
        let refused = look("http://127.0.0.1:4000", ProbeState::Refused);
        assert_eq!(readiness(&ctx, Some(&gone), Some(&refused)).verdict, Verdict::Skip);
    }
}
