//! Reading a failed container's last log lines for the SOP's known failures (section 7) and
//! the ones its errata lead to: nginx 502, restart loops, database and Redis passwords,
//! config files that do not parse, data folders the container's user cannot write.

use super::Container;
use crate::i18n::Msg;

/// Why a service is considered failed, as the runner saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Exited(Option<i64>),
    Unhealthy,
    RestartLoop(i64),
    Timeout(u32),
    StartRefused,
    /// Its log said something it does not recover from (the database refused its login, a
    /// migration failed), while it still ran.
    FatalLog,
}

impl Failure {
    pub fn msg(&self) -> Msg {
        match self {
            Failure::Exited(Some(code)) => msg!("engine.failure.exited").arg("code", code),
            Failure::Exited(None) => msg!("engine.failure.exited_unknown"),
            Failure::Unhealthy => msg!("engine.failure.unhealthy"),
            Failure::RestartLoop(n) => msg!("engine.failure.restart_loop").arg("restarts", n),
            Failure::Timeout(s) => msg!("engine.failure.timeout").arg("seconds", s),
            Failure::StartRefused => msg!("engine.failure.start_refused"),
            Failure::FatalLog => msg!("engine.failure.fatal_log"),
        }
    }
}

/// Lines of LiteLLM's start (the image's migration step and the proxy) after which it never
/// becomes ready by itself: the official image's `prisma migrate deploy` (P1000 login, P3009 /
/// P3018 failed migration) and the stand-in's migrator say the same in their words.
const LITELLM_FATAL: [&str; 6] = [
    "password authentication failed",
    "p1000",
    "authentication failed against database",
    "failed applying",
    "p3009",
    "p3018",
];

/// A log line of `service` that settles its failure at once, before it exits or restarts.
pub fn is_fatal_line(service: &str, line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    service == "litellm" && LITELLM_FATAL.iter().any(|n| l.contains(n))
}

fn any(lines: &[String], needles: &[&str]) -> bool {
    lines.iter().any(|l| {
        let l = l.to_ascii_lowercase();
        needles.iter().any(|n| l.contains(n))
    })
}

