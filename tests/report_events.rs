//! The JSON lines of every command follow one schema (`docs/events.schema.json`), in both
//! languages, each message with its catalog key; a failure read as text says what went
//! wrong, why and what to do. Checked on the printer's own output and on the real binary's
//! `install --json` and `verify --json`.

mod common;

use std::path::Path;

use common::{bin, free_port};
use litellm_stack::error::Error;
use litellm_stack::i18n::Lang;
use litellm_stack::msg;
use litellm_stack::report::{StepStyle, Stream, Verified, json, text};
use litellm_stack::steps::{Event, StepId};
use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json");
    let text = std::fs::read_to_string(&path).expect("docs/events.schema.json");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("the schema is a valid JSON Schema")
}

fn assert_valid(schema: &jsonschema::Validator, line: &Value) {
    let problems: Vec<String> = schema
        .iter_errors(line)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(problems.is_empty(), "{line}\n{}", problems.join("\n"));
}

/// The real failure of a step: readiness ran out of time; the last state says why.
fn readiness_failure() -> Error {
    Error::failed(
        msg!("health.error.not_ready")
            .arg("timeout", "2.0 s")
            .arg("attempts", 6)
            .arg(
                "state",
                "nothing is listening at http://127.0.0.1:80 yet (connection refused)",
            ),
    )
    .hint(msg!("health.hint.refused"))
}

/// The real failure of preflight: no engine where DOCKER_HOST points; the engine's own words
/// say why.
fn engine_failure() -> Error {
    Error::environment(
        msg!("engine.connect.failed")
            .arg("endpoint", "unix:///tmp/no.sock")
            .arg("why", "there is no engine socket there"),
    )
    .detail("Socket not found: /tmp/no.sock")
    .hint(
        msg!("engine.connect.hint.docker_host")
            .arg("endpoint", "unix:///tmp/no.sock")
            .arg("unset", "unset DOCKER_HOST")
            .arg("start", "Start Docker."),
    )
}

/// One of each variant. The match makes a new variant a compile error here until it has an
/// example.
fn every_event() -> Vec<Event> {
    let events = vec![
        Event::StepStarted(StepId::Readiness),
        Event::StepProgress {
            step: StepId::Readiness,
            msg: msg!("health.attempt")
                .arg("n", 1)
                .arg("elapsed", "0.0 s")
                .arg("state", "starting"),
        },
        Event::StepDone {
            step: StepId::Readiness,
            msg: Some(msg!("engine.readiness.done").arg("elapsed", "3.2 s")),
        },
        Event::StepDone {
            step: StepId::ApiTest,
            msg: None,
        },
        Event::StepFailed {
            step: StepId::Readiness,
            error: readiness_failure(),
            logs: vec!["litellm | ERROR: config.yaml: bad model_list".into()],
        },
        Event::Pull {
            image: "docker.io/library/redis:7.4".into(),
            layers_done: 3,
            layers_total: 6,
            bytes_done: 12 << 20,
            bytes_total: 40 << 20,
            status: "Downloading".into(),
        },
        Event::Log {
            service: "litellm".into(),
            line: "INFO: Application startup complete.".into(),
        },
        Event::LogOpened("/home/ada/litellm/logs/install-20261201-230000.log".into()),
        Event::Warning(msg!("warn.env_crlf")),
    ];
    for e in &events {
        match e {
            Event::StepStarted(_)
            | Event::StepProgress { .. }
            | Event::StepDone { .. }
            | Event::StepFailed { .. }
            | Event::Pull { .. }
            | Event::Log { .. }
            | Event::LogOpened(_)
            | Event::Warning(_) => {}
        }
    }
    events
}

/// The catalog keys of a line: `code`, `hint_code`, and those of nested messages.
fn codes(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "code" || k == "hint_code" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                } else {
                    out.extend(codes(v));
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| out.extend(codes(v))),
        _ => {}
    }
    out
}

