//! The install dir's files: `.env` readable by its owner only, no CRLF in the files the
//! containers read (errata 22), no drift from what the answers render (a hand edit that the
//! next install would overwrite, or one the containers never read), the images the containers
//! run against `images.lock.yaml`, and a master key LiteLLM accepts.

use super::{Containers, Context, Finding};
use crate::answers::SAVED_ANSWERS;
use crate::engine::pull::{IMAGES_LOCK, ImagesLock};
use crate::platform::{Shell, join_rel};
use crate::workspace::Workspace;

pub const ENV_MODE: &str = "env.mode";
pub const CRLF: &str = "files.crlf";
pub const DRIFT: &str = "files.drift";
pub const IMAGES: &str = "images.lock";
pub const MASTER_KEY: &str = "env.master_key";

/// Diff lines shown per drifted file.
const DIFF_LINES: usize = 16;

pub fn checks(ctx: &Context, containers: Option<&Containers>) -> Vec<Finding> {
    vec![
        env_mode(ctx),
        crlf(ctx),
        drift(ctx),
        images(ctx, containers),
        master_key(ctx),
    ]
}

fn env_path(ctx: &Context) -> String {
    join_rel(ctx.dir(), ".env").display().to_string()
}

/// `.env` holds every secret of the stack: mode 0600 on Unix.
pub fn env_mode(ctx: &Context) -> Finding {
    let path = join_rel(ctx.dir(), ".env");
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(_) => {
            return Finding::fail(
                ENV_MODE,
                msg!("doctor.env.missing").arg("env", &shown),
                msg!("doctor.fix.install").arg("cmd", ctx.follow_up("install")),
            );
        }
    };
    judge_mode(&shown, mode_of(&meta))
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata) -> Option<u32> {
    None
}

/// `None`: no Unix mode (Windows, where the install sets an owner-only ACL instead).
pub fn judge_mode(path: &str, mode: Option<u32>) -> Finding {
    match mode {
        None => Finding::skip(ENV_MODE, msg!("doctor.env.mode_windows")),
        Some(m) if m & 0o077 == 0 => Finding::pass(ENV_MODE, msg!("doctor.env.mode_ok").arg("env", path)),
        Some(m) => Finding::fail(
            ENV_MODE,
            msg!("doctor.env.mode_open")
                .arg("env", path)
                .arg("mode", format!("{m:04o}")),
            msg!("doctor.fix.env_mode").arg(
                "cmd",
                format!("chmod 600 {}", crate::howto::quote_path(Shell::Bash, path)),
            ),
        )
        .seen(format!("{path}: mode {m:04o}")),
    }
}

/// The files the containers read, and the service that reads each (to restart it after).
fn read_by_containers(ctx: &Context) -> Vec<(&'static str, Option<&'static str>)> {
    let mut files = vec![(".env", None), ("config.yaml", Some("litellm"))];
    if ctx.answers.services.nginx {
        files.push(("nginx/nginx.conf", Some("nginx")));
    }
    if ctx.answers.services.prometheus {
        files.push(("prometheus/prometheus.yml", Some("prometheus")));
    }
    files
}

/// The command that turns CRLF into LF in `path`, in the user's shell.
pub fn to_lf_command(shell: Shell, path: &str) -> String {
    let q = crate::howto::quote_path(shell, path);
    match shell {
        Shell::Bash => format!("sed -i 's/\\r$//' {q}"),
        Shell::PowerShell => {
            format!("[IO.File]::WriteAllText({q}, ([IO.File]::ReadAllText({q}) -replace \"`r`n\", \"`n\"))")
        }
    }
}

/// A Windows editor's CRLF breaks values inside Linux containers (errata 22).
pub fn crlf(ctx: &Context) -> Finding {
    let mut found = Vec::new();
    for (rel, service) in read_by_containers(ctx) {
        let path = join_rel(ctx.dir(), rel);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let crlf_lines = text.matches("\r\n").count();
        if crlf_lines > 0 {
            found.push((
                rel,
                service,
                path.display().to_string(),
                crlf_lines,
                text.lines().count(),
            ));
        }
    }
    if found.is_empty() {
        return Finding::pass(CRLF, msg!("doctor.crlf.ok"));
    }
    let shell = ctx.shell();
    let mut commands = Vec::new();
    for (_, service, path, _, _) in &found {
        commands.push(to_lf_command(shell, path));
        match service {
            Some(s) => commands.push(format!(
                "docker restart {}",
                crate::engine::spec::container_name(&ctx.stack.project, s)
            )),
            None => commands.push(ctx.follow_up("install")),
        }
    }
    commands.dedup();
    let names: Vec<&str> = found.iter().map(|(rel, ..)| *rel).collect();
    let mut f = Finding::fail(
        CRLF,
        msg!("doctor.crlf.found").arg("files", names.join(", ")),
        msg!("doctor.fix.crlf").arg("commands", commands.join("\n    ")),
    );
    for (rel, _, _, n, total) in &found {
        f = f.seen(format!("{rel}: {n} of {total} lines end with CRLF"));
    }
    f
}