/// The most likely cause, from the logs (and the engine's own error, when it refused to start
/// the container). `None` when no known failure matches: the log lines are then all there is.
pub fn diagnose(service: &str, logs: &[String], container: Option<&Container>) -> Option<Msg> {
    let mut lines: Vec<String> = logs.to_vec();
    if let Some(e) = container.and_then(|c| c.error.clone()) {
        lines.push(e);
    }
    if any(&lines, &["address already in use", "port is already allocated"]) {
        return Some(msg!("engine.diag.port").arg("service", service));
    }
    if container.is_some_and(|c| c.oom_killed) {
        return Some(msg!("engine.diag.oom").arg("service", service));
    }
    if any(
        &lines,
        &[
            "password authentication failed",
            "p1000",
            "authentication failed against database",
            "role \"",
        ],
    ) {
        return Some(msg!("engine.diag.db_auth"));
    }
    if any(&lines, &["failed applying", "p3009", "p3018", "migration failed"]) {
        return Some(msg!("engine.diag.db_migration"));
    }
    if any(
        &lines,
        &[
            "did not accept connections in time",
            "can't reach database server",
            "p1001",
        ],
    ) {
        return Some(msg!("engine.diag.db_down"));
    }
    if any(
        &lines,
        &[
            "wrongpass",
            "noauth",
            "invalid username-password pair",
            "invalid password",
            "authenticationerror",
        ],
    ) {
        return Some(msg!("engine.diag.redis_auth"));
    }
    match service {
        "litellm" => {
            if any(
                &lines,
                &[
                    "yaml.scanner",
                    "yaml.parser",
                    "scannererror",
                    "parsererror",
                    "composererror",
                    "mapping values are not allowed",
                    "could not find expected",
                    "error loading config",
                    "config file not found",
                    "invalid config",
                    "validationerror",
                ],
            ) {
                return Some(msg!("engine.diag.litellm_config"));
            }
            if any(&lines, &["modulenotfounderror", "importerror"]) {
                return Some(msg!("engine.diag.litellm_image"));
            }
            if any(&lines, &["master_key", "master key"]) {
                return Some(msg!("engine.diag.master_key"));
            }
        }
        "nginx" => {
            if any(
                &lines,
                &[
                    "connect() failed (111",
                    "no live upstreams",
                    "upstream timed out",
                    "could not be resolved",
                    "host not found in upstream",
                    " 502 ",
                ],
            ) {
                return Some(msg!("engine.diag.nginx_502"));
            }
            if any(&lines, &["[emerg]"]) {
                return Some(msg!("engine.diag.nginx_conf"));
            }
        }
        "prometheus" => {
            if any(&lines, &["permission denied", "read-only file system"]) {
                return Some(msg!("engine.diag.prometheus_permission"));
            }
            if any(
                &lines,
                &["error loading config", "couldn't load configuration", "parsing yaml"],
            ) {
                return Some(msg!("engine.diag.prometheus_conf"));
            }
        }
        "postgres" => {
            if any(
                &lines,
                &[
                    "has wrong ownership",
                    "permission denied",
                    "could not change permissions",
                ],
            ) {
                return Some(msg!("engine.diag.postgres_permission"));
            }
            if any(&lines, &["database files are incompatible with server"]) {
                return Some(msg!("engine.diag.postgres_version"));
            }
        }
        _ => {}
    }
    if any(
        &lines,
        &[
            "bind source path does not exist",
            "not a directory",
            "are you trying to mount",
        ],
    ) {
        return Some(msg!("engine.diag.mount").arg("service", service));
    }
    if any(&lines, &["permission denied"]) {
        return Some(msg!("engine.diag.permission").arg("service", service));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn nginx_that_cannot_reach_the_proxy_is_the_sops_502() {
        let l = lines(&[
            r#"2026/01/01 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, upstream: "http://172.18.0.4:4000/""#,
        ]);
        assert_eq!(
            diagnose("nginx", &l, None).map(|m| m.key),
            Some("engine.diag.nginx_502")
        );
    }

    #[test]
    fn known_failures_are_told_apart() {
        let db = lines(&["FATAL:  password authentication failed for user \"llmproxy\""]);
        assert_eq!(
            diagnose("litellm", &db, None).map(|m| m.key),
            Some("engine.diag.db_auth")
        );
        let redis = lines(&["redis.exceptions.AuthenticationError: WRONGPASS invalid username-password pair"]);
        assert_eq!(
            diagnose("litellm", &redis, None).map(|m| m.key),
            Some("engine.diag.redis_auth")
        );
        let yaml = lines(&["yaml.scanner.ScannerError: mapping values are not allowed here"]);
        assert_eq!(
            diagnose("litellm", &yaml, None).map(|m| m.key),
            Some("engine.diag.litellm_config")
        );
        let prom = lines(&["err=\"open /prometheus/queries.active: permission denied\""]);
        assert_eq!(
            diagnose("prometheus", &prom, None).map(|m| m.key),
            Some("engine.diag.prometheus_permission")
        );
        assert_eq!(diagnose("redis", &lines(&["Ready to accept connections"]), None), None);
        let migration = lines(&["litellm-db-migrate: FAILED applying 20260101_x (SQLSTATE 42P07): relation exists"]);
        assert_eq!(
            diagnose("litellm", &migration, None).map(|m| m.key),
            Some("engine.diag.db_migration")
        );
        let down = lines(&[
            "litellm-db-migrate: giving up: the database at postgres:5432/litellm did not accept connections in time",
        ]);
        assert_eq!(
            diagnose("litellm", &down, None).map(|m| m.key),
            Some("engine.diag.db_down")
        );
    }

    #[test]
    fn a_refused_database_login_is_fatal_at_once() {
        assert!(is_fatal_line(
            "litellm",
            "litellm-db-migrate: waiting for the database at postgres:5432/litellm: connection failed: FATAL:  password authentication failed for user \"llmproxy\""
        ));
        assert!(is_fatal_line(
            "litellm",
            "Error: P1000: Authentication failed against database server"
        ));
        assert!(!is_fatal_line(
            "litellm",
            "litellm-db-migrate: waiting for the database at postgres:5432/litellm: connection refused"
        ));
        assert!(!is_fatal_line(
            "postgres",
            "FATAL:  password authentication failed for user \"x\""
        ));
    }
}