#[test]
fn every_event_in_both_languages_fits_the_schema_and_names_its_catalog_key() {
    let schema = schema();
    for lang in Lang::ALL {
        for e in every_event() {
            let line = json::event(&e, lang);
            assert_valid(&schema, &line);
            let name = line["event"].as_str().expect("event name");
            let carries_text = !matches!(
                e,
                Event::Pull { .. } | Event::Log { .. } | Event::LogOpened(_) | Event::StepDone { msg: None, .. }
            );
            if carries_text {
                let codes = codes(&line);
                assert!(!codes.is_empty(), "{name} has no code: {line}");
                for c in codes {
                    assert!(
                        litellm_stack::i18n::catalog(lang).contains_key(&c),
                        "{name}: {c} is not a catalog key"
                    );
                }
            }
        }
    }
}

#[test]
fn codes_stay_the_same_across_languages_where_the_text_changes() {
    let failed = every_event()
        .into_iter()
        .find(|e| matches!(e, Event::StepFailed { .. }))
        .expect("a failure");
    let (en, zh) = (json::event(&failed, Lang::En), json::event(&failed, Lang::ZhTw));
    assert_eq!(en["code"], "health.error.not_ready");
    assert_eq!(en["hint_code"], "health.hint.refused");
    assert_eq!((&en["code"], &en["hint_code"]), (&zh["code"], &zh["hint_code"]));
    assert_ne!(en["error"], zh["error"]);
    assert_eq!(en["step"], "readiness");
    assert_eq!(en["exit"], 1);
}

#[test]
fn an_error_outside_the_steps_and_the_verify_results_fit_the_schema() {
    let schema = schema();
    let bad_flag =
        Error::input(msg!("health.error.timeout_flag").arg("value", "0s")).hint(msg!("health.hint.timeout_flag"));
    let checks = vec![litellm_stack::howto::HandCheck {
        what: msg!("health.howto.readiness").arg("url", "http://127.0.0.1:80"),
        command: "curl -sS http://127.0.0.1:80/health/readiness".into(),
    }];
    let verified = Verified {
        attempts: 3,
        proxy_version: Some("1.74.9".into()),
        models: vec!["smoke-test".into()],
        smoke_answer: Some("pong".into()),
        warnings: vec![msg!("warn.env_crlf")],
        ..Verified::default()
    };
    for lang in Lang::ALL {
        let line = json::error(None, &bad_flag, &[], lang);
        assert_valid(&schema, &line);
        assert_eq!((line["step"].clone(), line["exit"].clone()), (Value::Null, 2.into()));
        for shell in [
            litellm_stack::platform::Shell::Bash,
            litellm_stack::platform::Shell::PowerShell,
        ] {
            assert_valid(&schema, &json::hand_checks(shell, &checks, lang));
        }
        let v = json::verified(&verified, lang);
        assert_valid(&schema, &v);
        assert_eq!(v["code"], "health.verify.ready");
    }
}

#[test]
fn a_failure_as_text_says_what_why_and_what_to_do_on_stderr() {
    let e = engine_failure();
    let failed = Event::StepFailed {
        step: StepId::Preflight,
        error: e.clone(),
        logs: vec!["litellm | ERROR: bad model_list".into()],
    };
    for lang in Lang::ALL {
        for style in [StepStyle::Numbered, StepStyle::Checks] {
            let lines = text::event(&failed, lang, style);
            assert!(lines.iter().all(|l| l.stream == Stream::Err), "{lines:?}");
            let all: String = lines.iter().map(|l| format!("{}\n", l.text)).collect();
            let what = e.what.text(lang);
            let fix = format!(
                "{}{}",
                msg!("label.fix").text(lang),
                e.hint.as_ref().expect("hint").text(lang)
            );
            assert!(all.contains(&what), "{style:?} {lang}: no what in\n{all}");
            assert!(all.contains("Socket not found: /tmp/no.sock"), "no why in\n{all}");
            assert!(all.contains(&fix), "no fix in\n{all}");
            assert!(all.contains("  | litellm | ERROR: bad model_list"), "no logs in\n{all}");
        }
    }
    let numbered = text::event(&failed, Lang::En, StepStyle::Numbered);
    assert!(numbered[0].text.starts_with("    ✗ "), "{numbered:?}");
    let checks = text::event(&failed, Lang::En, StepStyle::Checks);
    assert!(checks[0].text.starts_with("Error: "), "{checks:?}");
}

