//! `doctor`: the SOP's troubleshooting table (section 7: nginx 502, containers that restart over
//! and over, config / DB / Redis errors) and the errata that lead to it, checked on an installed
//! stack. Each check has a stable id, a verdict, the evidence it saw (secrets masked) and the fix
//! in the user's language and shell. Independent checks run concurrently.
//!
//! One idea per file:
//! - `machine`: the engine, the docker group, the disk;
//! - `containers`: every service's container (running, healthy, restarts, OOM, a restart loop);
//! - `gateway`: nginx → LiteLLM (which side of a 502 fails) and readiness with the database;
//! - `auth`: the Postgres login and the Redis password of `.env`, asked of the servers;
//! - `files`: `.env`'s mode, CRLF, drift from what the answers render, images against the lock,
//!   the master key;
//! - `migrations`: failed rows of Prisma's `_prisma_migrations`;
//! - `prometheus`: Prometheus scrapes LiteLLM;
//! - `upgrade_journal`: an upgrade that did not finish (its journal left in the install dir).

mod auth;
mod containers;
mod files;
mod gateway;
mod machine;
mod migrations;
mod prometheus;
mod upgrade_journal;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::answers::Answers;
use crate::engine::{Container, Engine};
use crate::error::{Exit, Result};
use crate::health::Endpoints;
use crate::i18n::Msg;
use crate::platform::{Os, Shell, join_rel};
use crate::secrets::{ExistingEnv, is_secret_key, redact};
use crate::stack::Stack;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// Works, but worth knowing (still starting, restarted before, not scraped yet).
    Warn,
    Fail,
    /// Not checked: what it needs is missing, and another check (named in the summary) says
    /// why. Never counted as a pass, never as a failure of its own.
    Skip,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Stable: `engine.reachable`, `container.litellm.running`, `nginx.upstream`, …
    pub id: String,
    pub verdict: Verdict,
    /// What was found, in words.
    pub summary: Msg,
    /// What the check saw (an HTTP status, a log line, a server's answer): untranslated,
    /// every known secret masked.
    pub evidence: Vec<String>,
    /// What to do, with the commands in the user's shell; for a warning or a failure.
    pub fix: Option<Msg>,
}

impl Finding {
    pub fn pass(id: impl Into<String>, summary: Msg) -> Finding {
        Finding {
            id: id.into(),
            verdict: Verdict::Pass,
            summary,
            evidence: Vec::new(),
            fix: None,
        }
    }
    pub fn warn(id: impl Into<String>, summary: Msg, fix: Msg) -> Finding {
        Finding {
            verdict: Verdict::Warn,
            fix: Some(fix),
            ..Finding::pass(id, summary)
        }
    }
    pub fn fail(id: impl Into<String>, summary: Msg, fix: Msg) -> Finding {
        Finding {
            verdict: Verdict::Fail,
            fix: Some(fix),
            ..Finding::pass(id, summary)
        }
    }
    pub fn skip(id: impl Into<String>, summary: Msg) -> Finding {
        Finding {
            verdict: Verdict::Skip,
            ..Finding::pass(id, summary)
        }
    }
    pub fn seen(mut self, line: impl Into<String>) -> Finding {
        self.evidence.push(line.into());
        self
    }
}

/// All checks of one run, in the order of the SOP's table (the engine first, files last).
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub dir: PathBuf,
    pub project: String,
    pub findings: Vec<Finding>,
    pub elapsed: Duration,
    /// No engine answered, or the one that did cannot run the stack (exit 3).
    pub engine_unreachable: bool,
}

impl Diagnosis {
    /// 3 when the engine is unreachable, 1 when a check failed, else 0.
    pub fn exit(&self) -> Exit {
        if self.engine_unreachable {
            Exit::Environment
        } else if self.count(Verdict::Fail) > 0 {
            Exit::Failed
        } else {
            Exit::Ok
        }
    }

    pub fn count(&self, v: Verdict) -> usize {
        self.findings.iter().filter(|f| f.verdict == v).count()
    }

    pub fn get(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }
}

