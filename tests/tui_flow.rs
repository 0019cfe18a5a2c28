//! The wizard without a terminal: `update` walked through the whole flow (forward, back with
//! input kept, each form's validation, quit confirmation), every screen drawn on ratatui's
//! `TestBackend` at 80×24 in both languages (insta snapshots), and the whole loop run with the
//! real effects against a temporary install dir.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use litellm_stack::answers::Answers;
use litellm_stack::error::Error;
use litellm_stack::i18n::Lang;
use litellm_stack::msg;
use litellm_stack::platform::Os;
use litellm_stack::secrets::{ExistingEnv, Secrets};
use litellm_stack::steps::preflight::{Check, CheckStatus};
use litellm_stack::steps::{Event, StepId};
use litellm_stack::tui::app::{
    App, DirFocus, DirInfo, InstallReport, ModelsFocus, Overlay, PortsField, Provider, ReviewFocus, Screen, StepState,
};
use litellm_stack::tui::update::BackupSaved;
use litellm_stack::tui::{Cmd, Key, Msg, update, view};
use litellm_stack::workspace::Workspace;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const HOME_DIR: &str = "/home/ada/litellm";

fn base_answers() -> Answers {
    let mut a = Answers::defaults_for(Os::Linux);
    a.dir = PathBuf::from(HOME_DIR);
    a
}

fn new_dir_info(dir: &str) -> DirInfo {
    DirInfo {
        dir: PathBuf::from(dir),
        ..DirInfo::default()
    }
}

fn new_app(lang: Lang) -> App {
    App::new(lang, Os::Linux, base_answers(), Some(new_dir_info(HOME_DIR)))
}

/// The screen as a person sees it: one line per row, a wide (CJK) character once, not
/// followed by the blank cell it covers.
fn screen_text(buf: &ratatui::buffer::Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut skip = 0;
        for x in 0..area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buf[(x, y)].symbol();
            skip = ratatui::text::Span::raw(symbol).width().saturating_sub(1);
            out.push_str(symbol);
        }
        out.push('\n');
    }
    out
}

fn draw_at(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| view(app, f)).expect("draw");
    screen_text(t.backend().buffer())
}

fn draw(app: &App) -> String {
    draw_at(app, 80, 24)
}

fn key(app: &mut App, k: Key) -> Vec<Cmd> {
    update(app, Msg::Key(k))
}

fn keys(app: &mut App, ks: &[Key]) -> Vec<Cmd> {
    ks.iter().flat_map(|k| key(app, *k)).collect()
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, Key::Char(c));
    }
}

fn clear_field(app: &mut App) {
    key(app, Key::End);
    for _ in 0..80 {
        key(app, Key::Backspace);
    }
}

/// The checklist of a machine where an earlier install holds port 80 and Prometheus's port is
/// below comfort: everything passes or warns.
fn sample_checks() -> Vec<Check> {
    vec![
        Check {
            name: msg!("wizard.check.os"),
            status: CheckStatus::Pass,
            summary: msg!("wizard.check.os.linux").arg("name", "Ubuntu 22.04.4 LTS"),
            fix: None,
            error: None,
            field: None,
        },
        Check {
            name: msg!("wizard.check.engine"),
            status: CheckStatus::Pass,
            summary: msg!("engine.preflight.engine_ok")
                .arg("version", "24.0.7")
                .arg("api", "1.43")
                .arg("endpoint", "unix:///var/run/docker.sock"),
            fix: None,
            error: None,
            field: None,
        },
        Check {
            name: msg!("wizard.check.disk"),
            status: CheckStatus::Warn,
            summary: msg!("wizard.check.disk.tight")
                .arg("free", "4.2")
                .arg("path", "/home/ada"),
            fix: Some(msg!("wizard.fix.disk")),
            error: None,
            field: None,
        },
        Check {
            name: msg!("wizard.check.port").arg("port", 80),
            status: CheckStatus::Pass,
            summary: msg!("wizard.check.port.ours"),
            fix: None,
            error: None,
            field: Some("ports.nginx"),
        },
        Check {
            name: msg!("wizard.check.port").arg("port", 4000),
            status: CheckStatus::Pass,
            summary: msg!("wizard.check.port.free").arg("addr", "127.0.0.1"),
            fix: None,
            error: None,
            field: Some("ports.litellm"),
        },
        Check {
            name: msg!("wizard.check.port").arg("port", 9090),
            status: CheckStatus::Pass,
            summary: msg!("wizard.check.port.free").arg("addr", "127.0.0.1"),
            fix: None,
            error: None,
            field: Some("ports.prometheus"),
        },
    ]
}

/// No engine running, and port 4000 taken by another program.
fn failing_checks() -> Vec<Check> {
    let mut c = sample_checks();
    c[1] = Check {
        name: msg!("wizard.check.engine"),
        status: CheckStatus::Fail,
        summary: msg!("platform.engine.not_running").arg("endpoint", "unix:///var/run/docker.sock"),
        fix: Some(msg!("platform.engine.start_hint")),
        error: None,
        field: None,
    };
    c[4] = Check {
        name: msg!("wizard.check.port").arg("port", 4000),
        status: CheckStatus::Fail,
        summary: msg!("wizard.check.port.in_use"),
        fix: Some(msg!("wizard.fix.port_taken").arg("cmd", "sudo ss -ltnp 'sport = :4000'")),
        error: None,
        field: Some("ports.litellm"),
    };
    litellm_stack::steps::preflight::for_wizard(c)
}

/// The ports of `sample_checks`, all usable, as the ports screen's check before the review
/// answers.
fn ports_pass() -> Vec<Check> {
    sample_checks().into_iter().filter(Check::is_port).collect()
}

/// Enter on the ports screen: the ports are checked again (the answers to check come out),
/// and with them usable, on to the review.
fn enter_on_ports(app: &mut App) -> Vec<Cmd> {
    let cmds = key(app, Key::Enter);
    assert!(matches!(cmds.as_slice(), [Cmd::CheckPorts(_)]), "{cmds:?}");
    update(app, Msg::PortsChecked(ports_pass()))
}

/// Walks a fresh app to `screen` the way a user would, answering with the defaults.
fn walk_to(app: &mut App, screen: Screen) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    let order = [
        Screen::Language,
        Screen::Welcome,
        Screen::Preflight,
        Screen::Directory,
        Screen::Models,
        Screen::Ports,
        Screen::Review,
    ];
    let start = order.iter().position(|s| *s == app.screen).unwrap_or(0);
    for s in order.into_iter().skip(start) {
        if app.screen == screen {
            break;
        }
        assert_eq!(app.screen, s, "walk_to expected to be on {s:?}");
        cmds = if s == Screen::Ports {
            enter_on_ports(app)
        } else {
            key(app, Key::Enter)
        };
        match s {
            Screen::Welcome => {
                update(app, Msg::PreflightDone(sample_checks()));
            }
            Screen::Directory => {
                let dir = app.directory.input.value().to_string();
                update(app, Msg::DirInspected(Box::new(new_dir_info(&dir))));
            }
            _ => {}
        }
    }
    assert_eq!(app.screen, screen);
    cmds
}

fn review_from_workspace(app: &App) -> litellm_stack::tui::app::ReviewData {
    let a = litellm_stack::tui::answers_form::answers(app).expect("valid answers");
    let ws = Workspace::prepare_with_env(a, Os::Linux, ExistingEnv::default(), &|_| None).expect("prepare");
    litellm_stack::tui::runtime::review_data(&ws).expect("review data")
}

fn sample_report() -> InstallReport {
    let a = base_answers();
    let endpoints = litellm_stack::health::Endpoints::from_answers(&a);
    InstallReport {
        dir: PathBuf::from(HOME_DIR),
        os: Os::Linux,
        gateway_url: endpoints.client_base().expect("nginx").to_string(),
        hand_checks: litellm_stack::howto::hand_checks(&endpoints, Os::Linux.shell(), &a.dir, true),
        reachable_from_network: true,
        master_key: Secrets::placeholders().master_key,
        log_path: Some(PathBuf::from(format!(
            "{HOME_DIR}/logs/litellm-stack-20261127T103000Z.log"
        ))),
        up_to_date: false,
        missing_keys: Vec::new(),
    }
}