/// Files that differ from what the answers render, line endings aside (CRLF is its own check).
/// `.env` is the user's (values kept, keys added by hand) and `answers.yaml` the source: both
/// left out.
pub fn drift(ctx: &Context) -> Finding {
    let ws = match Workspace::prepare_with_env(ctx.answers.clone(), ctx.os, ctx.env.clone(), &|_| None) {
        Ok(ws) => ws,
        Err(e) => {
            return Finding::fail(
                DRIFT,
                e.what.clone(),
                e.hint.unwrap_or_else(|| msg!("doctor.fix.engine_error")),
            );
        }
    };
    let mut drifted = Vec::new();
    let mut evidence = Vec::new();
    for file in ws.files.iter().filter(|f| f.path != ".env" && f.path != SAVED_ANSWERS) {
        let path = join_rel(ctx.dir(), &file.path);
        let actual = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).replace("\r\n", "\n"),
            Err(_) => {
                drifted.push(file.path.clone());
                evidence.push(format!("{}: missing", file.path));
                continue;
            }
        };
        if actual == file.contents {
            continue;
        }
        drifted.push(file.path.clone());
        // From the generated file to the one on disk: the hand edit reads as `+` lines.
        let diff = if file.private {
            String::new()
        } else {
            similar::TextDiff::from_lines(&ctx.mask(&file.contents), &ctx.mask(&actual))
                .unified_diff()
                .context_radius(1)
                .header(&format!("generated/{}", file.path), &file.path)
                .to_string()
        };
        evidence.push(format!("{}: differs from what the answers render", file.path));
        let lines: Vec<&str> = diff.lines().collect();
        evidence.extend(lines.iter().take(DIFF_LINES).map(|l| format!("  {l}")));
        if lines.len() > DIFF_LINES {
            evidence.push(format!("  … {} more diff lines", lines.len() - DIFF_LINES));
        }
    }
    if drifted.is_empty() {
        return Finding::pass(DRIFT, msg!("doctor.drift.ok"));
    }
    let mut f = Finding::fail(
        DRIFT,
        msg!("doctor.drift.found").arg("files", drifted.join(", ")),
        msg!("doctor.fix.drift")
            .arg("plan", ctx.follow_up("plan"))
            .arg("install", ctx.follow_up("install")),
    );
    f.evidence = evidence;
    f
}

/// The images the containers run are the ones `install` recorded, and the answers still ask
/// for those.
pub fn images(ctx: &Context, containers: Option<&Containers>) -> Finding {
    let Some(containers) = containers else {
        return Finding::skip(IMAGES, msg!("doctor.skip.no_engine"));
    };
    let Some(lock) = ImagesLock::read(&join_rel(ctx.dir(), IMAGES_LOCK)) else {
        return Finding::warn(
            IMAGES,
            msg!("doctor.images.no_lock").arg("file", IMAGES_LOCK),
            msg!("doctor.fix.install").arg("cmd", ctx.follow_up("install")),
        );
    };
    let mut evidence = Vec::new();
    for s in &ctx.stack.services {
        let Some(locked) = lock.images.get(s.name) else {
            evidence.push(format!("{}: not in {IMAGES_LOCK}", s.name));
            continue;
        };
        if locked.reference != s.image {
            evidence.push(format!(
                "{}: the answers ask for {}, {IMAGES_LOCK} has {}",
                s.name, s.image, locked.reference
            ));
        }
        if let Some(c) = containers.get(s.name) {
            if !c.image_id.is_empty() && c.image_id != locked.id {
                evidence.push(format!(
                    "{}: {} runs image {}, {IMAGES_LOCK} records {}",
                    s.name, c.name, c.image_id, locked.id
                ));
            }
        }
    }
    if evidence.is_empty() {
        return Finding::pass(IMAGES, msg!("doctor.images.ok").arg("file", IMAGES_LOCK));
    }
    let mut f = Finding::fail(
        IMAGES,
        msg!("doctor.images.differ").arg("file", IMAGES_LOCK),
        msg!("doctor.fix.install").arg("cmd", ctx.follow_up("install")),
    );
    f.evidence = evidence;
    f
}

/// Keys that the SOP printed or the docs use as examples: public, and refused by recent proxies.
const KNOWN_KEYS: [&str; 3] = ["sk-admin-secret-key-CHANGE-THIS", "sk-1234", "sk-12345"];
/// The installer generates `sk-` and 48 characters; fewer than this many after `sk-` is weak.
const MIN_KEY_CHARS: usize = 32;

