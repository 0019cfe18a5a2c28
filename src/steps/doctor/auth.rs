//! The passwords of `.env`, asked of the servers themselves, inside their own containers: the
//! Postgres login of `DATABASE_URL` (over the network, where Postgres checks passwords; its
//! socket trusts everyone) and Redis's `requirepass`. The passwords travel in the exec's
//! environment (`PGPASSWORD`, `REDISCLI_AUTH`), never on a command line.
//!
//! The classic failure (Prisma's P1000): the Postgres password changed in `.env` after
//! `pg_data` was created. Postgres keeps the password it was first given; the new one is not
//! the database's.

use super::{Containers, Context, Finding};
use crate::engine::{Engine, ExecText};
use crate::secrets::Secret;
use crate::stack::{POSTGRES_PORT, REDIS_PORT};

pub const DB_LOGIN: &str = "db.login";
pub const REDIS_AUTH: &str = "redis.auth";

/// The parts of `DATABASE_URL` (`postgresql://user:password@host:port/db?…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUrl {
    pub user: String,
    pub password: Secret,
    pub host: String,
    pub port: u16,
    pub db: String,
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub fn parse_database_url(url: &str) -> Option<DbUrl> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))?;
    let (auth, rest) = rest.rsplit_once('@')?;
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (hostport, POSTGRES_PORT),
    };
    let db = path.split('?').next().unwrap_or_default();
    Some(DbUrl {
        user: percent_decode(user)?,
        password: Secret::new(percent_decode(password)?),
        host: host.to_string(),
        port,
        db: percent_decode(db)?,
    })
}

/// What a login attempt by a client in the container came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Ok,
    BadPassword,
    /// The role or database of `.env` does not exist in the data (made with other names).
    Unknown(String),
    Unreachable(String),
    /// The image has no client to ask with.
    NoClient,
    Other(String),
}

fn last_line(out: &ExecText) -> String {
    let text = if out.stderr.trim().is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn no_client(out: &ExecText) -> bool {
    matches!(out.exit_code, Some(126 | 127)) || out.stdout.contains("executable file not found")
}

pub fn judge_psql(out: &ExecText) -> Login {
    let err = out.stderr.to_ascii_lowercase();
    if out.exit_code == Some(0) {
        Login::Ok
    } else if err.contains("password authentication failed") || err.contains("no password supplied") {
        Login::BadPassword
    } else if err.contains("does not exist") {
        Login::Unknown(last_line(out))
    } else if [
        "could not translate host",
        "connection refused",
        "timeout expired",
        "could not connect",
    ]
    .iter()
    .any(|n| err.contains(n))
    {
        Login::Unreachable(last_line(out))
    } else if no_client(out) {
        Login::NoClient
    } else {
        Login::Other(last_line(out))
    }
}

pub fn judge_redis_cli(out: &ExecText) -> Login {
    let all = format!("{}\n{}", out.stdout, out.stderr);
    let upper = all.to_ascii_uppercase();
    if out.stdout.trim() == "PONG" {
        Login::Ok
    } else if ["WRONGPASS", "NOAUTH", "INVALID PASSWORD", "AUTH FAILED"]
        .iter()
        .any(|n| upper.contains(n))
    {
        Login::BadPassword
    } else if upper.contains("COULD NOT CONNECT") || upper.contains("CONNECTION REFUSED") {
        Login::Unreachable(last_line(out))
    } else if no_client(out) {
        Login::NoClient
    } else {
        Login::Other(last_line(out))
    }
}

fn container_id<'a>(containers: &'a Containers, service: &str) -> Option<&'a str> {
    containers
        .get(service)
        .filter(|_| containers.running(service))
        .map(|c| c.id.as_str())
}

fn see(service: &str) -> crate::i18n::Msg {
    msg!("doctor.skip.see").arg("id", super::containers::id(service))
}