fn progress_events() -> Vec<Event> {
    vec![
        Event::StepStarted(StepId::Preflight),
        Event::StepProgress {
            step: StepId::Preflight,
            msg: msg!("engine.preflight.engine_ok")
                .arg("version", "24.0.7")
                .arg("api", "1.43")
                .arg("endpoint", "unix:///var/run/docker.sock"),
        },
        Event::StepProgress {
            step: StepId::Preflight,
            msg: msg!("engine.preflight.disk_ok")
                .arg("free", "48.1")
                .arg("path", "/home/ada"),
        },
        Event::StepDone {
            step: StepId::Preflight,
            msg: None,
        },
        Event::StepStarted(StepId::Tree),
        Event::StepDone {
            step: StepId::Tree,
            msg: None,
        },
        Event::StepDone {
            step: StepId::Env,
            msg: None,
        },
        Event::StepDone {
            step: StepId::Config,
            msg: None,
        },
        Event::StepDone {
            step: StepId::Compose,
            msg: None,
        },
        Event::StepStarted(StepId::Images),
        Event::Pull {
            image: "postgres:16.8".into(),
            layers_done: 9,
            layers_total: 14,
            bytes_done: 98_000_000,
            bytes_total: 151_000_000,
            status: "Downloading".into(),
        },
        Event::Pull {
            image: "docker.litellm.ai/berriai/litellm:v1.83.0-stable".into(),
            layers_done: 2,
            layers_total: 12,
            bytes_done: 310_000_000,
            bytes_total: 1_420_000_000,
            status: "Downloading".into(),
        },
        Event::Log {
            service: "engine".into(),
            line: "pulling postgres:16.8 from docker.io".into(),
        },
        Event::Log {
            service: "engine".into(),
            line: "pulling docker.litellm.ai/berriai/litellm:v1.83.0-stable".into(),
        },
    ]
}

fn failed_app(lang: Lang) -> App {
    let mut app = new_app(lang);
    walk_to(&mut app, Screen::Review);
    let data = review_from_workspace(&app);
    update(&mut app, Msg::ReviewReady(Ok(data)));
    keys(&mut app, &[Key::Tab, Key::Enter]);
    update(
        &mut app,
        Msg::LogOpened(PathBuf::from(format!(
            "{HOME_DIR}/logs/litellm-stack-20261127T103000Z.log"
        ))),
    );
    for e in progress_events() {
        update(&mut app, Msg::Install(e));
    }
    // What the start step reports when LiteLLM cannot read a hand-edited config.yaml.
    let error = Error::failed(
        msg!("engine.start.failed")
            .arg("service", "litellm")
            .nested("reason", msg!("engine.failure.exited").arg("code", 1)),
    )
    .hint(msg!("engine.diag.litellm_config"));
    let logs: Vec<String> = [
        "Traceback (most recent call last):",
        "  File \"/app/litellm/proxy/proxy_server.py\", line 1904, in load_config",
        "yaml.scanner.ScannerError: mapping values are not allowed here",
        "  in \"/app/config.yaml\", line 12, column 14",
    ]
    .iter()
    .map(|l| format!("litellm | {l}"))
    .collect();
    update(
        &mut app,
        Msg::Install(Event::StepFailed {
            step: StepId::Start,
            error: error.clone(),
            logs,
        }),
    );
    update(&mut app, Msg::InstallFinished(Err(error)));
    app
}

// ---------------------------------------------------------------- the flow through `update`

#[test]
fn enter_walks_forward_through_every_form_and_asks_for_the_right_work() {
    let mut app = new_app(Lang::En);
    assert_eq!(app.screen, Screen::Language);
    assert!(key(&mut app, Key::Enter).is_empty());
    assert_eq!(app.screen, Screen::Welcome);
    let cmds = key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Preflight);
    assert!(matches!(cmds.as_slice(), [Cmd::Preflight(_)]), "{cmds:?}");
    // Enter while the checks run is refused, with a reason.
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Preflight);
    assert!(app.error.is_some());
    update(&mut app, Msg::PreflightDone(sample_checks()));
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Directory);
    let cmds = key(&mut app, Key::Enter);
    assert_eq!(cmds, vec![Cmd::InspectDir(PathBuf::from(HOME_DIR))]);
    update(&mut app, Msg::DirInspected(Box::new(new_dir_info(HOME_DIR))));
    assert_eq!(app.screen, Screen::Models);
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Ports);
    let cmds = enter_on_ports(&mut app);
    assert_eq!(app.screen, Screen::Review);
    let [Cmd::PrepareReview { answers, keys }] = cmds.as_slice() else {
        panic!("expected PrepareReview, got {cmds:?}")
    };
    assert_eq!(answers.dir, PathBuf::from(HOME_DIR));
    assert_eq!(answers.language, Some(Lang::En));
    assert!(keys.is_empty());
    // Nothing can be installed before the review is ready, and Enter on the file list only
    // opens the viewer: the install starts from the Install button alone.
    assert!(keys_to_install(&mut app).is_empty());
    app.review.focus = ReviewFocus::Files;
    let data = review_from_workspace(&app);
    update(&mut app, Msg::ReviewReady(Ok(data)));
    assert!(key(&mut app, Key::Enter).is_empty());
    assert_eq!(app.review.viewing, Some(0));
    key(&mut app, Key::Esc);
    assert_eq!(app.review.viewing, None);
    assert_eq!(app.screen, Screen::Review);
    assert_eq!(keys_to_install(&mut app), vec![Cmd::StartInstall]);
    assert_eq!(app.screen, Screen::Progress);
    assert!(app.install_started);
}

fn keys_to_install(app: &mut App) -> Vec<Cmd> {
    app.review.focus = ReviewFocus::Files;
    keys(app, &[Key::Tab, Key::Enter])
}

#[test]
fn esc_goes_back_and_everything_typed_is_still_there() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Directory);
    clear_field(&mut app);
    type_text(&mut app, "/srv/gateway");
    key(&mut app, Key::Enter);
    update(&mut app, Msg::DirInspected(Box::new(new_dir_info("/srv/gateway"))));
    assert_eq!(app.screen, Screen::Models);
    // Anthropic on, with a model and a key.
    keys(&mut app, &[Key::Down, Key::Char(' '), Key::Tab]);
    assert_eq!(app.models.focus, ModelsFocus::Models);
    clear_field(&mut app);
    type_text(&mut app, "claude-opus-4");
    key(&mut app, Key::Tab);
    update(&mut app, Msg::Paste("sk-ant-typed-key".into()));
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Ports);
    key(&mut app, Key::Tab);
    clear_field(&mut app);
    type_text(&mut app, "8080");
    // Back three screens, and forward again: nothing lost.
    keys(&mut app, &[Key::Esc, Key::Esc, Key::Esc]);
    assert_eq!(app.screen, Screen::Preflight);
    keys(&mut app, &[Key::Esc]);
    assert_eq!(app.screen, Screen::Welcome);
    // Another folder was chosen: its checks run again.
    let cmds = key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Preflight);
    let [Cmd::Preflight(checked)] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(checked.ports.nginx, 8080, "the checks use the ports typed so far");
    update(&mut app, Msg::PreflightDone(sample_checks()));
    key(&mut app, Key::Enter);
    assert_eq!(app.directory.input.value(), "/srv/gateway");
    key(&mut app, Key::Enter);
    update(&mut app, Msg::DirInspected(Box::new(new_dir_info("/srv/gateway"))));
    let anthropic = &app.models.providers[1];
    assert_eq!(anthropic.provider, Provider::Anthropic);
    assert!(anthropic.enabled);
    assert_eq!(anthropic.models.value(), "claude-opus-4");
    assert!(!anthropic.key.is_empty());
    key(&mut app, Key::Enter);
    assert_eq!(app.ports.nginx_port.value(), "8080");
    let cmds = enter_on_ports(&mut app);
    let [Cmd::PrepareReview { answers, keys }] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(answers.dir, PathBuf::from("/srv/gateway"));
    assert_eq!(answers.ports.nginx, 8080);
    assert!(
        answers
            .models
            .iter()
            .any(|m| m.model.as_deref() == Some("anthropic/claude-opus-4")
                && m.api_key_env.as_deref() == Some("ANTHROPIC_API_KEY"))
    );
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].0, "ANTHROPIC_API_KEY");
    assert_eq!(keys[0].1.expose(), "sk-ant-typed-key");
}