/// What every check may read: the install as its answers describe it, and its `.env`.
pub struct Context {
    pub answers: Answers,
    pub os: Os,
    pub stack: Stack,
    pub endpoints: Endpoints,
    pub env: ExistingEnv,
    /// Every secret value known (this `.env` and its backups), for masking evidence.
    pub secrets: Vec<String>,
    /// The program as the user types it, for the fixes' follow-up commands.
    pub program: String,
}

impl Context {
    pub fn new(answers: Answers, os: Os) -> Result<Context> {
        let stack = Stack::from_answers(&answers, os);
        let env = ExistingEnv::read(&join_rel(&answers.dir, ".env"))?;
        let mut secrets: Vec<String> = secret_values(&env);
        // A password changed in `.env` leaves the old one in the containers (and their logs):
        // the backups know it.
        if let Ok(entries) = std::fs::read_dir(join_rel(&answers.dir, "backups/files")) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(".env.") {
                    if let Ok(old) = ExistingEnv::read(&e.path()) {
                        secrets.extend(secret_values(&old));
                    }
                }
            }
        }
        // Prometheus's metrics-only key is a credential too.
        if let Ok(Some(key)) = crate::steps::metrics_key::read_key(&answers.dir) {
            secrets.push(key.expose().to_string());
        }
        Ok(Context {
            endpoints: Endpoints::from_answers(&answers),
            stack,
            env,
            secrets,
            program: crate::howto::program_name(),
            answers,
            os,
        })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.answers.dir
    }

    pub fn shell(&self) -> Shell {
        self.os.shell()
    }

    /// `litellm-stack <command>` for this install, as the user types it.
    pub fn follow_up(&self, command: &str) -> String {
        crate::howto::follow_up(&self.program, command, self.dir(), &self.os.default_dir(), self.shell())
    }

    /// Text from elsewhere with every known secret masked.
    pub fn mask(&self, text: &str) -> String {
        redact(text, &self.secrets)
    }

    /// A `.env` value, empty when missing.
    pub fn env_value(&self, key: &str) -> String {
        self.env.get(key).map(|s| s.expose().to_string()).unwrap_or_default()
    }
}

fn secret_values(env: &ExistingEnv) -> Vec<String> {
    env.entries
        .iter()
        .filter(|(k, v)| is_secret_key(k) && !v.is_empty())
        .map(|(_, v)| v.expose().to_string())
        .collect()
}

/// The containers of the stack's services, as inspected once for every check.
#[derive(Debug, Clone, Default)]
pub struct Containers {
    pub by_service: Vec<(String, Option<Container>)>,
}

impl Containers {
    pub fn get(&self, service: &str) -> Option<&Container> {
        self.by_service
            .iter()
            .find(|(s, _)| s == service)
            .and_then(|(_, c)| c.as_ref())
    }

    /// The service's container runs (it may still be starting).
    pub fn running(&self, service: &str) -> bool {
        self.get(service)
            .is_some_and(|c| c.state == crate::engine::State::Running)
    }
}

/// Runs every check against the install of `ctx`.
pub async fn diagnose(ctx: &Context) -> Diagnosis {
    let started = Instant::now();
    let mut findings = Vec::new();
    let engine_unreachable = match crate::engine::connect().await {
        Err(e) => {
            findings.push(machine::unreachable(&crate::error::Error::from(e)));
            findings.push(machine::docker_group(ctx, false));
            findings.push(machine::disk(ctx));
            findings.extend(skipped_without_engine(ctx));
            findings.extend(files::checks(ctx, None));
            findings.push(upgrade_journal::check(ctx));
            findings.push(Finding::skip(prometheus::ID, msg!("doctor.skip.no_engine")));
            findings.push(Finding::skip(prometheus::KEY_ID, msg!("doctor.skip.no_engine")));
            true
        }
        Ok(engine) => {
            findings.extend(with_engine(ctx, &engine).await);
            // An engine that answers but cannot run the stack (too old, Windows containers)
            // is the environment's problem too.
            findings
                .iter()
                .any(|f| f.id == machine::REACHABLE && f.verdict == Verdict::Fail)
        }
    };
    Diagnosis {
        dir: ctx.dir().to_path_buf(),
        project: ctx.stack.project.clone(),
        findings,
        elapsed: started.elapsed(),
        engine_unreachable,
    }
}

