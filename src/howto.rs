//! The checks of steps F and G as commands a person can type to repeat them by hand, in the
//! syntax of their shell: `curl` in bash; `Invoke-RestMethod` or `curl.exe` in PowerShell,
//! where plain `curl` is an alias of `Invoke-WebRequest` in Windows PowerShell 5.1 and fails
//! (errata 17). The master key goes from `.env` into a shell variable, never onto the screen.

use std::path::Path;

use crate::answers::SMOKE_TEST_MODEL;
use crate::health::Endpoints;
use crate::i18n::{Key, Msg};
use crate::platform::Shell;

/// One check: what it shows (and what to expect), and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandCheck {
    pub what: Msg,
    pub command: String,
}

const KEY_VAR: &str = "LITELLM_MASTER_KEY";

/// The commands for the stack at `ep`, installed in `install_dir`, for `shell`.
pub fn hand_checks(ep: &Endpoints, shell: Shell, install_dir: &Path, smoke_test_model: bool) -> Vec<HandCheck> {
    let mut out = Vec::new();
    let Some(base) = ep.client_base() else {
        return out;
    };
    let check = |key: Key, url: &str, command: String| HandCheck {
        what: Msg::new(key).arg("url", url),
        command,
    };
    out.push(check(key!("health.howto.load_key"), "", load_key(shell, install_dir)));
    out.push(check(
        key!("health.howto.readiness"),
        base,
        get_plain(shell, &format!("{base}/health/readiness")),
    ));
    if let (Some(_), Some(proxy)) = (&ep.nginx, &ep.proxy) {
        out.push(check(
            key!("health.howto.readiness_direct"),
            proxy,
            get_plain(shell, &format!("{proxy}/health/readiness")),
        ));
    }
    let models = format!("{base}/v1/models");
    out.push(check(
        key!("health.howto.models"),
        &models,
        get_with_key(shell, &models),
    ));
    out.push(check(
        key!("health.howto.no_key"),
        &models,
        status_code(shell, &models, false),
    ));
    if smoke_test_model {
        let chat = format!("{base}/v1/chat/completions");
        out.push(HandCheck {
            what: msg!("health.howto.chat").arg("model", SMOKE_TEST_MODEL),
            command: post_chat(shell, &chat, false),
        });
        out.push(HandCheck {
            what: msg!("health.howto.stream").arg("model", SMOKE_TEST_MODEL),
            command: post_chat(shell, &chat, true),
        });
    }
    if let Some(prometheus) = &ep.prometheus {
        if let Some(proxy) = &ep.proxy {
            let metrics = format!("{proxy}/metrics/");
            out.push(check(
                key!("health.howto.metrics"),
                &metrics,
                status_code(shell, &metrics, true),
            ));
        }
        out.push(check(
            key!("health.howto.prometheus"),
            prometheus,
            prometheus_target(shell, prometheus),
        ));
    }
    out
}

/// A path as one word of the shell.
pub fn quote_path(shell: Shell, p: &str) -> String {
    match shell {
        Shell::Bash if p.chars().all(|c| c.is_ascii_alphanumeric() || "/._-~".contains(c)) => p.to_string(),
        Shell::Bash => format!("'{}'", p.replace('\'', r"'\''")),
        Shell::PowerShell => format!("'{}'", p.replace('\'', "''")),
    }
}

fn env_file(shell: Shell, install_dir: &Path) -> String {
    let dir = install_dir.to_string_lossy();
    let path = match shell {
        Shell::Bash => format!("{}/.env", dir.trim_end_matches('/')),
        Shell::PowerShell => format!("{}\\.env", dir.trim_end_matches(['\\', '/'])),
    };
    quote_path(shell, &path)
}