#[test]
fn review_jumps_back_to_any_screen_with_its_number() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Review);
    for (digit, screen) in [
        ('1', Screen::Language),
        ('3', Screen::Preflight),
        ('4', Screen::Directory),
        ('5', Screen::Models),
        ('6', Screen::Ports),
    ] {
        app.screen = Screen::Review;
        key(&mut app, Key::Char(digit));
        assert_eq!(app.screen, screen, "key {digit}");
    }
}

#[test]
fn directory_must_be_a_full_path() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Directory);
    clear_field(&mut app);
    assert!(key(&mut app, Key::Enter).is_empty());
    assert_eq!(app.error, Some(msg!("wizard.error.dir_empty")));
    type_text(&mut app, "relative/dir");
    assert!(key(&mut app, Key::Enter).is_empty());
    assert_eq!(app.screen, Screen::Directory);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.dir_relative"));
    assert!(draw(&app).contains("relative/dir is not a full path"));
}

#[test]
fn an_existing_install_is_announced_once_and_its_answers_loaded() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Directory);
    clear_field(&mut app);
    type_text(&mut app, "/srv/old");
    key(&mut app, Key::Enter);
    let mut saved = Answers::defaults_for(Os::Linux);
    saved.dir = PathBuf::from("/srv/old");
    saved.ports.nginx = 8088;
    saved.models[0].name = Some("gpt-4o".into());
    saved.models[0].model = Some("openai/gpt-4o".into());
    update(
        &mut app,
        Msg::DirInspected(Box::new(DirInfo {
            dir: PathBuf::from("/srv/old"),
            existing_install: true,
            saved_answers: Some(saved),
            saved_answers_error: None,
            env_keys: vec!["OPENAI_API_KEY".into()],
            other_litellm: None,
        })),
    );
    // Stays, to say an update keeps the keys; the next Enter goes on.
    assert_eq!(app.screen, Screen::Directory);
    let screen = draw(&app);
    assert!(screen.contains("An install is already here"), "{screen}");
    assert_eq!(app.ports.nginx_port.value(), "8088");
    assert_eq!(app.models.providers[0].models.value(), "gpt-4o");
    assert!(app.models.providers[0].key_in_env);
    key(&mut app, Key::Enter);
    let info = app.directory.info.clone().expect("info");
    update(&mut app, Msg::DirInspected(Box::new(info)));
    assert_eq!(app.screen, Screen::Models);
    // A key kept from .env cannot be typed over (the file's value wins).
    keys(&mut app, &[Key::Tab, Key::Tab]);
    assert_eq!(app.models.focus, ModelsFocus::Key);
    type_text(&mut app, "ignored");
    assert!(app.models.providers[0].key.is_empty());
    assert!(draw(&app).contains("kept from your .env"));
}

/// An existing install, looked at: the screen offers "update" and "back up now".
fn at_existing_install(lang: Lang, dir: &str) -> App {
    at_install_running(lang, dir, None)
}

/// The directory screen on an existing install in `dir`; with `other_litellm`, the install
/// runs another LiteLLM than the pinned one: (running, pinned).
fn at_install_running(lang: Lang, dir: &str, other_litellm: Option<(&str, &str)>) -> App {
    let mut app = new_app(lang);
    walk_to(&mut app, Screen::Directory);
    clear_field(&mut app);
    type_text(&mut app, dir);
    key(&mut app, Key::Enter);
    let mut info = new_dir_info(dir);
    info.existing_install = true;
    info.other_litellm = other_litellm.map(|(from, to)| (from.to_string(), to.to_string()));
    update(&mut app, Msg::DirInspected(Box::new(info)));
    assert_eq!(app.screen, Screen::Directory);
    app
}

#[test]
fn back_up_now_runs_the_backup_from_the_directory_screen_and_stays() {
    let mut app = at_existing_install(Lang::En, "/srv/team");
    // Tab leaves the field; letters no longer edit it.
    key(&mut app, Key::Tab);
    assert_eq!(app.directory.focus, DirFocus::Update);
    type_text(&mut app, "xy");
    assert_eq!(app.directory.input.value(), "/srv/team");
    let cmds = keys(&mut app, &[Key::Tab, Key::Enter]);
    assert_eq!(cmds, vec![Cmd::Backup(PathBuf::from("/srv/team"))]);
    // A second Enter while it runs starts nothing.
    assert!(key(&mut app, Key::Enter).is_empty());
    update(
        &mut app,
        Msg::Backup(Event::StepProgress {
            step: StepId::Dump,
            msg: msg!("backup.dump.progress").arg("size", "3.0"),
        }),
    );
    let screen = draw(&app);
    assert!(screen.contains("Backing up"), "{screen}");
    assert!(screen.contains("3.0 MiB dumped so far"), "{screen}");
    update(
        &mut app,
        Msg::BackupFinished(Ok(BackupSaved {
            path: PathBuf::from("/srv/team/backups/litellm-backup-20261203-140000.tar.gz"),
            size: 3 << 20,
        })),
    );
    assert_eq!(app.screen, Screen::Directory);
    let screen = draw_at(&app, 100, 30);
    let words = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("Backup saved"), "{screen}");
    assert!(words.contains("It holds the stack's secrets"), "{screen}");
    assert!(words.contains("(3.0 MiB)"), "{screen}");
    assert!(
        words.contains("backup verify /srv/team/backups/litellm-backup-20261203-140000.tar.gz --dir /srv/team"),
        "the verify command names the dir, as it is run: {screen}"
    );
    // Then on to the update.
    key(&mut app, Key::BackTab);
    assert_eq!(app.directory.focus, DirFocus::Update);
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Models);
}

#[test]
fn a_failed_backup_is_shown_with_its_fix_and_the_update_stays_offered() {
    let mut app = at_existing_install(Lang::ZhTw, "/srv/team");
    keys(&mut app, &[Key::Tab, Key::Tab, Key::Enter]);
    update(
        &mut app,
        Msg::BackupFinished(Err(Error::environment(msg!("engine.connect.none")))),
    );
    let screen = draw_at(&app, 100, 30);
    assert!(screen.contains("備份失敗"), "{screen}");
    // Another folder: the actions and the backup's result go.
    keys(&mut app, &[Key::Tab]);
    assert_eq!(app.directory.focus, DirFocus::Field);
    type_text(&mut app, "x");
    assert!(!draw_at(&app, 100, 30).contains("備份失敗"));
}

#[test]
fn an_install_on_another_litellm_than_the_pin_is_offered_the_upgrade_command() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("team");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut saved = Answers::defaults_for(Os::Linux);
    saved.dir = dir.clone();
    saved.images.mirror = Some("registry.lab.example/mirror".into());
    saved.images.litellm = "docker.litellm.ai/berriai/litellm:v1.106.12".into();
    std::fs::write(dir.join("answers.yaml"), saved.to_saved_yaml()).expect("write answers");
    let info = litellm_stack::tui::runtime::inspect_dir(&dir);
    assert!(info.existing_install);
    let (from, to) = info.other_litellm.clone().expect("another LiteLLM than the pin");
    assert_eq!(from, "registry.lab.example/mirror/berriai/litellm:v1.106.12");
    let pinned = litellm_stack::answers::Images::default().litellm;
    assert!(
        to.starts_with("registry.lab.example/mirror/"),
        "the mirror is kept: {to}"
    );
    assert!(
        pinned.ends_with(to.rsplit('/').next().unwrap_or_default()),
        "{to} vs {pinned}"
    );

    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Directory);
    clear_field(&mut app);
    type_text(&mut app, &dir.display().to_string());
    key(&mut app, Key::Enter);
    update(&mut app, Msg::DirInspected(Box::new(info)));
    let words = draw_at(&app, 120, 30).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(&format!("upgrade --litellm {to} --dir {}", dir.display())),
        "{words}"
    );
    // The same install on the pinned image: nothing offered.
    saved.images.litellm = pinned;
    std::fs::write(dir.join("answers.yaml"), saved.to_saved_yaml()).expect("write answers");
    assert_eq!(litellm_stack::tui::runtime::inspect_dir(&dir).other_litellm, None);
}

#[test]
fn a_new_folder_offers_no_backup() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Directory);
    key(&mut app, Key::Tab);
    assert_eq!(app.directory.focus, DirFocus::Field);
    assert!(!draw(&app).contains("Back up now"));
}