async fn with_engine(ctx: &Context, engine: &dyn Engine) -> Vec<Finding> {
    let (info, containers) = tokio::join!(engine.info(), containers::inspect(engine, ctx));
    let mut out = vec![machine::reachable(engine.endpoint(), info)];
    out.push(machine::docker_group(ctx, true));
    out.push(machine::disk(ctx));
    let containers = match containers {
        Ok(c) => c,
        Err(e) => {
            let e = crate::error::Error::from(e);
            out.push(
                Finding::fail(containers::LIST, e.what.clone(), msg!("doctor.fix.engine_error"))
                    .seen(ctx.mask(&e.render(crate::i18n::Lang::En))),
            );
            Containers::default()
        }
    };
    let (container_findings, gateway, db, migrations, redis, prometheus, prometheus_key) = tokio::join!(
        containers::checks(engine, ctx, &containers),
        gateway::checks(engine, ctx, &containers),
        auth::postgres(engine, ctx, &containers),
        migrations::check(engine, ctx, &containers),
        auth::redis(engine, ctx, &containers),
        prometheus::check(engine, ctx, &containers),
        prometheus::check_key(ctx, &containers),
    );
    out.extend(container_findings);
    out.extend(gateway);
    out.push(db);
    out.push(migrations);
    out.push(redis);
    out.extend(files::checks(ctx, Some(&containers)));
    out.push(upgrade_journal::check(ctx));
    out.push(prometheus);
    out.push(prometheus_key);
    out
}

/// The engine's checks as skipped, so that every run lists the same ids.
fn skipped_without_engine(ctx: &Context) -> Vec<Finding> {
    let why = || msg!("doctor.skip.no_engine");
    let mut out: Vec<Finding> = ctx
        .stack
        .services
        .iter()
        .map(|s| Finding::skip(containers::id(s.name), why()))
        .collect();
    for id in gateway::IDS
        .iter()
        .chain([auth::DB_LOGIN, migrations::ID, auth::REDIS_AUTH].iter())
    {
        out.push(Finding::skip(*id, why()));
    }
    out
}

/// `doctor`: loads nothing more than the answers and `.env`, connects, checks.
pub async fn run(answers: Answers, os: Os) -> Result<Diagnosis> {
    let ctx = Context::new(answers, os)?;
    Ok(diagnose(&ctx).await)
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// The default Linux install with an empty `.env`.
    pub fn context() -> Context {
        let answers = Answers::defaults_for(Os::Linux);
        Context {
            stack: Stack::from_answers(&answers, Os::Linux),
            endpoints: Endpoints::from_answers(&answers),
            env: ExistingEnv::default(),
            secrets: Vec::new(),
            program: "litellm-stack".into(),
            answers,
            os: Os::Linux,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnosis(verdicts: &[Verdict], unreachable: bool) -> Diagnosis {
        Diagnosis {
            dir: PathBuf::from("/tmp/x"),
            project: "x".into(),
            findings: verdicts
                .iter()
                .enumerate()
                .map(|(i, v)| Finding {
                    verdict: *v,
                    ..Finding::pass(format!("c{i}"), msg!("doctor.skip.no_engine"))
                })
                .collect(),
            elapsed: Duration::ZERO,
            engine_unreachable: unreachable,
        }
    }

    #[test]
    fn the_exit_code_says_fail_over_warn_and_no_engine_over_all() {
        use Verdict::*;
        assert_eq!(diagnosis(&[Pass, Pass, Skip], false).exit(), Exit::Ok);
        assert_eq!(diagnosis(&[Pass, Warn], false).exit(), Exit::Ok);
        assert_eq!(diagnosis(&[Pass, Warn, Fail], false).exit(), Exit::Failed);
        assert_eq!(diagnosis(&[Fail, Skip], true).exit(), Exit::Environment);
    }
}
