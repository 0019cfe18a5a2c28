//! The machine under the stack: the engine answers and is recent enough, this account may use
//! it (the docker group on Linux), and the install dir's disk has room for the database to grow.

use super::{Context, Finding};
use crate::engine::{EngineInfo, EngineResult};
use crate::error::Error;
use crate::platform::{Os, existing_ancestor};
use crate::steps::preflight::{MIN_FREE_BYTES, engine_check, free_space};

pub const REACHABLE: &str = "engine.reachable";
pub const GROUP: &str = "engine.group";
pub const DISK: &str = "disk.free";

/// Below this the database has little room left to grow: a warning.
const DISK_WARN: u64 = 2 << 30;

/// No engine answered: the connection's own error (what, why, the fix for this OS).
pub fn unreachable(e: &Error) -> Finding {
    let fix = e.hint.clone().unwrap_or_else(|| msg!("doctor.fix.engine_error"));
    let f = Finding::fail(REACHABLE, e.what.clone(), fix);
    match &e.detail {
        Some(d) => f.seen(d.clone()),
        None => f,
    }
}

/// The engine answered the connection; its version, or why it cannot run the stack.
pub fn reachable(endpoint: &str, info: EngineResult<EngineInfo>) -> Finding {
    match info.map_err(Error::from).and_then(|i| engine_check(&i)) {
        Ok(summary) => Finding::pass(REACHABLE, summary),
        Err(e) => {
            let f = Finding::fail(
                REACHABLE,
                e.what.clone(),
                e.hint.clone().unwrap_or_else(|| msg!("doctor.fix.engine_error")),
            );
            f.seen(format!("endpoint {endpoint}"))
        }
    }
}

/// What decides whether this account may use the engine's socket on Linux.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    pub uid: Option<u32>,
    pub name: String,
    /// The groups this process runs with (a group added since login is not among them).
    pub session_gids: Vec<u32>,
    /// `docker`'s gid and members, from `/etc/group`.
    pub docker_group: Option<(u32, Vec<String>)>,
}

impl Account {
    /// This process's account, from `/proc/self/status` and `/etc/group`.
    pub fn current() -> Account {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|rest| {
                    rest.split_whitespace()
                        .filter_map(|n| n.parse::<u32>().ok())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
        Account {
            uid: field("Uid:").first().copied(),
            name: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_default(),
            session_gids: field("Groups:"),
            docker_group: docker_group_in(&groups),
        }
    }
}

/// The `docker` line of an `/etc/group` text: its gid and members.
pub fn docker_group_in(etc_group: &str) -> Option<(u32, Vec<String>)> {
    etc_group.lines().find_map(|l| {
        let mut parts = l.split(':');
        if parts.next()? != "docker" {
            return None;
        }
        let gid = parts.nth(1)?.trim().parse().ok()?;
        let members = parts
            .next()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        Some((gid, members))
    })
}

/// The docker-group check, for this machine.
pub fn docker_group(ctx: &Context, reached: bool) -> Finding {
    if ctx.os != Os::Linux {
        return if reached {
            Finding::pass(GROUP, msg!("doctor.group.desktop_ok"))
        } else {
            Finding::skip(GROUP, msg!("doctor.skip.see").arg("id", REACHABLE))
        };
    }
    judge_group(&Account::current(), reached)
}

/// Root needs no group; a member whose session predates joining needs a new login; anyone
/// else the engine refused needs to join.
pub fn judge_group(a: &Account, reached: bool) -> Finding {
    if a.uid == Some(0) {
        return Finding::pass(GROUP, msg!("doctor.group.root"));
    }
    let in_session = a
        .docker_group
        .as_ref()
        .is_some_and(|(gid, _)| a.session_gids.contains(gid));
    let listed = a
        .docker_group
        .as_ref()
        .is_some_and(|(_, members)| members.contains(&a.name));
    let seen = |f: Finding| {
        f.seen(format!(
            "user {} (uid {}), docker group {}",
            a.name,
            a.uid.map_or("?".into(), |u| u.to_string()),
            a.docker_group.as_ref().map_or("absent".into(), |(gid, m)| format!(
                "gid {gid}, members {}",
                m.join(",")
            ))
        ))
    };
    match (in_session, listed, reached) {
        (true, _, _) => Finding::pass(GROUP, msg!("doctor.group.member").arg("user", &a.name)),
        // Rootless Docker, a socket opened to others, a DOCKER_HOST of one's own.
        (false, _, true) => Finding::pass(GROUP, msg!("doctor.group.reached").arg("user", &a.name)),
        (false, true, false) => seen(Finding::fail(
            GROUP,
            msg!("doctor.group.not_in_session").arg("user", &a.name),
            msg!("doctor.fix.group_relogin"),
        )),
        (false, false, false) => seen(Finding::fail(
            GROUP,
            msg!("doctor.group.not_member").arg("user", &a.name),
            msg!("platform.engine.group_hint"),
        )),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 30) as f64)
}