#[test]
fn models_form_checks_names_azure_and_that_something_answers() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Models);
    // OpenAI on with no model name.
    keys(&mut app, &[Key::Tab]);
    clear_field(&mut app);
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Models);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.models_empty"));
    assert_eq!(app.models.focus, ModelsFocus::Models);
    type_text(&mut app, "gpt 4o");
    key(&mut app, Key::Enter);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.model_name"));
    clear_field(&mut app);
    type_text(&mut app, "gpt-4o, gpt-4o");
    key(&mut app, Key::Enter);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.model_twice"));
    clear_field(&mut app);
    type_text(&mut app, "gpt-4o");
    // Azure on: needs deployments, a base URL and a version.
    app.models.focus = ModelsFocus::List;
    keys(&mut app, &[Key::Down, Key::Down, Key::Char(' ')]);
    key(&mut app, Key::Enter);
    assert_eq!(
        app.error.as_ref().map(|e| e.key),
        Some("wizard.error.deployments_empty")
    );
    type_text(&mut app, "prod-gpt4o");
    key(&mut app, Key::Enter);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.azure_base"));
    assert_eq!(app.models.focus, ModelsFocus::ApiBase);
    type_text(&mut app, "https://team.openai.azure.com");
    key(&mut app, Key::Tab);
    clear_field(&mut app);
    key(&mut app, Key::Enter);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.azure_version"));
    type_text(&mut app, "2024-10-21");
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Ports, "{:?}", app.error);
    // Everything off: nothing would answer.
    key(&mut app, Key::Esc);
    app.models.focus = ModelsFocus::List;
    for row in [0, 2, 4] {
        app.models.selected = row;
        key(&mut app, Key::Char(' '));
    }
    key(&mut app, Key::Enter);
    assert_eq!(app.error, Some(msg!("wizard.error.no_models")));
    assert_eq!(app.screen, Screen::Models);
}

#[test]
fn ports_form_checks_numbers_clashes_and_an_entry_point() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Ports);
    let focus = |app: &mut App, f: PortsField| {
        app.ports.focus = PortsField::ALL.iter().position(|x| *x == f).expect("field");
    };
    focus(&mut app, PortsField::NginxPort);
    clear_field(&mut app);
    type_text(&mut app, "eighty");
    key(&mut app, Key::Enter);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.port_number"));
    assert_eq!(app.screen, Screen::Ports);
    clear_field(&mut app);
    type_text(&mut app, "70000");
    key(&mut app, Key::Enter);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.port_number"));
    clear_field(&mut app);
    type_text(&mut app, "4000");
    key(&mut app, Key::Enter);
    assert_eq!(app.error.as_ref().map(|e| e.key), Some("wizard.error.port_twice"));
    assert!(
        draw(&app).contains("LiteLLM port and Nginx port both use port 4000"),
        "{}",
        draw(&app)
    );
    clear_field(&mut app);
    type_text(&mut app, "8080");
    // Nginx off and no LiteLLM port: clients could not reach anything.
    focus(&mut app, PortsField::NginxEnabled);
    key(&mut app, Key::Char(' '));
    focus(&mut app, PortsField::LitellmPort);
    clear_field(&mut app);
    key(&mut app, Key::Enter);
    assert_eq!(app.error, Some(msg!("wizard.error.no_entry_point")));
    type_text(&mut app, "4000");
    let cmds = enter_on_ports(&mut app);
    let [Cmd::PrepareReview { answers, .. }] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert!(!answers.services.nginx);
    assert_eq!(answers.ports.litellm, Some(4000));
}

#[test]
fn a_failed_check_blocks_until_a_recheck_passes() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Welcome);
    key(&mut app, Key::Enter);
    update(&mut app, Msg::PreflightDone(failing_checks()));
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Preflight);
    assert_eq!(app.error, Some(msg!("wizard.error.preflight_failed")));
    let cmds = key(&mut app, Key::Char('r'));
    assert!(matches!(cmds.as_slice(), [Cmd::Preflight(_)]));
    assert!(app.preflight.running);
    update(&mut app, Msg::PreflightDone(sample_checks()));
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Directory);
}

#[test]
fn quitting_is_immediate_before_the_install_and_confirmed_during_it() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Preflight);
    assert_eq!(key(&mut app, Key::Char('q')), vec![Cmd::Quit]);
    assert!(app.ending.is_some());

    // In a text field, q is a letter; Ctrl-C still quits.
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Directory);
    assert!(key(&mut app, Key::Char('q')).is_empty());
    assert!(app.directory.input.value().ends_with('q'));
    assert_eq!(key(&mut app, Key::CtrlC), vec![Cmd::Quit]);

    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Review);
    let data = review_from_workspace(&app);
    update(&mut app, Msg::ReviewReady(Ok(data)));
    assert_eq!(keys_to_install(&mut app), vec![Cmd::StartInstall]);
    assert!(key(&mut app, Key::Char('q')).is_empty());
    assert_eq!(app.overlay, Some(Overlay::ConfirmQuit));
    assert!(key(&mut app, Key::Char('n')).is_empty());
    assert_eq!(app.overlay, None);
    assert!(app.ending.is_none());
    assert!(key(&mut app, Key::CtrlC).is_empty());
    assert_eq!(app.overlay, Some(Overlay::ConfirmQuit));
    assert_eq!(key(&mut app, Key::Char('y')), vec![Cmd::Quit]);
    assert_eq!(app.ending, Some(litellm_stack::tui::app::Ending::QuitDuringInstall));
}

#[test]
fn language_switches_at_any_time_without_losing_input() {
    let mut app = new_app(Lang::En);
    key(&mut app, Key::Down);
    assert_eq!(app.lang, Lang::En);
    key(&mut app, Key::Up);
    assert_eq!(app.lang, Lang::ZhTw, "moving the choice switches at once");
    key(&mut app, Key::Enter);
    key(&mut app, Key::Char('L'));
    assert_eq!(app.lang, Lang::En);
    walk_to(&mut app, Screen::Directory);
    type_text(&mut app, "-x");
    key(&mut app, Key::F(2));
    assert_eq!(app.lang, Lang::ZhTw);
    assert_eq!(app.directory.input.value(), format!("{HOME_DIR}-x"));
    assert!(draw(&app).contains("安裝資料夾"));
}

#[test]
fn help_opens_anywhere_and_any_key_closes_it() {
    let mut app = new_app(Lang::En);
    key(&mut app, Key::Char('?'));
    assert_eq!(app.overlay, Some(Overlay::Help));
    let screen = draw(&app);
    assert!(screen.contains("Keys"), "{screen}");
    key(&mut app, Key::Enter);
    assert_eq!(app.overlay, None);
    assert_eq!(app.screen, Screen::Language, "the closing key does nothing else");
    walk_to(&mut app, Screen::Directory);
    key(&mut app, Key::Char('?'));
    assert_eq!(app.overlay, None, "? is text in a field");
    key(&mut app, Key::F(1));
    assert_eq!(app.overlay, Some(Overlay::Help));
}

#[test]
fn events_drive_the_checklist_and_the_end_screens() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Review);
    let data = review_from_workspace(&app);
    update(&mut app, Msg::ReviewReady(Ok(data)));
    keys_to_install(&mut app);
    for e in progress_events() {
        update(&mut app, Msg::Install(e));
    }
    let row = |app: &App, id: StepId| app.progress.steps.iter().find(|r| r.id == id).map(|r| r.state);
    assert_eq!(row(&app, StepId::Compose), Some(StepState::Done));
    assert_eq!(row(&app, StepId::Images), Some(StepState::Running));
    assert_eq!(row(&app, StepId::Start), Some(StepState::Pending));
    assert_eq!(app.progress.pulls.len(), 2);
    // A later pull event of the same image replaces its bar.
    update(
        &mut app,
        Msg::Install(Event::Pull {
            image: "postgres:16.8".into(),
            layers_done: 14,
            layers_total: 14,
            bytes_done: 151_000_000,
            bytes_total: 151_000_000,
            status: "Pull complete".into(),
        }),
    );
    assert_eq!(app.progress.pulls.len(), 2);
    assert_eq!(app.progress.pulls[0].layers_done, 14);
    update(&mut app, Msg::InstallFinished(Ok(sample_report())));
    assert_eq!(app.screen, Screen::Done);
    assert!(!app.install_running());
    assert_eq!(
        key(&mut app, Key::Char('q')),
        vec![Cmd::Quit],
        "no confirmation once done"
    );
}

