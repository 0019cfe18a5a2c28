//! The real `litellm-stack` binary driven in tmux (`send-keys`, `capture-pane`) at 80×24,
//! each test on its own tmux socket: from launch through the review to a confirmed install on
//! the real Docker engine with the test images `ci/setup.sh` pushed to the local registry; the
//! screen text asserted at each step; then the same answers run unattended leave every file
//! byte for byte as the wizard wrote it. A second test walks the screens in 繁體中文, resizes
//! the terminal, quits with `q` and checks that the shell got its screen and cooked mode back.
//!
//! What the install test cannot prove is the same as `engine_e2e.rs`: the LiteLLM test image
//! runs without its database (Prisma's engines cannot be downloaded here).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{bin, ci_env, free_port, http_status};

const BIN: &str = env!("CARGO_BIN_EXE_litellm-stack");
const PROMPT: &str = "tui-test$";
/// A step of the wizard answers in well under a second; the margin is for a loaded machine.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(20);
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// A tmux server of its own (`-L`), one 80×24 window running a plain bash.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, env: &[(&str, String)]) -> Tmux {
        let t = Tmux {
            socket: format!("lst-{name}-{}", std::process::id()),
        };
        let mut args: Vec<String> = ["-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (k, v) in env {
            args.push("-e".into());
            args.push(format!("{k}={v}"));
        }
        args.push("bash --norc --noprofile".into());
        let out = t.tmux(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "tmux could not start ({}): is tmux installed? (`apt-get install tmux`)",
            String::from_utf8_lossy(&out.stderr)
        );
        t.line(&format!("PS1='{PROMPT} '; clear"));
        t.wait_for("the shell prompt", |s| s.trim_end().ends_with(PROMPT));
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("tmux could not run ({e}): is tmux installed? (`apt-get install tmux`)"))
    }

    /// Key names as tmux knows them: `Enter`, `Tab`, `BTab`, `Escape`, `q`…
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success(), "send-keys {keys:?}");
    }

    /// Text typed as it is.
    fn text(&self, text: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", "0", "-l", text]).status.success(),
            "send-keys -l"
        );
    }

    fn line(&self, text: &str) {
        self.text(text);
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "0"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen and what scrolled off it.
    fn history(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "0", "-S", "-500"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn resize(&self, w: u16, h: u16) {
        let (w, h) = (w.to_string(), h.to_string());
        assert!(
            self.tmux(&["resize-window", "-t", "0", "-x", &w, "-y", &h])
                .status
                .success()
        );
    }

    /// Polls the screen until `done` holds; panics with the screen after `timeout`.
    fn wait_until(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        // tmux can be read while the program is halfway through drawing a frame: a screen
        // counts once two reads 40 ms apart agree (or, on a screen that never stops moving,
        // once the condition has held for 2 s).
        let mut held_since: Option<Instant> = None;
        loop {
            let s = self.screen();
            if done(&s) {
                let since = *held_since.get_or_insert_with(Instant::now);
                std::thread::sleep(Duration::from_millis(40));
                let again = self.screen();
                if (again == s || since.elapsed() > Duration::from_secs(2)) && done(&again) {
                    return again;
                }
                continue;
            }
            held_since = None;
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.wait_until(what, SCREEN_TIMEOUT, done)
    }

    fn wait_text(&self, needle: &str) -> String {
        self.wait_for(needle, |s| s.contains(needle))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// An install dir with its answers file; the stack is removed (data too) when dropped.
struct Stack {
    root: tempfile::TempDir,
    /// The install dir, relative to `root`.
    dir_name: &'static str,
    project: String,
    nginx: u16,
    litellm: u16,
    prometheus: u16,
}

impl Stack {
    fn new(tag: &str, images: bool) -> Stack {
        Stack::in_dir(tag, images, "stack")
    }

    fn in_dir(tag: &str, images: bool, dir_name: &'static str) -> Stack {
        let s = Stack {
            root: tempfile::tempdir().expect("tempdir"),
            dir_name,
            project: format!("lsttui-{tag}-{}", std::process::id()),
            nginx: free_port(),
            litellm: free_port(),
            prometheus: free_port(),
        };
        let images = if images {
            let list: String = ["litellm", "postgres", "redis", "nginx", "prometheus"]
                .iter()
                .map(|svc| format!("  {svc}: {}\n", ci_env(&format!("LST_IMAGE_{}", svc.to_uppercase()))))
                .collect();
            format!("images:\n{list}")
        } else {
            String::new()
        };
        let yaml = format!(
            "dir: {}\nproject: {}\nports:\n  nginx: {}\n  litellm: {}\n  prometheus: {}\n{images}",
            s.dir().display(),
            s.project,
            s.nginx,
            s.litellm,
            s.prometheus
        );
        std::fs::write(s.answers(), yaml).expect("write answers");
        s
    }

    fn dir(&self) -> PathBuf {
        self.root.path().join(self.dir_name)
    }

    fn answers(&self) -> PathBuf {
        self.root.path().join("answers.yaml")
    }

    fn env_value(&self, key: &str) -> String {
        let env = std::fs::read_to_string(self.dir().join(".env")).expect("read .env");
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} in .env"))
            .trim_matches('\'')
            .to_string()
    }

    /// The files `render` produces, with `images.lock.yaml`: path → bytes.
    fn rendered_files(&self) -> BTreeMap<String, Vec<u8>> {
        [
            ".env",
            "config.yaml",
            "docker-compose.yml",
            "nginx/nginx.conf",
            "prometheus/prometheus.yml",
            "prometheus/secrets/litellm_metrics_key",
            "answers.yaml",
            "images.lock.yaml",
        ]
        .iter()
        .map(|p| {
            let bytes = std::fs::read(self.dir().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
            (p.to_string(), bytes)
        })
        .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.dir().exists() {
            let _ = Command::new(BIN)
                .args(["uninstall", "--purge", "--yes", "--dir"])
                .arg(self.dir())
                .output();
        }
    }
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn the_wizard_installs_on_the_real_engine_and_unattended_agrees_byte_for_byte() {
    let stack = Stack::new("install", true);
    let t = Tmux::start(
        "install",
        &[
            ("LANG", "en_US.UTF-8".into()),
            ("LC_ALL", String::new()),
            ("HOME", stack.root.path().display().to_string()),
        ],
    );
    let typed_key = "sk-tmux-typed-key-4242";
    let launched = Instant::now();
    t.line(&format!("{BIN} install --answers {}", shell_quote(&stack.answers())));

    // 1. Language: English from the locale.
    let s = t.wait_text("Choose your language");
    assert!(s.contains("▶ English"), "{s}");
    eprintln!("first frame after {:?}", launched.elapsed());
    t.keys(&["Enter"]);
    // 2. Welcome: the SOP's drawing, with this install's nginx port.
    let s = t.wait_text("2/7 · Welcome");
    assert!(s.contains(&format!("Client ─► Nginx :{}", stack.nginx)), "{s}");
    assert!(s.contains("Nothing is written until you confirm"), "{s}");
    t.keys(&["Enter"]);
    // 3. Preflight against the real engine: the engine, disk and the three ports pass.
    let s = t.wait_for("the preflight checks", |s| {
        s.contains("3/7 · Checks") && s.contains(&format!("Port {}", stack.prometheus))
    });
    assert!(s.contains("✓ Docker engine     Docker "), "{s}");
    assert!(s.contains("✓ Disk"), "{s}");
    for port in [stack.nginx, stack.litellm, stack.prometheus] {
        assert!(s.contains(&format!("✓ Port {port}")), "port {port}: {s}");
    }
    t.keys(&["Enter"]);
    // 4. The install dir, from the answers file; new.
    let s = t.wait_text("4/7 · Install folder");
    assert!(s.contains(&stack.dir().display().to_string()), "{s}");
    assert!(s.contains("A new install"), "{s}");
    t.keys(&["Enter"]);
    // 5. Models: a key pasted for OpenAI shows masked.
    t.wait_text("5/7 · Models and keys");
    t.keys(&["Tab", "Tab"]);
    t.text(typed_key);
    let s = t.wait_text("saved as OPENAI_API_KEY in .env only");
    assert!(s.contains(&"•".repeat(typed_key.len())), "{s}");
    assert!(!s.contains(typed_key), "the key shows on screen: {s}");
    // Azure OpenAI too, without a key: a deployment, its base URL, the default API version.
    // The install's API test then proves the real proxy accepted it (it lists the models).
    t.keys(&["BTab", "BTab", "Down", "Down", "Space", "Tab"]);
    t.wait_text("Deployments:");
    t.text("team-gpt4o");
    t.keys(&["Tab", "Tab"]);
    t.text("https://team.openai.azure.com");
    let s = t.wait_text("https://team.openai.azure.com");
    assert!(s.contains("API version:  [2024-10-21"), "{s}");
    t.keys(&["Enter"]);
    // 6. Ports, as the answers file has them.
    let s = t.wait_text("6/7 · Ports and services");
    assert!(s.contains(&format!("[{:<6}]", stack.nginx)), "{s}");
    t.keys(&["Enter"]);
    // 7. Review: every file to create, .env viewable with its secrets masked, nothing written.
    let s = t.wait_text("7/7 · Review");
    assert!(s.contains("AZURE_API_KEY is empty"), "{s}");
    for f in [
        ".env",
        "config.yaml",
        "docker-compose.yml",
        "nginx/nginx.conf",
        "answers.yaml",
    ] {
        assert!(s.contains(&format!("create     {f}")), "{f}: {s}");
    }
    assert!(s.contains("(bind mounts)"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_text("LITELLM_MASTER_KEY=********");
    assert!(s.contains("OPENAI_API_KEY=********"), "{s}");
    assert!(!stack.dir().exists(), "a file was written before Install");
    t.keys(&["Escape"]);
    t.wait_text("[ Install ]");
    t.keys(&["Tab", "Enter"]);
    // 8. Progress; quitting asks first, and "n" goes on.
    t.wait_text("Installing");
    t.keys(&["q"]);
    t.wait_text("The install is still running");
    t.keys(&["n"]);
    t.wait_for("the dialog to close", |s| !s.contains("The install is still running"));
    // 9. Done, on the real engine.
    let s = t.wait_until("the end of the install", INSTALL_TIMEOUT, |s| {
        s.contains("Your LiteLLM gateway is running") || s.contains("Install failed")
    });
    assert!(s.contains("Your LiteLLM gateway is running"), "{s}");
    assert!(
        s.contains(&format!("Gateway:     http://127.0.0.1:{}", stack.nginx)),
        "{s}"
    );
    assert!(s.contains("(r shows it)"), "{s}");
    assert!(s.contains("# Readiness through"), "{s}");
    let master = stack.env_value("LITELLM_MASTER_KEY");
    assert!(!s.contains(&master), "the master key shows before r: {s}");
    t.keys(&["r"]);
    t.wait_text(&master);
    t.keys(&["r"]);
    t.wait_for("the key hidden again", |s| !s.contains(&master));
    t.keys(&["q"]);
    t.wait_for("the shell prompt", |s| s.trim_end().ends_with(PROMPT));
    // After the screen is restored, the gateway and every check are printed, to copy.
    let s = t.history();
    assert!(
        s.contains(&format!("The gateway is at http://127.0.0.1:{}", stack.nginx)),
        "{s}"
    );
    assert!(s.contains("# Without the key: expect 401"), "{s}");
    t.line("echo rc=$?");
    t.wait_text("rc=0");

    // What the wizard did is real: the gateway answers through nginx, the typed key is in .env,
    // the log file holds neither key.
    assert_eq!(http_status(stack.nginx, "/health/readiness"), Some(200));
    assert_eq!(stack.env_value("OPENAI_API_KEY"), typed_key);
    let logs: Vec<PathBuf> = std::fs::read_dir(stack.dir().join("logs"))
        .expect("logs/")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(&logs[0]).expect("read the log");
    assert!(log.contains("confirmed in the wizard"), "{log}");
    assert!(
        !log.contains(&master) && !log.contains(typed_key),
        "a secret is in the log"
    );

    // Unattended, with the answers the wizard saved: nothing to change, every file identical.
    let before = stack.rendered_files();
    let out = bin()
        .args(["install", "--yes", "--answers"])
        .arg(stack.dir().join("answers.yaml"))
        .env_remove("OPENAI_API_KEY")
        .timeout(INSTALL_TIMEOUT)
        .output()
        .expect("run install --yes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "unattended install failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Everything is up to date: nothing was changed."),
        "{stdout}"
    );
    let after = stack.rendered_files();
    for (path, bytes) in &before {
        assert!(
            after.get(path) == Some(bytes),
            "{path} differs between the wizard and unattended"
        );
    }

    // The wizard again on the installed dir: the earlier install is found, its choices and
    // keys kept, every file unchanged, the stack up to date.
    t.line("clear");
    t.line(&format!("{BIN} install --dir {}", shell_quote(&stack.dir())));
    t.wait_text("Choose your language");
    t.keys(&["Enter"]);
    t.wait_text("2/7 · Welcome");
    t.keys(&["Enter"]);
    let s = t.wait_for("the preflight checks", |s| {
        s.contains("3/7 · Checks") && s.contains(&format!("Port {}", stack.prometheus))
    });
    for port in [stack.nginx, stack.litellm, stack.prometheus] {
        assert!(
            s.contains(&format!("✓ Port {port}")) && s.contains("held by this stack"),
            "port {port}: {s}"
        );
    }
    t.keys(&["Enter"]);
    let s = t.wait_text("4/7 · Install folder");
    assert!(s.contains("An install is already here"), "{s}");
    // "Back up now" on the real stack: the archive is written, 0600, and named on screen.
    t.keys(&["Tab", "Tab"]);
    t.wait_text("▶[ Back up now ]");
    t.keys(&["Enter"]);
    let s = t.wait_until("the wizard's backup", INSTALL_TIMEOUT, |s| {
        s.contains("Backup saved") || s.contains("The backup failed")
    });
    assert!(s.contains("Backup saved"), "{s}");
    let archives: Vec<PathBuf> = std::fs::read_dir(stack.dir().join("backups"))
        .expect("backups/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("litellm-backup-"))
        })
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    let name = archives[0].file_name().expect("name").to_string_lossy().into_owned();
    let words = s.split_whitespace().collect::<Vec<_>>().join("");
    assert!(words.contains(&name), "the archive {name} is named on screen: {s}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archives[0]).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the archive holds the secrets");
    }
    t.keys(&["BTab"]);
    t.wait_text("▶[ Update this install ]");
    t.keys(&["Enter"]);
    let s = t.wait_text("5/7 · Models and keys");
    assert!(s.contains("team-gpt4o"), "the saved answers are loaded: {s}");
    assert!(s.contains("kept from your .env (OPENAI_API_KEY)"), "{s}");
    t.keys(&["Enter"]);
    t.wait_text("6/7 · Ports and services");
    t.keys(&["Enter"]);
    let s = t.wait_text("7/7 · Review");
    for f in [".env", "config.yaml", "docker-compose.yml", "answers.yaml"] {
        assert!(s.contains(&format!("unchanged  {f}")), "{f}: {s}");
    }
    t.keys(&["Tab", "Enter"]);
    let s = t.wait_until("the end of the re-run", INSTALL_TIMEOUT, |s| {
        s.contains("already up to date") || s.contains("Install failed")
    });
    assert!(s.contains("already up to date"), "{s}");
    t.keys(&["q"]);
    t.wait_for("the shell prompt", |s| s.trim_end().ends_with(PROMPT));
    assert_eq!(stack.rendered_files(), before, "the re-run changed a file");
}

#[test]
fn chinese_screens_line_up_survive_a_resize_and_q_gives_the_shell_back() {
    // `litellm-stack` alone, in a home whose SOP folder (~/litellm) holds an earlier install's
    // answers (free ports, so the checks pass whatever else runs on this machine).
    let stack = Stack::in_dir("quit", false, "litellm");
    std::fs::create_dir_all(stack.dir()).expect("mkdir ~/litellm");
    std::fs::rename(stack.answers(), stack.dir().join("answers.yaml")).expect("place the saved answers");
    let t = Tmux::start(
        "quit",
        &[
            ("LANG", "zh_TW.UTF-8".into()),
            ("LC_ALL", String::new()),
            ("HOME", stack.root.path().display().to_string()),
        ],
    );
    t.line("echo BEFORE-THE-WIZARD");
    t.wait_text("BEFORE-THE-WIZARD");
    t.line(BIN);
    let s = t.wait_text("請選擇語言");
    assert!(s.contains("▶ 繁體中文"), "the locale picks Traditional Chinese: {s}");
    assert!(
        !s.contains("BEFORE-THE-WIZARD"),
        "the wizard draws on the alternate screen: {s}"
    );
    t.keys(&["Enter"]);
    t.wait_text("2/7 · 歡迎");
    t.keys(&["Enter"]);
    let s = t.wait_for("the preflight checks", |s| {
        s.contains("3/7 · 環境檢查") && s.contains(&format!("連接埠 {}", stack.prometheus))
    });
    assert!(s.contains("✓ Docker 引擎"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_text("4/7 · 安裝資料夾");
    assert!(s.contains("~/litellm"), "{s}");
    // The earlier install is announced: it will be updated, keys kept.
    assert!(s.contains("這裡已經有一套安裝"), "{s}");
    t.keys(&["Enter"]);
    t.wait_text("5/7 · 模型與金鑰");
    t.keys(&["Enter"]);
    let s = t.wait_text("6/7 · 連接埠與服務");
    // In the real terminal the wide characters take two columns each: the three port boxes
    // start at the same column.
    let cols: Vec<usize> = s
        .lines()
        .filter(|l| l.contains("連接埠：") && l.contains('['))
        .map(|l| {
            let before = &l[..l.find('[').expect("bracket")];
            before.chars().map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 }).sum()
        })
        .collect();
    assert_eq!(cols.len(), 3, "{s}");
    assert!(cols.windows(2).all(|w| w[0] == w[1]), "{cols:?}\n{s}");
    // F2 switches to English and back, keeping the screen.
    t.keys(&["F2"]);
    t.wait_text("6/7 · Ports and services");
    t.keys(&["F2"]);
    t.wait_text("6/7 · 連接埠與服務");

    // A resize redraws at the new size, and back.
    t.resize(60, 20);
    let s = t.wait_for("the redraw at 60×20", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains("litellm-stack") && l.trim_end().ends_with("English"))
            && s.lines().count() <= 20
    });
    assert!(s.contains("連接埠"), "{s}");
    t.resize(80, 24);
    t.wait_for("the redraw at 80×24", |s| {
        s.lines().next().is_some_and(|l| {
            l.contains("6/7") && l.trim_end().ends_with("English") && l.trim_end().chars().count() > 60
        })
    });

    // q on a screen without a text field quits at once: the alternate screen is left (the
    // shell's earlier output is back), raw mode is off, nothing was written.
    t.keys(&["q"]);
    let s = t.wait_for("the shell prompt", |s| s.trim_end().ends_with(PROMPT));
    assert!(s.contains("BEFORE-THE-WIZARD"), "the shell's screen is back: {s}");
    assert!(s.contains("沒有寫入任何東西"), "{s}");
    t.line("echo rc=$?");
    t.wait_text("rc=0");
    t.line("stty -a | grep -q -- ' icanon' && stty -a | grep -q -- ' echo ' && echo COOKED-MODE-BACK");
    t.wait_text("COOKED-MODE-BACK");
    let left: Vec<String> = std::fs::read_dir(stack.dir())
        .expect("read ~/litellm")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec!["answers.yaml".to_string()],
        "quitting before Install wrote something"
    );
}

/// What a command printed by the wizard promises to show, from the comment above it (the
/// checks) or its verb (the follow-ups); `None`: exiting 0 is the promise.
fn promised(comment: &str, command: &str) -> Option<&'static str> {
    let c = comment;
    if command.contains(" status") {
        return Some("running");
    }
    if c.contains("401") {
        Some("401")
    } else if c.contains("[DONE]") {
        Some("[DONE]")
    } else if c.contains("pong") {
        Some("pong")
    } else if c.contains("200") {
        Some("200")
    } else if c.contains("healthy") || c.contains("Readiness") || c.contains("就緒") {
        Some("healthy")
    } else if c.contains("health up") || c.contains("Prometheus") {
        Some("\"up\"")
    } else {
        None
    }
}

/// Runs `command` in the tmux shell as printed, and checks that it exits 0 and shows `expect`.
/// Prometheus scrapes every 15 s: its view is asked again for up to a minute.
fn run_as_printed(t: &Tmux, n: usize, command: &str, expect: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // What the command shows is read from a history that holds nothing older.
        t.line("clear");
        t.wait_for("a clear screen", |s| s.trim() == PROMPT);
        assert!(t.tmux(&["clear-history", "-t", "0"]).status.success());
        t.line(&format!("{command}; rc=$?; echo; echo \"rc-{n}=$rc\""));
        let marker = format!("rc-{n}=");
        let s = t.wait_until(&format!("command {n} to finish"), Duration::from_secs(60), |s| {
            s.lines().any(|l| l.starts_with(&marker))
        });
        let joined = t.joined_history();
        // The output: what follows the command line itself (which may name what it expects).
        let echo = format!("echo \"rc-{n}=$rc\"");
        let output = joined.split_once(&echo).map_or(joined.as_str(), |(_, after)| after);
        let ok = s.contains(&format!("rc-{n}=0"));
        let shows = expect.is_none_or(|e| output.contains(e));
        if ok && shows {
            return;
        }
        assert!(
            Instant::now() < deadline && expect == Some("\"up\""),
            "`{command}` as printed: exit 0 {ok}, shows {expect:?} {shows}:\n{joined}"
        );
        std::thread::sleep(Duration::from_secs(5));
    }
}