fn load_key(shell: Shell, install_dir: &Path) -> String {
    let file = env_file(shell, install_dir);
    match shell {
        Shell::Bash => format!(r#"export {KEY_VAR}="$(sed -n 's/^{KEY_VAR}=//p' {file} | tr -d "'\r")""#),
        Shell::PowerShell => format!(
            "$env:{KEY_VAR} = ((Get-Content {file} | Where-Object {{ $_ -like '{KEY_VAR}=*' }} | Select-Object -First 1) -replace '^{KEY_VAR}=', '').Trim(\"'\")"
        ),
    }
}

fn key_header(shell: Shell) -> String {
    match shell {
        Shell::Bash => format!(r#""Authorization: Bearer ${KEY_VAR}""#),
        Shell::PowerShell => format!(r#""Authorization: Bearer $env:{KEY_VAR}""#),
    }
}

fn get_plain(shell: Shell, url: &str) -> String {
    match shell {
        Shell::Bash => format!("curl -sS {url}"),
        Shell::PowerShell => format!("Invoke-RestMethod {url}"),
    }
}

fn get_with_key(shell: Shell, url: &str) -> String {
    match shell {
        Shell::Bash => format!("curl -sS {url} -H {}", key_header(shell)),
        Shell::PowerShell => {
            format!("Invoke-RestMethod {url} -Headers @{{ Authorization = \"Bearer $env:{KEY_VAR}\" }}")
        }
    }
}

/// Prints only the HTTP status, with or without the key.
fn status_code(shell: Shell, url: &str, with_key: bool) -> String {
    let (curl, null) = match shell {
        Shell::Bash => ("curl", "/dev/null"),
        Shell::PowerShell => ("curl.exe", "NUL"),
    };
    let header = if with_key {
        format!(" -H {}", key_header(shell))
    } else {
        String::new()
    };
    format!("{curl} -sS -o {null} -w '%{{http_code}}\\n'{header} {url}")
}

fn post_chat(shell: Shell, url: &str, stream: bool) -> String {
    let stream_field = if stream { r#","stream":true"# } else { "" };
    let body =
        format!(r#"{{"model":"{SMOKE_TEST_MODEL}","messages":[{{"role":"user","content":"ping"}}]{stream_field}}}"#);
    match (shell, stream) {
        (Shell::Bash, _) => {
            let n = if stream { "N" } else { "" };
            format!(
                "curl -sS{n} {url} -H {} -H 'Content-Type: application/json' -d '{body}'",
                key_header(shell)
            )
        }
        (Shell::PowerShell, false) => format!(
            "Invoke-RestMethod -Method Post -Uri {url} -Headers @{{ Authorization = \"Bearer $env:{KEY_VAR}\" }} -ContentType 'application/json' -Body '{body}'"
        ),
        // Invoke-RestMethod waits for the whole answer, so streaming needs curl.exe. The body
        // goes through stdin: Windows PowerShell 5.1 strips the double quotes of JSON passed
        // as an argument to a native program.
        (Shell::PowerShell, true) => format!(
            "'{body}' | curl.exe -sSN {url} -H {} -H 'Content-Type: application/json' --data-binary '@-'",
            key_header(shell)
        ),
    }
}

fn prometheus_target(shell: Shell, prometheus: &str) -> String {
    match shell {
        Shell::Bash => {
            format!("curl -sS '{prometheus}/api/v1/targets?scrapePool=litellm' | grep -o '\"health\":\"[a-z]*\"'")
        }
        Shell::PowerShell => format!(
            "(Invoke-RestMethod '{prometheus}/api/v1/targets?state=active').data.activeTargets | Where-Object scrapePool -eq 'litellm' | Select-Object scrapeUrl, health, lastError"
        ),
    }
}

/// The program as the user can type it again: `litellm-stack` when that name on the `PATH`
/// is this very program, else the full path it was started from (a copy in the current
/// folder, a build tree), so a printed command runs where it is printed.
pub fn program_name() -> String {
    let name = env!("CARGO_PKG_NAME");
    let Ok(exe) = std::env::current_exe() else {
        return name.to_string();
    };
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let same = |p: &Path| match (p.canonicalize(), exe.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| same(&d.join(&file))))
        .unwrap_or(false);
    if on_path {
        name.to_string()
    } else {
        exe.display().to_string()
    }
}

/// A follow-up command to print: `program command`, with `--dir` when the install is not in
/// the default folder (a command without it would look at the default one), each word quoted
/// for `shell` where it needs it.
pub fn follow_up(program: &str, command: &str, dir: &Path, default_dir: &Path, shell: Shell) -> String {
    let plain = program.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    let program = match shell {
        Shell::PowerShell if plain => program.to_string(),
        // PowerShell runs a quoted path only after `&`.
        Shell::PowerShell => format!("& {}", quote_path(shell, program)),
        Shell::Bash => quote_path(shell, program),
    };
    let mut out = format!("{program} {command}");
    if dir != default_dir {
        out.push_str(" --dir ");
        out.push_str(&quote_path(shell, &dir.to_string_lossy()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Answers;
    use crate::platform::Os;

    fn commands(shell: Shell, os: Os) -> Vec<String> {
        let a = Answers::defaults_for(os);
        hand_checks(&Endpoints::from_answers(&a), shell, &a.dir, true)
            .into_iter()
            .map(|c| c.command)
            .collect()
    }

    #[test]
    fn powershell_never_calls_the_curl_alias() {
        let cmds = commands(Shell::PowerShell, Os::Windows);
        assert!(cmds.len() >= 8, "{cmds:#?}");
        for c in &cmds {
            let words: Vec<&str> = c.split_whitespace().collect();
            assert!(!words.contains(&"curl"), "bare curl in PowerShell: {c}");
            assert!(!c.contains("$LITELLM_MASTER_KEY"), "bash variable in PowerShell: {c}");
        }
        assert!(cmds[0].contains(r"'C:\work\TW\litellm\.env'"), "{}", cmds[0]);
        assert!(cmds.iter().any(|c| c.contains("$env:LITELLM_MASTER_KEY")));
        assert!(
            cmds.iter()
                .any(|c| c.starts_with("Invoke-RestMethod http://127.0.0.1:80/health/readiness"))
        );
        assert!(
            cmds.iter()
                .any(|c| c.contains("curl.exe -sSN") && c.contains("--data-binary '@-'"))
        );
    }

    #[test]
    fn bash_uses_curl_and_shell_variables() {
        let cmds = commands(Shell::Bash, Os::Linux);
        assert!(cmds[0].starts_with("export LITELLM_MASTER_KEY="), "{}", cmds[0]);
        assert!(
            cmds.iter()
                .any(|c| c == "curl -sS http://127.0.0.1:80/health/readiness")
        );
        assert!(
            cmds.iter()
                .any(|c| c == "curl -sS http://127.0.0.1:4000/health/readiness")
        );
        assert!(
            cmds.iter()
                .any(|c| c.contains("-H \"Authorization: Bearer $LITELLM_MASTER_KEY\""))
        );
        assert!(!cmds.iter().any(|c| c.contains("$env:") || c.contains("curl.exe")));
    }

    #[test]
    fn no_check_needs_a_port_that_is_not_published() {
        let mut a = Answers::defaults_for(Os::Linux);
        a.services.prometheus = false;
        a.ports.litellm = None;
        let cmds: Vec<String> = hand_checks(&Endpoints::from_answers(&a), Shell::Bash, &a.dir, false)
            .into_iter()
            .map(|c| c.command)
            .collect();
        assert!(
            !cmds
                .iter()
                .any(|c| c.contains(":4000") || c.contains(":9090") || c.contains("smoke-test"))
        );
    }

    #[test]
    fn a_follow_up_names_the_dir_unless_it_is_the_default_and_quotes_it() {
        let default = Path::new("/home/ada/litellm");
        assert_eq!(
            follow_up("litellm-stack", "status", default, default, Shell::Bash),
            "litellm-stack status"
        );
        assert_eq!(
            follow_up(
                "litellm-stack",
                "status",
                Path::new("/srv/team gateway"),
                default,
                Shell::Bash
            ),
            "litellm-stack status --dir '/srv/team gateway'"
        );
        assert_eq!(
            follow_up(
                r"C:\tools\litellm-stack.exe",
                "logs",
                Path::new(r"D:\gw"),
                Path::new(r"C:\work\TW\litellm"),
                Shell::PowerShell
            ),
            r"& 'C:\tools\litellm-stack.exe' logs --dir 'D:\gw'"
        );
    }

    #[test]
    fn the_program_is_named_as_it_can_be_typed_again() {
        // A test binary is not on the PATH as litellm-stack: its full path, which runs.
        let name = program_name();
        assert!(Path::new(&name).is_absolute(), "{name}");
    }
}