#[test]
fn the_master_key_shows_only_when_revealed() {
    let mut app = new_app(Lang::En);
    app.install_started = true;
    update(&mut app, Msg::InstallFinished(Ok(sample_report())));
    let placeholder = Secrets::placeholders().master_key.expose().to_string();
    assert!(!draw(&app).contains(&placeholder));
    key(&mut app, Key::Char('r'));
    assert!(draw(&app).contains(&placeholder));
    key(&mut app, Key::Char('r'));
    assert!(!draw(&app).contains(&placeholder));
}

#[test]
fn after_a_failure_esc_goes_back_to_the_review_to_try_again() {
    let mut app = failed_app(Lang::En);
    assert_eq!(app.screen, Screen::Failed);
    let failure = app.failure.as_ref().expect("failure");
    assert_eq!(failure.step, Some(StepId::Start));
    assert_eq!(failure.logs.len(), 4);
    assert!(failure.log_path.is_some());
    let cmds = key(&mut app, Key::Esc);
    assert!(matches!(cmds.as_slice(), [Cmd::PrepareReview { .. }]));
    assert_eq!(app.screen, Screen::Review);
    assert!(!app.install_started);
}

#[test]
fn typed_keys_never_show_in_a_state_dump_or_on_screen() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Models);
    keys(&mut app, &[Key::Tab, Key::Tab]);
    update(&mut app, Msg::Paste("sk-proj-SECRET-VALUE-123".into()));
    assert!(!format!("{app:?}").contains("SECRET-VALUE"));
    let screen = draw(&app);
    assert!(!screen.contains("SECRET-VALUE"), "{screen}");
    assert!(screen.contains("••••"), "{screen}");
}

#[test]
fn a_key_typed_in_the_wizard_fills_an_empty_one_in_env_but_never_replaces_a_kept_one() {
    let a = base_answers();
    let typed = |k: &str| (k == "OPENAI_API_KEY").then(|| "sk-typed-now".to_string());
    let empty = ExistingEnv::parse(Path::new(".env"), b"OPENAI_API_KEY=\n").expect("parses");
    let ws = Workspace::prepare_with_env(a.clone(), Os::Linux, empty, &typed).expect("prepare");
    assert_eq!(
        ws.dotenv.get("OPENAI_API_KEY").map(|s| s.expose().to_string()),
        Some("sk-typed-now".into())
    );
    let kept = ExistingEnv::parse(Path::new(".env"), b"OPENAI_API_KEY=sk-already-there\n").expect("parses");
    let ws = Workspace::prepare_with_env(a, Os::Linux, kept, &typed).expect("prepare");
    assert_eq!(
        ws.dotenv.get("OPENAI_API_KEY").map(|s| s.expose().to_string()),
        Some("sk-already-there".into())
    );
}

// ---------------------------------------------------------------- every screen, both languages

fn snapshot(name: &str, lang: Lang, app: &App) {
    let screen = draw(app);
    for secret in [
        Secrets::placeholders().master_key.expose(),
        Secrets::placeholders().salt_key.expose(),
    ] {
        assert!(!screen.contains(secret), "{name}: a secret is on screen");
    }
    insta::assert_snapshot!(format!("{name}__{}", lang.code()), screen);
}

fn each_lang(f: impl Fn(Lang)) {
    for lang in Lang::ALL {
        f(lang);
    }
}

#[test]
fn screen_1_language() {
    each_lang(|lang| snapshot("1_language", lang, &new_app(lang)));
}

#[test]
fn screen_2_welcome() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Welcome);
        snapshot("2_welcome", lang, &app);
    });
}

#[test]
fn screen_3_preflight() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Preflight);
        snapshot("3_preflight", lang, &app);
        update(&mut app, Msg::PreflightDone(failing_checks()));
        key(&mut app, Key::Enter);
        snapshot("3_preflight_failed", lang, &app);
    });
}

#[test]
fn screen_4_directory() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Directory);
        snapshot("4_directory", lang, &app);
        let mut existing = new_dir_info(HOME_DIR);
        existing.existing_install = true;
        existing.env_keys = vec!["OPENAI_API_KEY".into()];
        app.directory.info = Some(existing);
        snapshot("4_directory_existing", lang, &app);
        let mut app = at_existing_install(lang, "/srv/team");
        keys(&mut app, &[Key::Tab, Key::Tab, Key::Enter]);
        update(
            &mut app,
            Msg::BackupFinished(Ok(BackupSaved {
                path: PathBuf::from("/srv/team/backups/litellm-backup-20261203-140000.tar.gz"),
                size: 3 << 20,
            })),
        );
        snapshot("4_directory_backup_saved", lang, &app);
        let app = at_install_running(
            lang,
            "/srv/team",
            Some((
                "docker.litellm.ai/berriai/litellm:v1.106.12",
                "docker.litellm.ai/berriai/litellm:v1.108.7",
            )),
        );
        snapshot("4_directory_other_litellm", lang, &app);
    });
}

#[test]
fn screen_5_models() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Models);
        snapshot("5_models", lang, &app);
        keys(&mut app, &[Key::Tab, Key::Tab]);
        update(&mut app, Msg::Paste("sk-typed-0123456789".into()));
        snapshot("5_models_key_typed", lang, &app);
        app.models.focus = ModelsFocus::List;
        keys(&mut app, &[Key::Down, Key::Down, Key::Char(' '), Key::Tab]);
        type_text(&mut app, "prod-gpt4o");
        key(&mut app, Key::Enter);
        snapshot("5_models_azure", lang, &app);
    });
}

#[test]
fn screen_6_ports() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Ports);
        snapshot("6_ports", lang, &app);
        key(&mut app, Key::Tab);
        clear_field(&mut app);
        type_text(&mut app, "4000");
        key(&mut app, Key::Enter);
        snapshot("6_ports_clash", lang, &app);
    });
}

#[test]
fn screen_7_review() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Review);
        snapshot("7_review_loading", lang, &app);
        let data = review_from_workspace(&app);
        update(&mut app, Msg::ReviewReady(Ok(data)));
        snapshot("7_review", lang, &app);
        key(&mut app, Key::Enter);
        snapshot("7_review_env_masked", lang, &app);
        let screen = draw(&app);
        assert!(screen.contains("LITELLM_MASTER_KEY=********"), "{screen}");
        key(&mut app, Key::Esc);
        keys(&mut app, &[Key::Down, Key::Enter]);
        snapshot("7_review_config", lang, &app);
        keys(&mut app, &[Key::Esc, Key::Tab]);
        snapshot("7_review_install_focused", lang, &app);
    });
}

#[test]
fn screen_8_progress() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Review);
        let data = review_from_workspace(&app);
        update(&mut app, Msg::ReviewReady(Ok(data)));
        keys_to_install(&mut app);
        update(
            &mut app,
            Msg::LogOpened(PathBuf::from(format!("{HOME_DIR}/logs/litellm-stack-1.log"))),
        );
        for e in progress_events() {
            update(&mut app, Msg::Install(e));
        }
        snapshot("8_progress", lang, &app);
        key(&mut app, Key::Char('q'));
        snapshot("8_progress_confirm_quit", lang, &app);
    });
}

#[test]
fn screen_9_done_with_the_key_hidden() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        app.install_started = true;
        update(&mut app, Msg::InstallFinished(Ok(sample_report())));
        snapshot("9_done", lang, &app);
    });
}

#[test]
fn screen_9_failed() {
    each_lang(|lang| snapshot("9_failed", lang, &failed_app(lang)));
}

#[test]
fn help_overlay() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Welcome);
        key(&mut app, Key::Char('?'));
        snapshot("help", lang, &app);
    });
}

#[test]
fn screens_fit_small_and_large_terminals() {
    // Every screen draws at a resize to 60×20 and 160×50 without panicking, and the header
    // stays on the first row.
    for lang in Lang::ALL {
        let mut apps = vec![new_app(lang), failed_app(lang)];
        for screen in [
            Screen::Welcome,
            Screen::Preflight,
            Screen::Directory,
            Screen::Models,
            Screen::Ports,
            Screen::Review,
        ] {
            let mut app = new_app(lang);
            walk_to(&mut app, screen);
            apps.push(app);
        }
        for app in &mut apps {
            for (w, h) in [(60, 20), (160, 50), (80, 24)] {
                update(app, Msg::Resize(w, h));
                let screen = draw_at(app, w, h);
                assert!(
                    screen.lines().next().is_some_and(|l| l.contains("litellm-stack")),
                    "{screen}"
                );
            }
        }
    }
}