#[test]
fn install_steps_are_numbered_and_verify_checks_are_not() {
    let started = Event::StepStarted(StepId::Readiness);
    assert_eq!(
        text::event(&started, Lang::En, StepStyle::Numbered)[0].text,
        "[8/9] F. Wait for /health/readiness"
    );
    assert_eq!(
        text::event(&started, Lang::En, StepStyle::Checks)[0].text,
        "F. Wait for /health/readiness"
    );
    let done = Event::StepDone {
        step: StepId::ApiTest,
        msg: None,
    };
    assert!(text::event(&done, Lang::En, StepStyle::Checks).is_empty());
    assert_eq!(text::event(&done, Lang::En, StepStyle::Numbered).len(), 1);
}

/// Each stdout line as JSON, every one valid per the schema.
fn json_lines(schema: &jsonschema::Validator, stdout: &[u8]) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    for l in &lines {
        assert_valid(schema, l);
    }
    lines
}

fn names(lines: &[Value]) -> Vec<&str> {
    lines.iter().filter_map(|l| l["event"].as_str()).collect()
}

#[test]
fn verify_json_against_no_running_stack_emits_step_events_then_the_failure() {
    let schema = schema();
    let dir = tempfile::tempdir().expect("tempdir");
    let (nginx, proxy) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("answers.yaml"),
        format!("ports: {{nginx: {nginx}, litellm: {proxy}}}\nservices: {{nginx: true, prometheus: false}}\n"),
    )
    .expect("answers");
    std::fs::write(
        dir.path().join(".env"),
        "LITELLM_MASTER_KEY=sk-verifytestkey0123456789abcdef0123456789\n",
    )
    .expect(".env");
    let out = bin()
        .args(["verify", "--json", "--timeout", "1s", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "JSON mode writes nothing on stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&schema, &out.stdout);
    let names = names(&lines);
    assert_eq!(names.first(), Some(&"step_started"), "{stdout}");
    assert_eq!(lines[0]["step"], "readiness");
    assert!(names.contains(&"step_progress"), "{stdout}");
    assert!(names.contains(&"hand_checks"), "{stdout}");
    let last = lines.last().expect("a last line");
    assert_eq!(last["event"], "step_failed", "{stdout}");
    assert_eq!(
        (last["step"].as_str(), last["exit"].as_i64()),
        (Some("readiness"), Some(1))
    );
    assert_eq!(last["code"], "health.error.not_ready");
    assert!(!stdout.contains("sk-verifytestkey"));
}

#[test]
fn install_json_without_an_engine_emits_the_preflight_failure_with_exit_3() {
    let schema = schema();
    let tmp = tempfile::tempdir().expect("tempdir");
    let socket = tmp.path().join("no-engine.sock");
    let dir = tmp.path().join("litellm");
    let out = bin()
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .args(["install", "--json", "--dir"])
        .arg(&dir)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "JSON mode writes nothing on stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&schema, &out.stdout);
    let last = lines.last().unwrap_or_else(|| panic!("no JSON line in {stdout:?}"));
    assert_eq!(last["event"], "step_failed", "{stdout}");
    // Reaching the engine is preflight's first check; it fails before the step's other
    // checks run, so the line may name no step yet.
    assert!(last["step"].is_null() || last["step"] == "preflight", "{last}");
    assert_eq!(
        (last["exit"].as_i64(), last["code"].as_str()),
        (Some(3), Some("engine.connect.failed"))
    );
    assert!(last["hint_code"].is_string(), "{last}");
    assert!(!dir.exists(), "a failed preflight leaves nothing behind");
}

#[test]
fn the_schema_refuses_the_old_verify_progress_line_and_a_message_without_its_code() {
    let schema = schema();
    let old = serde_json::json!({"event": "progress", "step": "readiness", "message": "attempt 1"});
    assert!(!schema.is_valid(&old), "the old name must not pass");
    let mut uncoded = json::event(&Event::Warning(msg!("warn.env_crlf")), Lang::En);
    uncoded.as_object_mut().expect("an object").remove("code");
    assert!(!schema.is_valid(&uncoded), "a message without its code must not pass");
}

// ------------------------------------------- display widths: status and plan (issue 14)

fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// A stack as `status` finds it after an install: every service up, nginx on two ports.
fn running_services() -> Vec<litellm_stack::steps::status::ServiceStatus> {
    use litellm_stack::engine::{Health, State};
    let svc = |name: &str, image: &str, ports: &[&str], health: Health, restarts: i64| {
        litellm_stack::steps::status::ServiceStatus {
            service: name.into(),
            container: Some(format!("stack1-{name}-1")),
            state: Some(State::Running),
            health: Some(health),
            image: image.into(),
            ports: ports.iter().map(|p| p.to_string()).collect(),
            restarts,
        }
    };
    vec![
        svc("postgres", "postgres:16.8", &[], Health::Healthy, 0),
        svc("redis", "redis:7.4-alpine", &[], Health::Healthy, 0),
        svc(
            "litellm",
            "docker.litellm.ai/berriai/litellm:v1.83.0-stable",
            &["127.0.0.1:4000->4000"],
            Health::Starting,
            2,
        ),
        svc(
            "nginx",
            "nginx:1.27-alpine",
            &["0.0.0.0:80->80", "0.0.0.0:65535->443"],
            Health::None,
            0,
        ),
        svc(
            "prometheus",
            "prom/prometheus:v3.2.1",
            &["127.0.0.1:9090->9090"],
            Health::None,
            0,
        ),
    ]
}

#[test]
fn status_lines_up_by_display_width_within_80_columns_in_both_languages() {
    let mut answers = litellm_stack::answers::Answers::defaults_for(litellm_stack::platform::Os::Linux);
    answers.dir = "/home/ada/litellm-stack1".into();
    answers.project = Some("stack1".into());
    let stack = litellm_stack::stack::Stack::from_answers(&answers, litellm_stack::platform::Os::Linux);
    for lang in Lang::ALL {
        let lines = litellm_stack::commands::stack::status_lines(&stack, &running_services(), lang);
        for l in &lines {
            assert!(width(l) <= 80, "{} columns: {l:?}", width(l));
        }
        // The PORTS column starts at the same display column on the header and every row.
        let header = &lines[1];
        let ports_title = msg!("engine.status.col.ports").text(lang);
        let col = width(&header[..header.find(&ports_title).expect("PORTS header")]);
        for l in lines.iter().filter(|l| l.contains("->")) {
            let at = l.find("->").expect("a port");
            let start = l[..at].rfind(' ').map_or(0, |i| i + 1);
            assert_eq!(width(&l[..start]), col, "{l:?}\n{}", lines.join("\n"));
        }
        insta::assert_snapshot!(format!("status__{}", lang.code()), lines.join("\n"));
    }
}

#[test]
fn plan_in_chinese_lines_up_by_display_width_within_80_columns() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("stack");
    let answers = root.path().join("answers.yaml");
    std::fs::write(&answers, format!("dir: {}\nports:\n  nginx: 8080\n", dir.display())).expect("answers");
    let out = bin()
        .args(["render", "--answers"])
        .arg(&answers)
        .output()
        .expect("render");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Another port: config and compose change; plan shows the diffs and writes nothing.
    std::fs::write(&answers, format!("dir: {}\nports:\n  nginx: 8081\n", dir.display())).expect("answers");
    let out = bin()
        .args(["plan", "--lang", "zh-TW", "--answers"])
        .arg(&answers)
        .output()
        .expect("plan");
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&root.path().display().to_string(), "<tmp>");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for l in stdout.lines() {
        assert!(width(l) <= 80, "{} columns: {l:?}", width(l));
    }
    // The paths after the change words start at one display column.
    let cols: Vec<usize> = stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| {
            let path = l.trim_start().find(' ').expect("a path") + 2;
            let rest = &l[path..];
            width(&l[..path + (rest.len() - rest.trim_start().len())])
        })
        .collect();
    assert!(
        cols.len() >= 5 && cols.windows(2).all(|w| w[0] == w[1]),
        "{cols:?}\n{stdout}"
    );
    insta::assert_snapshot!("plan__zh-TW", stdout);
}