pub fn judge_master_key(env: &str, key: &str) -> Finding {
    let fix = || msg!("doctor.fix.master_key").arg("env", env).arg("min", MIN_KEY_CHARS);
    if key.is_empty() {
        Finding::fail(MASTER_KEY, msg!("doctor.key.missing").arg("env", env), fix())
    } else if !key.starts_with("sk-") {
        Finding::fail(MASTER_KEY, msg!("doctor.key.prefix"), fix())
    } else if KNOWN_KEYS.contains(&key) {
        Finding::fail(MASTER_KEY, msg!("doctor.key.known"), fix())
    } else if key.len() - 3 < MIN_KEY_CHARS {
        Finding::warn(
            MASTER_KEY,
            msg!("doctor.key.short")
                .arg("chars", key.len() - 3)
                .arg("min", MIN_KEY_CHARS),
            fix(),
        )
    } else {
        Finding::pass(MASTER_KEY, msg!("doctor.key.ok"))
    }
}

fn master_key(ctx: &Context) -> Finding {
    judge_master_key(&env_path(ctx), &ctx.env_value("LITELLM_MASTER_KEY"))
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;
    use crate::platform::Os;

    #[test]
    fn a_dotenv_readable_by_others_fails_with_chmod() {
        let f = judge_mode("/home/ada/litellm/.env", Some(0o644));
        assert_eq!(f.verdict, Verdict::Fail);
        let fix = f.fix.expect("a fix").text(crate::i18n::Lang::En);
        assert!(fix.contains("chmod 600 /home/ada/litellm/.env"), "{fix}");
        assert_eq!(judge_mode("/x/.env", Some(0o600)).verdict, Verdict::Pass);
        assert_eq!(judge_mode("/x/.env", None).verdict, Verdict::Skip);
    }

    #[test]
    fn crlf_is_fixed_with_the_shells_own_command() {
        assert_eq!(
            to_lf_command(Shell::Bash, "/home/ada/litellm/nginx/nginx.conf"),
            "sed -i 's/\\r$//' /home/ada/litellm/nginx/nginx.conf"
        );
        let ps = to_lf_command(Os::Windows.shell(), r"C:\work\TW\litellm\nginx\nginx.conf");
        assert!(
            ps.starts_with("[IO.File]::WriteAllText('C:\\work\\TW\\litellm\\nginx\\nginx.conf'"),
            "{ps}"
        );
        assert!(!ps.contains("sed"), "{ps}");
    }

    #[test]
    fn on_windows_the_crlf_fix_is_powershell_and_names_the_container_to_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("nginx")).expect("mkdir");
        std::fs::write(dir.path().join("nginx/nginx.conf"), "events {}\r\nhttp {}\r\n").expect("write");
        std::fs::write(dir.path().join("config.yaml"), "model_list: []\n").expect("write");
        let mut answers = crate::answers::Answers::defaults_for(Os::Windows);
        answers.dir = dir.path().to_path_buf();
        let ctx = Context {
            stack: crate::stack::Stack::from_answers(&answers, Os::Windows),
            endpoints: crate::health::Endpoints::from_answers(&answers),
            env: crate::secrets::ExistingEnv::default(),
            secrets: Vec::new(),
            program: "litellm-stack".into(),
            answers,
            os: Os::Windows,
        };
        let f = crlf(&ctx);
        assert_eq!(f.verdict, Verdict::Fail);
        assert_eq!(
            f.evidence,
            vec!["nginx/nginx.conf: 2 of 2 lines end with CRLF".to_string()]
        );
        for lang in crate::i18n::Lang::ALL {
            let fix = f.fix.clone().expect("a fix").text(lang);
            assert!(
                fix.contains("[IO.File]::WriteAllText(") && !fix.contains("sed "),
                "{fix}"
            );
            assert!(
                fix.contains(&format!("docker restart {}-nginx-1", ctx.stack.project)),
                "{fix}"
            );
        }
    }

    #[test]
    fn master_keys_the_proxy_refuses_fail() {
        assert_eq!(judge_master_key(".env", "").verdict, Verdict::Fail);
        assert_eq!(judge_master_key(".env", "sk-1234").verdict, Verdict::Fail);
        assert_eq!(
            judge_master_key(".env", "abcdefghijklmnopqrstuvwxyz0123456789").verdict,
            Verdict::Fail
        );
        assert_eq!(judge_master_key(".env", "sk-shortbutnotknown").verdict, Verdict::Warn);
        let generated = crate::secrets::generate_api_key();
        assert_eq!(judge_master_key(".env", generated.expose()).verdict, Verdict::Pass);
    }
}