#[test]
fn cjk_text_keeps_its_columns() {
    // A wide character takes two cells: the header's right part still ends at column 80.
    let mut app = new_app(Lang::ZhTw);
    walk_to(&mut app, Screen::Ports);
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    t.draw(|f| view(&app, f)).expect("draw");
    let text = screen_text(t.backend().buffer());
    let row = text.lines().next().expect("header");
    let widths: Vec<(char, usize)> = row
        .chars()
        .map(|c| (c, ratatui::text::Span::raw(c.to_string()).width()))
        .filter(|(_, w)| *w != 1)
        .collect();
    assert_eq!(ratatui::text::Span::raw(row).width(), 80, "{row} {widths:?}");
    assert!(row.trim_end().ends_with("English"), "{row}");
    // The port fields line up whatever the label's script.
    let screen = draw(&app);
    let cols: Vec<usize> = screen
        .lines()
        .filter(|l| l.contains("連接埠：") && l.contains('['))
        .map(|l| l.find('[').expect("bracket"))
        .collect();
    assert_eq!(cols.len(), 3, "{screen}");
    assert!(cols.windows(2).all(|w| w[0] == w[1]), "{cols:?}\n{screen}");
}

// ---------------------------------------------------------------- catalog keys of the wizard

#[test]
fn every_wizard_key_in_the_code_is_in_both_catalogs() {
    let en = litellm_stack::i18n::load_catalog(Lang::En).expect("en");
    let zh = litellm_stack::i18n::load_catalog(Lang::ZhTw).expect("zh-TW");
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    walk(&root.join("src/tui"), &mut files);
    files.push(root.join("src/commands/wizard.rs"));
    let mut missing = Vec::new();
    let mut seen = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        for (i, _) in text.match_indices('"') {
            let rest = &text[i + 1..];
            let Some(end) = rest.find('"') else { continue };
            let lit = &rest[..end];
            let looks_like_key = lit.contains('.')
                && !lit.contains(' ')
                && ["wizard.", "problem.", "render.", "step.", "error.", "hint."]
                    .iter()
                    .any(|p| lit.starts_with(p))
                && lit.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
            if looks_like_key {
                seen += 1;
                if !en.contains_key(lit) || !zh.contains_key(lit) {
                    missing.push(format!("{}: {lit}", f.display()));
                }
            }
        }
    }
    assert!(
        seen > 100,
        "the scan found only {seen} keys: is it looking in the right place?"
    );
    assert!(missing.is_empty(), "missing from a catalog:\n{}", missing.join("\n"));
}

// ---------------------------------------------------------------- the loop, with real effects

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_loop_writes_nothing_before_install() {
    use litellm_stack::tui::runtime::{SystemEffects, run_app};
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("gateway");
    let mut base = Answers::defaults_for(Os::Linux);
    base.dir = dir.clone();
    let mut app = App::new(
        Lang::En,
        Os::Linux,
        base,
        Some(new_dir_info(&dir.display().to_string())),
    );
    let (mut inbox, tx, feed) = litellm_stack::tui::Inbox::new();
    let mut effects =
        SystemEffects::new(tx.clone(), feed, Os::Linux).with_env(Arc::new(|_| None), tmp.path().to_path_buf());
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let driver = tokio::spawn({
        let tx = tx.clone();
        async move {
            // Each batch waits for the answers of the effects it triggered (a real preflight
            // runs; its verdict is replaced by a fixed one, so the test does not depend on this
            // machine's Docker).
            let batches: Vec<Vec<Msg>> = vec![
                vec![Msg::Key(Key::Enter), Msg::Key(Key::Enter)],
                vec![Msg::PreflightDone(sample_checks()), Msg::Key(Key::Enter)],
                vec![Msg::Key(Key::Enter)],
                vec![
                    Msg::Key(Key::Tab),
                    Msg::Key(Key::Tab),
                    Msg::Paste("sk-openai-typed-0123".into()),
                    Msg::Key(Key::Enter),
                ],
                vec![Msg::Key(Key::Enter)],
                vec![Msg::Key(Key::Char('s'))],
                vec![Msg::Key(Key::Enter)],
            ];
            for batch in batches {
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                for m in batch {
                    let _ = tx.send(m);
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            let _ = tx.send(Msg::Key(Key::Char('q')));
        }
    });
    run_app(&mut terminal, &mut app, &mut inbox, &mut effects)
        .await
        .expect("loop");
    driver.await.expect("driver");
    assert_eq!(app.ending, Some(litellm_stack::tui::app::Ending::QuitBeforeStart));
    assert_eq!(app.screen, Screen::Review, "{:?}", app.error);
    let review = app.review.data.as_ref().expect("the review was prepared");
    assert!(review.files.iter().any(|f| f.path == ".env"));
    assert!(
        review.missing_keys.is_empty(),
        "the typed key counts: {:?}",
        review.missing_keys
    );
    for f in &review.files {
        assert!(!f.shown.contains("sk-openai-typed"), "{} shows the typed key", f.path);
    }
    // The file viewer was opened on .env (Enter on the list): masked.
    assert_eq!(app.review.viewing, Some(0));
    let screen = draw(&app);
    assert!(screen.contains("OPENAI_API_KEY=********"), "{screen}");
    assert!(!dir.exists(), "nothing is written before Install");
    let saved_path = tmp.path().join("litellm-stack-answers.yaml");
    let notice = app.notice.as_ref().map(|n| n.text(Lang::En)).unwrap_or_default();
    assert!(
        notice.contains(&format!("--answers {} --yes", saved_path.display())),
        "the notice gives the real path to replay: {notice}"
    );
    let saved = std::fs::read_to_string(&saved_path).expect("saved answers");
    assert!(saved.contains("OPENAI_API_KEY"), "{saved}");
    assert!(!saved.contains("sk-openai-typed"), "saved answers hold no secret");
    let replayed = Answers::parse(Path::new("saved.yaml"), &saved).expect("the saved answers load");
    assert_eq!(replayed.dir, dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_never_waits_behind_a_flood_of_install_events() {
    use litellm_stack::tui::runtime::{Effects, run_app};
    struct NoEffects;
    impl Effects for NoEffects {
        fn run(&mut self, _: Cmd) {}
    }
    let mut app = new_app(Lang::En);
    app.screen = Screen::Progress;
    let (mut inbox, input, feed) = litellm_stack::tui::Inbox::new();
    const FLOOD: u64 = 100_000;
    for i in 1..=FLOOD {
        feed.send(Msg::Install(Event::Pull {
            image: "postgres:16.8".into(),
            layers_done: 1,
            layers_total: 2,
            bytes_done: i,
            bytes_total: FLOOD,
            status: "Downloading".into(),
        }))
        .expect("feed");
    }
    input.send(Msg::Key(Key::Char('q'))).expect("input");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    run_app(&mut terminal, &mut app, &mut inbox, &mut NoEffects)
        .await
        .expect("loop");
    assert!(app.ending.is_some(), "q was handled");
    let handled = app.progress.pulls.first().map_or(0, |p| p.bytes_done);
    assert!(handled < 1_000, "the key waited behind {handled} events");
}

// ---------------------------------------------------- a newcomer's first hour (issue 14)

/// The raw port check of the install's preflight for a port another program holds.
fn port_taken(port: u16, field: &'static str) -> Check {
    Check {
        name: msg!("wizard.check.port").arg("port", port),
        status: CheckStatus::Fail,
        summary: msg!("wizard.check.port.in_use"),
        fix: Some(msg!("wizard.fix.port_taken").arg("cmd", format!("sudo ss -ltnp 'sport = :{port}'"))),
        error: Some(Error::environment(
            msg!("engine.preflight.port_taken")
                .arg("port", port)
                .arg("field", field),
        )),
        field: Some(field),
    }
}

/// Every check passes but port 80, which another program holds.
fn port_80_taken() -> Vec<Check> {
    let mut c = sample_checks();
    c[3] = port_taken(80, "ports.nginx");
    litellm_stack::steps::preflight::for_wizard(c)
}

#[test]
fn a_taken_port_is_a_warning_on_the_checklist_and_p_opens_the_ports_screen() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Welcome);
    key(&mut app, Key::Enter);
    update(&mut app, Msg::PreflightDone(port_80_taken()));
    assert_eq!(app.preflight.checks[3].status, CheckStatus::Warn);
    let screen = draw(&app);
    assert!(screen.contains("! Port 80") && screen.contains("press p"), "{screen}");
    // p: the ports screen, the taken port's field focused; the user types another one.
    key(&mut app, Key::Char('p'));
    assert_eq!(app.screen, Screen::Ports);
    assert_eq!(app.ports.field(), PortsField::NginxPort);
    assert!(draw(&app).contains("back to the checklist"), "{}", draw(&app));
    clear_field(&mut app);
    type_text(&mut app, "8088");
    // Enter goes back to the checklist, checked again with the new port.
    let cmds = key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Preflight);
    let [Cmd::Preflight(checked)] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(checked.ports.nginx, 8088);
    update(&mut app, Msg::PreflightDone(sample_checks()));
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Directory, "{:?}", app.error);
}