// ------------------------------------------------- day-2 commands and the language (issue 14)

#[test]
fn day_two_commands_on_a_folder_without_an_install_say_so_and_exit_2() {
    let root = tempfile::tempdir().expect("tempdir");
    let empty = root.path().join("nothing here");
    std::fs::create_dir_all(&empty).expect("mkdir");
    for args in [
        vec!["status"],
        vec!["logs"],
        vec!["verify", "--timeout", "1s"],
        vec!["down"],
    ] {
        let out = bin().args(&args).arg("--dir").arg(&empty).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("There is no install in {}", empty.display())),
            "{args:?}: {stderr}"
        );
        // The fix names the install command for that very folder, quoted for the shell.
        assert!(
            stderr.contains(&format!("install --dir '{}'", empty.display())),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing listed as missing");
    }
}

#[test]
fn the_answers_language_counts_unless_lang_says_otherwise() {
    let root = tempfile::tempdir().expect("tempdir");
    let answers = root.path().join("answers.yaml");
    std::fs::write(
        &answers,
        format!("dir: {}\nlanguage: zh-TW\n", root.path().join("stack").display()),
    )
    .expect("answers");
    // The locale is English (bin() sets LANG=en_US.UTF-8): the answers file wins over it…
    let out = bin().args(["plan", "--answers"]).arg(&answers).output().expect("plan");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("未寫入任何檔案"), "{stdout}");
    // …and --lang wins over the answers file.
    let out = bin()
        .args(["plan", "--lang", "en", "--answers"])
        .arg(&answers)
        .output()
        .expect("plan");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Nothing was written"), "{stdout}");
    // Without either, the locale.
    std::fs::write(&answers, format!("dir: {}\n", root.path().join("stack").display())).expect("answers");
    let out = bin().args(["plan", "--answers"]).arg(&answers).output().expect("plan");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nothing was written"));
}