/// Free space where the install dir (and with bind mounts, the database) lives.
pub fn disk(ctx: &Context) -> Finding {
    let at = existing_ancestor(ctx.dir());
    let fix = || msg!("doctor.fix.disk").arg("dir", ctx.dir().display());
    match free_space(ctx.dir()) {
        Ok(free) => judge_disk(free, &at.display().to_string(), fix()),
        Err(e) => Finding::warn(DISK, e.what.clone(), fix()),
    }
}

pub fn judge_disk(free: u64, path: &str, fix: crate::i18n::Msg) -> Finding {
    if free < MIN_FREE_BYTES {
        Finding::fail(
            DISK,
            msg!("engine.preflight.disk_low")
                .arg("path", path)
                .arg("free", gib(free))
                .arg("need", gib(MIN_FREE_BYTES)),
            fix,
        )
    } else if free < DISK_WARN {
        Finding::warn(
            DISK,
            msg!("doctor.disk.tight").arg("free", gib(free)).arg("path", path),
            fix,
        )
    } else {
        Finding::pass(
            DISK,
            msg!("engine.preflight.disk_ok")
                .arg("free", gib(free))
                .arg("path", path),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    fn account(uid: u32, session: &[u32], members: &[&str]) -> Account {
        Account {
            uid: Some(uid),
            name: "ada".into(),
            session_gids: session.to_vec(),
            docker_group: Some((998, members.iter().map(|m| m.to_string()).collect())),
        }
    }

    #[test]
    fn the_docker_group_is_read_from_etc_group() {
        let text = "root:x:0:\ndockerish:x:5:\ndocker:x:998:ada, bob\n";
        assert_eq!(
            docker_group_in(text),
            Some((998, vec!["ada".to_string(), "bob".to_string()]))
        );
        assert_eq!(docker_group_in("root:x:0:\n"), None);
    }

    #[test]
    fn a_member_whose_session_predates_joining_is_told_to_log_in_again() {
        let f = judge_group(&account(1000, &[1000], &["ada"]), false);
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(f.fix.as_ref().map(|m| m.key), Some("doctor.fix.group_relogin"));
        let f = judge_group(&account(1000, &[1000], &[]), false);
        assert_eq!(f.fix.as_ref().map(|m| m.key), Some("platform.engine.group_hint"));
        assert_eq!(
            judge_group(&account(1000, &[1000, 998], &["ada"]), true).verdict,
            Verdict::Pass
        );
        assert_eq!(judge_group(&account(0, &[0], &[]), false).verdict, Verdict::Pass);
        // The engine took the connection without the group (rootless Docker): nothing to fix.
        assert_eq!(judge_group(&account(1000, &[1000], &[]), true).verdict, Verdict::Pass);
    }

    #[test]
    fn the_disk_fails_below_a_gib_and_warns_below_two() {
        let fix = || msg!("doctor.fix.disk").arg("dir", "/d");
        assert_eq!(judge_disk(512 << 20, "/d", fix()).verdict, Verdict::Fail);
        assert_eq!(judge_disk(1536 << 20, "/d", fix()).verdict, Verdict::Warn);
        assert_eq!(judge_disk(10 << 30, "/d", fix()).verdict, Verdict::Pass);
    }
}