#[test]
fn a_taken_port_never_traps_the_checklist() {
    // Enter goes on with the warning: the port is the ports screen's business.
    let mut app = new_app(Lang::ZhTw);
    walk_to(&mut app, Screen::Welcome);
    key(&mut app, Key::Enter);
    update(&mut app, Msg::PreflightDone(port_80_taken()));
    key(&mut app, Key::Enter);
    assert_eq!(app.screen, Screen::Directory, "{:?}", app.error);
}

#[test]
fn the_ports_are_checked_again_before_the_review_and_a_taken_one_keeps_the_user_there() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Ports);
        let cmds = key(&mut app, Key::Enter);
        let [Cmd::CheckPorts(answers)] = cmds.as_slice() else {
            panic!("{cmds:?}")
        };
        assert_eq!(answers.ports.nginx, 80);
        assert!(draw(&app).contains(&litellm_stack::i18n::t(
            lang,
            litellm_stack::key!("newcomer.ports.checking")
        )));
        // Enter again while it checks asks nothing more.
        assert!(key(&mut app, Key::Enter).is_empty());
        let cmds = update(&mut app, Msg::PortsChecked(vec![port_taken(80, "ports.nginx")]));
        assert!(cmds.is_empty(), "{cmds:?}");
        assert_eq!(app.screen, Screen::Ports);
        assert_eq!(app.ports.field(), PortsField::NginxPort);
        assert_eq!(app.error.as_ref().map(|e| e.key), Some("newcomer.ports.blocked"));
        snapshot("6_ports_taken", lang, &app);
        clear_field(&mut app);
        type_text(&mut app, "8088");
        let cmds = enter_on_ports(&mut app);
        assert_eq!(app.screen, Screen::Review);
        let [Cmd::PrepareReview { answers, .. }] = cmds.as_slice() else {
            panic!("{cmds:?}")
        };
        assert_eq!(answers.ports.nginx, 8088);
    });
}

#[test]
fn the_fix_texts_on_the_checklist_speak_of_the_wizard_not_the_answers_file() {
    for lang in Lang::ALL {
        let mut app = new_app(lang);
        walk_to(&mut app, Screen::Welcome);
        key(&mut app, Key::Enter);
        update(&mut app, Msg::PreflightDone(port_80_taken()));
        let screen = draw(&app);
        assert!(
            !screen.contains("ports.nginx") && !screen.contains("answers"),
            "{screen}"
        );
    }
}

#[test]
fn quitting_after_a_failed_check_is_not_a_success() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Welcome);
    key(&mut app, Key::Enter);
    update(&mut app, Msg::PreflightDone(failing_checks()));
    key(&mut app, Key::Char('q'));
    assert_eq!(app.ending, Some(litellm_stack::tui::app::Ending::QuitAfterFailedCheck));
    // A port warning alone is not a failed check.
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Welcome);
    key(&mut app, Key::Enter);
    update(&mut app, Msg::PreflightDone(port_80_taken()));
    key(&mut app, Key::Char('q'));
    assert_eq!(app.ending, Some(litellm_stack::tui::app::Ending::QuitBeforeStart));
}

#[test]
fn the_done_screen_asks_only_for_the_keys_still_missing_with_the_real_dir() {
    let mut app = new_app(Lang::En);
    let mut report = sample_report();
    report.dir = PathBuf::from("/srv/team gateway");
    update(&mut app, Msg::InstallFinished(Ok(report.clone())));
    let screen = draw(&app);
    assert!(
        !screen.contains("provider key") && !screen.contains("Still empty"),
        "{screen}"
    );
    assert!(
        screen.contains("litellm-stack status --dir '/srv/team gateway'"),
        "{screen}"
    );
    report.missing_keys = vec!["ANTHROPIC_API_KEY".into()];
    update(&mut app, Msg::InstallFinished(Ok(report)));
    let screen = draw(&app);
    assert!(screen.contains("Still empty in .env: ANTHROPIC_API_KEY"), "{screen}");
}

/// The character drawn at display column `col` of `row` (a wide character counts two).
fn char_at(row: &str, col: usize) -> Option<char> {
    let mut x = 0;
    for c in row.chars() {
        if x == col {
            return Some(c);
        }
        x += ratatui::text::Span::raw(c.to_string()).width();
        if x > col {
            return None;
        }
    }
    None
}

/// The pop-up titled `title` on `screen` keeps its four corners and both borders on every
/// row, each at one column.
fn assert_popup_whole(name: &str, title: &str, screen: &str) {
    let rows: Vec<&str> = screen.lines().collect();
    let top = rows
        .iter()
        .position(|l| l.contains(&format!("┌ {title} ")))
        .unwrap_or_else(|| panic!("{name}: the title's row with its corner\n{screen}"));
    let width = |s: &str| ratatui::text::Span::raw(s).width();
    let t = rows[top];
    let corner = t.find(&format!("┌ {title} ")).expect("title");
    let left = width(&t[..corner]);
    let after = corner
        + t[corner..]
            .find('┐')
            .unwrap_or_else(|| panic!("{name}: top right corner\n{screen}"));
    let right = width(&t[..after]);
    let bottom = (top + 1..rows.len())
        .find(|y| char_at(rows[*y], left) == Some('└'))
        .unwrap_or_else(|| panic!("{name}: bottom left corner at column {left}\n{screen}"));
    assert_eq!(
        char_at(rows[bottom], right),
        Some('┘'),
        "{name}: bottom right corner\n{screen}"
    );
    for (y, row) in rows.iter().enumerate().take(bottom).skip(top + 1) {
        assert!(
            char_at(row, left) == Some('│') && char_at(row, right) == Some('│'),
            "{name}: row {y} lost a border: {row:?}\n{screen}"
        );
    }
}

fn help_title(lang: Lang) -> String {
    litellm_stack::i18n::t(lang, litellm_stack::key!("wizard.help.title"))
}

#[test]
fn popups_over_cjk_screens_keep_their_borders() {
    // An install folder with a Chinese name, so the English screens have wide characters too.
    let cjk_dir = "/home/ada/團隊閘道";
    for lang in Lang::ALL {
        for (w, h) in [(80u16, 24u16), (60, 20)] {
            let size = format!("{w}x{h}");
            // Help over the welcome screen, and over the folder screen (F1: it is a text field).
            let mut app = new_app(lang);
            update(&mut app, Msg::Resize(w, h));
            walk_to(&mut app, Screen::Welcome);
            key(&mut app, Key::Char('?'));
            let s = draw_at(&app, w, h);
            assert_popup_whole("help over welcome", &help_title(lang), &s);
            insta::assert_snapshot!(format!("popup_help_welcome_{size}__{}", lang.code()), s);

            let mut app = App::new(lang, Os::Linux, base_answers(), Some(new_dir_info(HOME_DIR)));
            app.directory.input = litellm_stack::tui::input::TextInput::new(cjk_dir.to_string());
            update(&mut app, Msg::Resize(w, h));
            walk_to(&mut app, Screen::Directory);
            key(&mut app, Key::F(1));
            let s = draw_at(&app, w, h);
            assert_popup_whole("help over the folder", &help_title(lang), &s);
            insta::assert_snapshot!(format!("popup_help_directory_{size}__{}", lang.code()), s);

            // The quit dialog over the running install, its log naming the folder.
            let mut app = new_app(lang);
            update(&mut app, Msg::Resize(w, h));
            walk_to(&mut app, Screen::Review);
            let data = review_from_workspace(&app);
            update(&mut app, Msg::ReviewReady(Ok(data)));
            keys_to_install(&mut app);
            for e in progress_events() {
                update(&mut app, Msg::Install(e));
            }
            update(
                &mut app,
                Msg::Install(Event::Log {
                    service: "postgres".into(),
                    line: format!("資料庫系統已準備好接受連線 {cjk_dir}/pg_data 資料目錄的擁有者"),
                }),
            );
            key(&mut app, Key::Char('q'));
            let s = draw_at(&app, w, h);
            assert_popup_whole(
                "quit over progress",
                &litellm_stack::i18n::t(lang, litellm_stack::key!("wizard.quit.title")),
                &s,
            );
            insta::assert_snapshot!(format!("popup_quit_progress_{size}__{}", lang.code()), s);
        }
    }
}