impl Tmux {
    /// The screen and its history with wrapped lines joined (a long command as one line).
    fn joined_history(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-t", "0", "-S", "-2000"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Port `nginx` of the answers is held by another program: the checklist warns and `p` opens
/// the ports screen, where another port is typed; back on the checklist it passes, and the
/// install goes through. Then every command printed on the done screen and at exit runs in
/// bash as printed, exits 0 and shows what its comment promised.
fn a_taken_port_is_changed_in_the_wizard_and_the_printed_commands_work(lang: &str) {
    let zh = lang == "zh-TW";
    let stack = Stack::new(&format!("port{}", if zh { "zh" } else { "en" }), true);
    let holder = std::net::TcpListener::bind(("0.0.0.0", stack.nginx)).expect("hold the nginx port");
    let other = free_port();
    let t = Tmux::start(
        &format!("port-{lang}"),
        &[
            ("LANG", if zh { "zh_TW.UTF-8".into() } else { "en_US.UTF-8".into() }),
            ("LC_ALL", String::new()),
            ("HOME", stack.root.path().display().to_string()),
        ],
    );
    t.line(&format!("{BIN} install --answers {}", shell_quote(&stack.answers())));
    t.wait_text(if zh { "請選擇語言" } else { "Choose your language" });
    t.keys(&["Enter"]);
    t.wait_text("2/7");
    t.keys(&["Enter"]);
    let port = |p: u16| {
        if zh {
            format!("連接埠 {p}")
        } else {
            format!("Port {p}")
        }
    };
    let s = t.wait_for("the checklist with the held port", |s| {
        s.contains("3/7") && s.contains(&format!("! {}", port(stack.nginx)))
    });
    assert!(s.contains(if zh { "按 p" } else { "press p" }), "{s}");
    assert!(!s.contains("ports.nginx"), "a fix text speaks of the answers file: {s}");
    // p: the ports screen; the held port replaced by another.
    t.keys(&["p"]);
    t.wait_text("6/7");
    t.keys(&["End"]);
    for _ in 0..8 {
        t.keys(&["BSpace"]);
    }
    t.text(&other.to_string());
    t.wait_text(&format!("[{other:<6}]"));
    t.keys(&["Enter"]);
    // Back on the checklist, checked again: the new port is free.
    let s = t.wait_for("the checklist checked again", |s| {
        s.contains("3/7") && s.contains(&format!("✓ {}", port(other)))
    });
    assert!(!s.contains(&port(stack.nginx)), "{s}");
    t.keys(&["Enter"]);
    t.wait_text("4/7");
    t.keys(&["Enter"]);
    t.wait_text("5/7");
    t.keys(&["Enter"]);
    let s = t.wait_text("6/7");
    assert!(s.contains(&format!("[{other:<6}]")), "{s}");
    t.keys(&["Enter"]);
    t.wait_text("7/7");
    t.wait_text(if zh { "[ 安裝 ]" } else { "[ Install ]" });
    t.keys(&["Tab", "Enter"]);
    let done = if zh {
        "閘道已經在運作"
    } else {
        "Your LiteLLM gateway is running"
    };
    let s = t.wait_until("the end of the install", INSTALL_TIMEOUT, |s| {
        s.contains(done) || s.contains("Install failed") || s.contains("安裝失敗")
    });
    assert!(s.contains(done), "{s}");
    assert!(s.contains(&format!(":{other}")), "the gateway is on the new port: {s}");
    let dir = stack.dir().display().to_string();
    let status_cmd = format!("{BIN} status --dir {dir}");
    let logs_cmd = format!("{BIN} logs --dir {dir}");
    // The follow-ups are at the end of the screen: scrolled to on a small terminal.
    t.keys(&["PageDown"]);
    let s = t.wait_for("the follow-up commands", |s| {
        s.contains("status --dir") && s.contains("logs --dir")
    });
    assert!(!s.contains("ANTHROPIC_API_KEY"), "a key that was not asked for: {s}");
    t.keys(&["q"]);
    t.wait_for("the shell prompt", |s| s.trim_end().ends_with(PROMPT));
    t.line("echo rc=$?");
    t.wait_text("rc=0");
    drop(holder);

    // The lines printed at exit: each check under its comment, then the follow-ups.
    let printed = t.joined_history();
    let lines: Vec<&str> = printed.lines().map(str::trim_end).collect();
    let mut commands: Vec<(String, Option<&'static str>)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let (Some(comment), Some(next)) = (l.strip_prefix("# "), lines.get(i + 1)) {
            commands.push((next.to_string(), promised(comment, next)));
        }
        if l.starts_with(BIN) && !l.contains(" install ") {
            commands.push((l.to_string(), promised("", l)));
        }
    }
    assert!(commands.iter().any(|(c, _)| *c == status_cmd), "{printed}");
    assert!(commands.iter().any(|(c, _)| *c == logs_cmd), "{printed}");
    assert!(commands.len() >= 6, "{commands:?}\n{printed}");
    for (n, (command, expect)) in commands.iter().enumerate() {
        run_as_printed(&t, n, command, *expect);
    }
}

#[test]
fn a_taken_port_in_english_is_changed_in_the_wizard_and_the_printed_commands_work() {
    a_taken_port_is_changed_in_the_wizard_and_the_printed_commands_work("en");
}

#[test]
fn a_taken_port_in_chinese_is_changed_in_the_wizard_and_the_printed_commands_work() {
    a_taken_port_is_changed_in_the_wizard_and_the_printed_commands_work("zh-TW");
}

/// Seconds in a `human_duration` text: `12.3 s`, `1 min 5 s`.
fn seconds_of(text: &str) -> f64 {
    let mut secs = 0.0;
    let words: Vec<&str> = text.split_whitespace().collect();
    for pair in words.windows(2) {
        if let Ok(v) = pair[0].parse::<f64>() {
            secs += match pair[1].trim_end_matches([',', ')', ':', '：']) {
                "min" => v * 60.0,
                "h" => v * 3600.0,
                "s" => v,
                _ => 0.0,
            };
        }
    }
    secs
}

/// An unattended install, as a lab admin runs it with a new answers file: its text output has
/// at most one readiness line per change of state plus one per 10 s of waiting, while the log
/// file keeps every attempt the health check reported.
#[test]
fn an_unattended_install_prints_readiness_changes_and_a_heartbeat_and_logs_every_attempt() {
    let stack = Stack::new("unattended", true);
    let out = bin()
        .args(["install", "--yes", "--answers"])
        .arg(stack.answers())
        .timeout(INSTALL_TIMEOUT)
        .output()
        .expect("run install --yes");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains("F. Wait for /health/readiness"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let end = lines[start..]
        .iter()
        .position(|l| l.contains("G. API test"))
        .map_or(lines.len(), |i| start + i);
    let shown: Vec<&str> = lines[start + 1..end]
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with('✓'))
        .collect();
    let changes = shown.iter().filter(|l| l.trim_start().starts_with("after ")).count();
    let beats = shown.iter().filter(|l| l.contains("still waiting after")).count();
    assert_eq!(
        changes + beats,
        shown.len(),
        "a readiness line of another shape: {shown:#?}"
    );
    assert!(changes >= 1, "{stdout}");
    let waited = shown.iter().map(|l| seconds_of(l)).fold(0.0, f64::max);
    assert!(
        beats as f64 <= waited / 10.0 + 1.0,
        "{beats} heartbeats in {waited} s: {shown:#?}"
    );
    // The raw detail of a state (the transport's own words) is in the log file only.
    assert!(
        shown.iter().all(|l| !l.contains("os error") && !l.contains("hyper")),
        "{shown:#?}"
    );
    let logs: Vec<PathBuf> = std::fs::read_dir(stack.dir().join("logs"))
        .expect("logs/")
        .flatten()
        .map(|e| e.path())
        .collect();
    let log = std::fs::read_to_string(&logs[0]).expect("read the log");
    let attempts = log.lines().filter(|l| l.contains("step Readiness: attempt ")).count();
    assert!(
        attempts >= changes,
        "the log keeps every attempt: {attempts} logged, {changes} changes shown\n{log}"
    );
    eprintln!("readiness: {changes} changes and {beats} heartbeats shown, {attempts} attempts logged, {waited} s");
}