/// `DATABASE_URL`'s login, tried against the running Postgres.
pub async fn postgres(engine: &dyn Engine, ctx: &Context, containers: &Containers) -> Finding {
    let Some(id) = container_id(containers, "postgres") else {
        return Finding::skip(DB_LOGIN, see("postgres"));
    };
    let env_path = ctx.dir().join(".env").display().to_string();
    let Some(url) = parse_database_url(&ctx.env_value("DATABASE_URL")) else {
        return Finding::fail(
            DB_LOGIN,
            msg!("doctor.db.no_url").arg("env", &env_path),
            msg!("doctor.fix.database_url").arg("port", POSTGRES_PORT),
        );
    };
    let cmd: Vec<String> = [
        "psql",
        "-X",
        "-A",
        "-t",
        "-w",
        "-h",
        &url.host,
        "-p",
        &url.port.to_string(),
        "-U",
        &url.user,
        "-d",
        &url.db,
        "-c",
        "SELECT 1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let env = [
        ("PGPASSWORD".to_string(), url.password.clone()),
        ("PGCONNECT_TIMEOUT".to_string(), Secret::new("3")),
    ];
    let result = engine.exec_output(id, &cmd, &env).await;
    let login = match &result {
        Ok(out) => judge_psql(out),
        Err(e) => Login::Other(e.to_string()),
    };
    let name = containers.get("postgres").map_or_else(String::new, |c| c.name.clone());
    let at = format!("{}@{}:{}/{}", url.user, url.host, url.port, url.db);
    let seen = |f: Finding| match &result {
        Ok(out) => f.seen(ctx.mask(&format!(
            "psql {at} (in {name}): exit {}, {}",
            out.exit_code.map_or("?".into(), |c| c.to_string()),
            if last_line(out).is_empty() {
                "-".into()
            } else {
                last_line(out)
            }
        ))),
        Err(e) => f.seen(ctx.mask(&e.to_string())),
    };
    let install = ctx.follow_up("install");
    seen(match login {
        Login::Ok if ctx.env_value("POSTGRES_PASSWORD") != url.password.expose() => Finding::warn(
            DB_LOGIN,
            msg!("doctor.db.passwords_differ").arg("env", &env_path),
            msg!("doctor.fix.passwords_differ"),
        ),
        Login::Ok => Finding::pass(DB_LOGIN, msg!("doctor.db.ok").arg("at", &at)),
        Login::BadPassword => Finding::fail(
            DB_LOGIN,
            msg!("doctor.db.bad_password").arg("at", &at).arg("env", &env_path),
            msg!("doctor.fix.db_password")
                .arg(
                    "cmd",
                    format!(
                        "docker exec -it {name} psql -U {} -d {} -c '\\password {}'",
                        url.user, url.db, url.user
                    ),
                )
                .arg("install", &install),
        ),
        Login::Unknown(line) => Finding::fail(
            DB_LOGIN,
            msg!("doctor.db.unknown").arg("at", &at).arg("error", ctx.mask(&line)),
            msg!("doctor.fix.db_unknown").arg("env", &env_path),
        ),
        Login::Unreachable(line) => Finding::fail(
            DB_LOGIN,
            msg!("doctor.db.unreachable")
                .arg("at", &at)
                .arg("error", ctx.mask(&line)),
            msg!("doctor.fix.database_url").arg("port", POSTGRES_PORT),
        ),
        Login::NoClient => Finding::warn(
            DB_LOGIN,
            msg!("doctor.no_client").arg("client", "psql").arg("name", &name),
            msg!("doctor.fix.no_client"),
        ),
        Login::Other(line) => Finding::fail(
            DB_LOGIN,
            msg!("doctor.db.other").arg("at", &at).arg("error", ctx.mask(&line)),
            msg!("doctor.fix.see_logs").arg("cmd", ctx.follow_up("logs postgres")),
        ),
    })
}