/// Every check id doctor can report (the `pub const …: &str = "a.b"` of `src/steps/doctor/`,
/// and the per-service `container.<service>.running`) is named where the ids are promised
/// stable: the schema's `check` description and the README's table.
#[test]
fn every_doctor_check_id_is_listed_in_the_schema_and_the_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ids = vec!["container.<service>.running".to_string()];
    for entry in std::fs::read_dir(root.join("src/steps/doctor")).expect("src/steps/doctor") {
        let path = entry.expect("an entry").path();
        let text = std::fs::read_to_string(&path).expect("a source file");
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("pub const ") else {
                continue;
            };
            let Some((_, value)) = rest.split_once(": &str = \"") else {
                continue;
            };
            let id = value.trim_end_matches("\";");
            if id.contains('.') {
                ids.push(id.to_string());
            }
        }
    }
    assert!(ids.len() > 10, "the scan found only {ids:?}");
    let schema = std::fs::read_to_string(root.join("docs/events.schema.json")).expect("schema");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    for id in &ids {
        assert!(
            schema.contains(id),
            "docs/events.schema.json does not name doctor's check id {id}"
        );
        assert!(
            readme.contains(&format!("`{id}`")),
            "README.md does not name doctor's check id {id}"
        );
    }
}

/// Every way a service can come out of a run is a value the schema allows for `action`. The
/// match makes a new variant a compile error here until it is listed.
#[test]
fn every_service_action_is_in_the_schema() {
    use litellm_stack::steps::reconcile::ServiceAction::*;
    let all = [Created, Recreated, Started, Restarted, Unchanged, Reloaded];
    for a in all {
        match a {
            Created | Recreated | Started | Restarted | Unchanged | Reloaded => {}
        }
    }
    fn find_action_enum(v: &Value) -> Option<Vec<Value>> {
        match v {
            Value::Object(m) => {
                if let Some(list) = m.get("action").and_then(|a| a.get("enum")).and_then(Value::as_array) {
                    return Some(list.clone());
                }
                m.values().find_map(find_action_enum)
            }
            Value::Array(items) => items.iter().find_map(find_action_enum),
            _ => None,
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    let allowed = find_action_enum(&schema).expect("the schema has an enum for a service's action");
    for a in all {
        let v = serde_json::to_value(a).expect("serializes");
        assert!(
            allowed.contains(&v),
            "the schema's service actions {allowed:?} do not allow {v} ({a:?})"
        );
    }
}