#[test]
fn the_file_viewer_marks_a_line_it_had_to_cut() {
    let mut app = new_app(Lang::ZhTw);
    walk_to(&mut app, Screen::Review);
    let data = review_from_workspace(&app);
    let compose = data
        .files
        .iter()
        .position(|f| f.path == "docker-compose.yml")
        .expect("compose");
    let longest = data.files[compose]
        .shown
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    update(&mut app, Msg::ReviewReady(Ok(data)));
    app.review.selected = compose;
    key(&mut app, Key::Enter);
    assert_eq!(app.review.viewing, Some(0));
    update(&mut app, Msg::Resize(40, 20));
    let mut seen = String::new();
    for _ in 0..40 {
        seen.push_str(&draw_at(&app, 40, 20));
        key(&mut app, Key::PageDown);
    }
    assert!(longest > 38, "a line longer than the viewer: {longest}");
    assert!(seen.contains("│↪ "), "a cut line is marked:\n{seen}");
}

#[test]
fn the_done_screen_scrolls_on_a_small_terminal() {
    each_lang(|lang| {
        let mut app = new_app(lang);
        update(&mut app, Msg::Resize(60, 20));
        update(&mut app, Msg::InstallFinished(Ok(sample_report())));
        let more = litellm_stack::i18n::t(lang, litellm_stack::key!("newcomer.done.more"));
        let s = draw_at(&app, 60, 20);
        assert!(s.contains(&more), "{s}");
        assert!(!s.contains("logs --dir"), "{s}");
        for _ in 0..3 {
            key(&mut app, Key::PageDown);
        }
        let s = draw_at(&app, 60, 20);
        assert!(s.contains("logs --dir /home/ada/litellm") && !s.contains(&more), "{s}");
        insta::assert_snapshot!(format!("9_done_60x20_scrolled__{}", lang.code()), s);
    });
}

#[test]
fn a_port_taken_at_install_time_is_fixed_in_the_wizard_not_the_answers_file() {
    let mut app = new_app(Lang::En);
    walk_to(&mut app, Screen::Review);
    let data = review_from_workspace(&app);
    update(&mut app, Msg::ReviewReady(Ok(data)));
    keys_to_install(&mut app);
    let error = litellm_stack::steps::preflight::port_error(
        "ports.nginx",
        8080,
        &litellm_stack::steps::preflight::PortHolder::Other,
        "0.0.0.0",
        Os::Linux,
    )
    .expect("an error");
    update(
        &mut app,
        Msg::Install(Event::StepFailed {
            step: StepId::Preflight,
            error: error.clone(),
            logs: Vec::new(),
        }),
    );
    update(&mut app, Msg::InstallFinished(Err(error)));
    assert_eq!(app.screen, Screen::Failed);
    let text = draw(&app);
    assert!(
        text.contains("then 6") && text.contains("sudo ss -ltnp 'sport = :8080'"),
        "{text}"
    );
    assert!(!text.contains("answers file") && !text.contains("netstat"), "{text}");
    // Printed after the wizard ends, the error keeps the fix that works outside it.
    let kept = app.failure.as_ref().and_then(|f| f.error.hint.clone()).expect("a hint");
    assert!(kept.text(Lang::En).contains("answers file"));
}

#[test]
fn upgrade_to_the_pinned_version_shows_its_plan_asks_then_runs_on_the_progress_screen() {
    use litellm_stack::tui::app::{PlannedChange, UpgradeAsk};
    for lang in [Lang::En, Lang::ZhTw] {
        let (from, to) = (
            "docker.litellm.ai/berriai/litellm:v1.106.12".to_string(),
            "docker.litellm.ai/berriai/litellm:v1.108.7".to_string(),
        );
        let mut app = at_install_running(lang, "/srv/team", Some((&from, &to)));
        // Field → Update → Backup → Upgrade.
        keys(&mut app, &[Key::Tab, Key::Tab, Key::Tab]);
        assert_eq!(app.directory.focus, DirFocus::Upgrade);
        let cmds = key(&mut app, Key::Enter);
        let dir = PathBuf::from("/srv/team");
        assert_eq!(
            cmds,
            vec![Cmd::PlanUpgrade {
                dir: dir.clone(),
                litellm: to.clone()
            }]
        );
        update(
            &mut app,
            Msg::UpgradePlanned(Ok(vec![PlannedChange {
                service: "litellm".into(),
                from: from.clone(),
                to: to.clone(),
            }])),
        );
        assert!(matches!(app.directory.upgrade, UpgradeAsk::Confirm(_)));
        let words = draw_at(&app, 80, 40).split_whitespace().collect::<Vec<_>>().join(" ");
        let (title, cancel) = match lang {
            Lang::En => ("recreate only these services", "Esc cancels"),
            _ => ("升級只會重建以下服務", "按 Esc 取消"),
        };
        assert!(words.contains(title) && words.contains(cancel), "{words}");
        // Esc cancels; the screen stays, nothing runs.
        assert!(key(&mut app, Key::Esc).is_empty());
        assert_eq!(
            (app.screen, &app.directory.upgrade),
            (Screen::Directory, &UpgradeAsk::Idle)
        );
        key(&mut app, Key::Enter);
        update(
            &mut app,
            Msg::UpgradePlanned(Ok(vec![PlannedChange {
                service: "litellm".into(),
                from: from.clone(),
                to: to.clone(),
            }])),
        );
        let cmds = key(&mut app, Key::Enter);
        assert_eq!(
            cmds,
            vec![Cmd::StartUpgrade {
                dir,
                litellm: to.clone()
            }]
        );
        assert_eq!(app.screen, Screen::Progress);
        assert!(draw(&app).contains(match lang {
            Lang::En => "Upgrading",
            _ => "升級中",
        }));
        // The rollback's step shows once it starts.
        update(&mut app, Msg::Install(Event::StepStarted(StepId::Rollback)));
        assert!(app.progress.steps.iter().any(|r| r.id == StepId::Rollback));
        // It fails and rolls back: the failure screen says "upgrade", and Esc goes back to the
        // directory screen (which looks at the install again), not to an install's review.
        let cause = litellm_stack::error::Error::failed(
            litellm_stack::msg!("health.error.not_ready")
                .arg("timeout", "300 s")
                .arg("attempts", 150)
                .arg(
                    "state",
                    "nothing is listening at http://127.0.0.1:4000 yet (connection refused)",
                ),
        );
        let error = litellm_stack::error::Error::failed(
            litellm_stack::msg!("upgrade.error.rolled_back")
                .arg("to", &to)
                .nested("cause", cause.what),
        );
        update(&mut app, Msg::InstallFinished(Err(error)));
        assert_eq!(app.screen, Screen::Failed);
        let text = draw(&app);
        let (title, esc, review) = match lang {
            Lang::En => (
                "Upgrade failed",
                "Esc back to the install folder screen",
                "back to the review",
            ),
            _ => ("升級失敗", "Esc 回到安裝資料夾畫面", "回到確認畫面"),
        };
        assert!(
            text.contains(title) && text.contains(esc) && !text.contains(review),
            "{text}"
        );
        assert_eq!(
            key(&mut app, Key::Esc),
            vec![Cmd::InspectDir(PathBuf::from("/srv/team"))]
        );
        assert_eq!(
            (app.screen, app.upgrade_run, app.failure.is_none()),
            (Screen::Directory, false, true)
        );
    }
}