/// `REDIS_PASSWORD`, tried against the running Redis.
pub async fn redis(engine: &dyn Engine, ctx: &Context, containers: &Containers) -> Finding {
    let Some(id) = container_id(containers, "redis") else {
        return Finding::skip(REDIS_AUTH, see("redis"));
    };
    let env_path = ctx.dir().join(".env").display().to_string();
    let password = ctx.env_value("REDIS_PASSWORD");
    if password.is_empty() {
        return Finding::fail(
            REDIS_AUTH,
            msg!("doctor.redis.no_password").arg("env", &env_path),
            msg!("doctor.fix.install").arg("cmd", ctx.follow_up("install")),
        );
    }
    let cmd: Vec<String> = ["redis-cli", "--no-auth-warning", "-p", &REDIS_PORT.to_string(), "ping"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let env = [("REDISCLI_AUTH".to_string(), Secret::new(password))];
    let result = engine.exec_output(id, &cmd, &env).await;
    let login = match &result {
        Ok(out) => judge_redis_cli(out),
        Err(e) => Login::Other(e.to_string()),
    };
    let name = containers.get("redis").map_or_else(String::new, |c| c.name.clone());
    let f = match login {
        Login::Ok => Finding::pass(REDIS_AUTH, msg!("doctor.redis.ok").arg("name", &name)),
        Login::BadPassword => Finding::fail(
            REDIS_AUTH,
            msg!("doctor.redis.bad_password")
                .arg("name", &name)
                .arg("env", &env_path),
            msg!("doctor.fix.redis_password").arg("cmd", ctx.follow_up("install")),
        ),
        Login::NoClient => Finding::warn(
            REDIS_AUTH,
            msg!("doctor.no_client").arg("client", "redis-cli").arg("name", &name),
            msg!("doctor.fix.no_client"),
        ),
        Login::Unknown(line) | Login::Unreachable(line) | Login::Other(line) => Finding::fail(
            REDIS_AUTH,
            msg!("doctor.redis.other")
                .arg("name", &name)
                .arg("error", ctx.mask(&line)),
            msg!("doctor.fix.see_logs").arg("cmd", ctx.follow_up("logs redis")),
        ),
    };
    match &result {
        Ok(out) => f.seen(ctx.mask(&format!(
            "redis-cli ping (in {name}): exit {}, {}",
            out.exit_code.map_or("?".into(), |c| c.to_string()),
            last_line(out)
        ))),
        Err(e) => f.seen(ctx.mask(&e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i64, stdout: &str, stderr: &str) -> ExecText {
        ExecText {
            exit_code: Some(code),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn the_database_url_is_read_with_its_escapes() {
        let u = parse_database_url("postgresql://llmproxy:p%40ss@postgres:5432/litellm?connection_limit=10")
            .expect("parses");
        assert_eq!(
            (
                u.user.as_str(),
                u.password.expose(),
                u.host.as_str(),
                u.port,
                u.db.as_str()
            ),
            ("llmproxy", "p@ss", "postgres", 5432, "litellm")
        );
        assert_eq!(parse_database_url("postgres://u:p@db/x").map(|u| u.port), Some(5432));
        assert!(parse_database_url("mysql://u:p@db/x").is_none());
    }

    #[test]
    fn a_changed_postgres_password_is_told_from_other_failures() {
        let p1000 = out(
            2,
            "",
            "psql: error: connection to server at \"postgres\" (172.18.0.2), port 5432 failed: FATAL:  password authentication failed for user \"llmproxy\"\n",
        );
        assert_eq!(judge_psql(&p1000), Login::BadPassword);
        assert_eq!(judge_psql(&out(0, "1\n", "")), Login::Ok);
        assert!(matches!(
            judge_psql(&out(2, "", "psql: error: could not translate host name \"postgres\"")),
            Login::Unreachable(_)
        ));
        assert!(matches!(
            judge_psql(&out(2, "", "FATAL:  database \"litellm2\" does not exist")),
            Login::Unknown(_)
        ));
        assert_eq!(
            judge_psql(&out(
                127,
                "OCI runtime exec failed: exec: \"psql\": executable file not found in $PATH",
                ""
            )),
            Login::NoClient
        );
    }

    #[test]
    fn redis_refusing_the_password_is_told_from_other_failures() {
        assert_eq!(judge_redis_cli(&out(0, "PONG\n", "")), Login::Ok);
        assert_eq!(
            judge_redis_cli(&out(
                0,
                "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\nNOAUTH Authentication required.\n",
                ""
            )),
            Login::BadPassword
        );
        assert!(matches!(
            judge_redis_cli(&out(
                1,
                "Could not connect to Redis at 127.0.0.1:6379: Connection refused",
                ""
            )),
            Login::Unreachable(_)
        ));
    }
}
