//! `doctor` on the real engine, against the whole SOP stack (LiteLLM on its Postgres, the
//! `litellm-db` image of `ci/setup.sh`, with Redis, nginx and Prometheus), installed once by the
//! binary. Healthy, every check passes and `doctor --json` lists them by id; then each fault of
//! the SOP's troubleshooting table is made for real (a stopped LiteLLM behind nginx, a `.env`
//! readable by others, CRLF in nginx.conf, a hand edit of config.yaml, the Redis and the
//! Postgres password changed in `.env`, a failed migration row, Prometheus's key file emptied,
//! a crash loop from a config.yaml broken by hand) and must turn its own check red, with its
//! fix, then is undone before the next. The support bundle of the healthy stack holds what a
//! helper needs and no secret; with secrets planted in `.env`, in a container's log line and in
//! `config.yaml`, none of their values is in any member and the redaction list names them;
//! `support-bundle --check` passes it and fails a tampered copy. Without an engine, exit 3.
//!
//! What it cannot prove: the Windows texts (PowerShell commands) on a real Windows engine, and
//! faults it does not make (an OOM kill: that verdict has unit tests).

#![cfg(unix)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::stack::{TestStack, docker, docker_ok, text};
use serde_json::Value;

/// The checks a healthy default stack must list, each passing.
const IDS: [&str; 22] = [
    "engine.reachable",
    "engine.group",
    "disk.free",
    "container.postgres.running",
    "container.redis.running",
    "container.litellm.running",
    "container.nginx.running",
    "container.prometheus.running",
    "nginx.upstream",
    "db.readiness",
    "db.login",
    "db.migrations",
    "redis.auth",
    "env.mode",
    "files.crlf",
    "files.drift",
    "images.lock",
    "env.master_key",
    "prometheus.target",
    "prometheus.key",
    "upgrade.journal",
    // Every line of the run, the last one included.
    "diagnosed",
];

struct Run {
    code: Option<i32>,
    lines: Vec<Value>,
    out: Output,
}

impl Run {
    fn checks(&self) -> BTreeMap<String, &Value> {
        self.lines
            .iter()
            .filter(|l| l["event"] == "check")
            .map(|l| (l["id"].as_str().expect("an id").to_string(), l))
            .collect()
    }
    fn with(&self, verdict: &str) -> BTreeSet<String> {
        self.checks()
            .into_iter()
            .filter(|(_, l)| l["verdict"] == verdict)
            .map(|(id, _)| id)
            .collect()
    }
    fn check(&self, id: &str) -> &Value {
        self.checks()
            .get(id)
            .copied()
            .unwrap_or_else(|| panic!("no check {id}:\n{}", text(&self.out)))
    }
}

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("a valid schema")
}

fn doctor(s: &TestStack, secrets: &[String]) -> Run {
    let out = s.cmd(&["doctor", "--json"]);
    let all = text(&out);
    for secret in secrets {
        assert!(!all.contains(secret.as_str()), "doctor printed a secret:\n{all}");
    }
    assert!(out.stderr.is_empty(), "doctor --json wrote to stderr:\n{all}");
    let schema = schema();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for l in &lines {
        let errors: Vec<String> = schema.iter_errors(l).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{l} breaks the schema: {errors:?}");
    }
    let last = lines.last().expect("at least one line");
    assert_eq!(last["event"], "diagnosed", "{all}");
    assert_eq!(last["exit"].as_i64().map(|c| c as i32), out.status.code(), "{all}");
    Run {
        code: out.status.code(),
        lines,
        out,
    }
}

/// Runs doctor until every check passes (a container restarted by a test takes its time).
fn until_healthy(s: &TestStack, secrets: &[String], what: &str) -> Run {
    until_healthy_but(s, secrets, what, &[])
}

/// [`until_healthy`], where the checks `may_warn` may also end as a warning.
fn until_healthy_but(s: &TestStack, secrets: &[String], what: &str, may_warn: &[&str]) -> Run {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let run = doctor(s, secrets);
        let not_passed: Vec<String> = run
            .checks()
            .iter()
            .filter(|(id, l)| l["verdict"] != "pass" && !(l["verdict"] == "warn" && may_warn.contains(&id.as_str())))
            .map(|(id, l)| format!("{id}: {} {}", l["verdict"], l["message"]))
            .collect();
        if run.code == Some(0) && not_passed.is_empty() {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "after {what}, doctor never came back to all passed: {not_passed:#?}\n{}",
            text(&run.out)
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// Runs doctor until check `id` has the message `code` (a fault that shows only after a
/// scrape or a few restarts).
fn until_code(s: &TestStack, secrets: &[String], id: &str, code: &str, what: &str) -> Run {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let run = doctor(s, secrets);
        if run.checks().get(id).is_some_and(|c| c["code"] == code) {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "after {what}, {id} never read {code}:\n{}",
            text(&run.out)
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// Runs doctor until check `id` fails.
fn until_failing(s: &TestStack, secrets: &[String], id: &str, what: &str) -> Run {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run = doctor(s, secrets);
        if run.with("fail").contains(id) {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "after {what}, {id} never failed:\n{}",
            text(&run.out)
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// The fault turned exactly `ids` red, with exit 1.
fn assert_fails_only(run: &Run, ids: &[&str], what: &str) {
    let want: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(run.code, Some(1), "{what}: exit\n{}", text(&run.out));
    assert_eq!(run.with("fail"), want, "{what}: the failed checks\n{}", text(&run.out));
}

fn fix_of<'a>(run: &'a Run, id: &str) -> (&'a str, &'a str) {
    let c = run.check(id);
    (
        c["fix_code"].as_str().unwrap_or_default(),
        c["fix"].as_str().unwrap_or_default(),
    )
}

#[test]
fn doctor_names_each_fault_of_the_sops_table_with_its_own_check_and_fix() {
    let s = TestStack::new("doctor");
    let out = s.install();
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    let env_path = s.dir().join(".env");
    let env = std::fs::read_to_string(&env_path).expect(".env");
    let mut secrets: Vec<String> = [
        "LITELLM_MASTER_KEY",
        "LITELLM_SALT_KEY",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
    ]
    .iter()
    .map(|k| s.env_value(k))
    .collect();
    // Prometheus's metrics-only key is a credential too: never in doctor's output.
    let metrics_key = std::fs::read_to_string(s.dir().join("prometheus/secrets/litellm_metrics_key")).expect("key");
    secrets.push(metrics_key.trim().to_string());

    // Healthy: every check passes, each listed by its id; the summary line is last.
    let run = until_healthy(&s, &secrets, "the install");
    let mut ids: BTreeSet<String> = run.checks().into_keys().collect();
    ids.insert("diagnosed".into());
    assert_eq!(ids, IDS.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    assert_eq!(
        run.check("db.readiness")["code"],
        "doctor.readiness.ok",
        "readiness with the database connected"
    );

    // The time a person waits, as text, in both languages.
    let mut took = Vec::new();
    for lang in ["en", "zh-TW"] {
        let started = Instant::now();
        let out = s.cmd(&["--lang", lang, "doctor"]);
        took.push(started.elapsed());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(stdout.contains("✓ nginx.upstream"), "{stdout}");
    }
    eprintln!(
        "doctor on the healthy stack (text): en {:?}, zh-TW {:?}",
        took[0], took[1]
    );
    assert!(
        took.iter().all(|t| *t < Duration::from_secs(10)),
        "doctor took {took:?} on a healthy stack"
    );

    // 1. LiteLLM stopped: nginx answers 502, and the fault is on LiteLLM's side.
    let litellm = s.container("litellm");
    docker_ok(&["stop", &litellm]);
    let run = doctor(&s, &secrets);
    assert_fails_only(
        &run,
        &["container.litellm.running", "nginx.upstream"],
        "litellm stopped",
    );
    let upstream = run.check("nginx.upstream");
    // nginx answers 502 at once, or holds the request while Docker's DNS looks for the
    // container that is gone: either way the LiteLLM side is named.
    let code = upstream["code"].as_str().unwrap_or_default();
    assert!(
        code == "doctor.upstream.litellm_side" || code == "doctor.upstream.litellm_side_slow",
        "{upstream}"
    );
    assert!(
        upstream["evidence"].to_string().contains("connection refused"),
        "the direct look at LiteLLM is part of the evidence: {upstream}"
    );
    let (code, fix) = fix_of(&run, "nginx.upstream");
    assert_eq!(code, "doctor.fix.start");
    assert!(fix.contains(&format!("docker start {litellm}")), "{fix}");
    assert_eq!(
        run.check("container.litellm.running")["code"],
        "doctor.container.stopped"
    );
    assert_eq!(run.check("db.readiness")["verdict"], "skip");
    // As a person reads it.
    let out = s.cmd(&["doctor"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    eprintln!("doctor with LiteLLM stopped:\n{}", String::from_utf8_lossy(&out.stdout));
    docker_ok(&["start", &litellm]);
    until_healthy(&s, &secrets, "litellm started again");

    // 2. `.env` readable by every account.
    chmod(&env_path, 0o644);
    let run = doctor(&s, &secrets);
    assert_fails_only(&run, &["env.mode"], ".env 0644");
    let (_, fix) = fix_of(&run, "env.mode");
    assert!(fix.contains(&format!("chmod 600 {}", env_path.display())), "{fix}");
    chmod(&env_path, 0o600);

    // 2b. An upgrade's journal left behind (a run killed while it pulled): doctor and status
    // name it and the re-run that settles it; that re-run removes it and changes nothing else.
    let journal = s.dir().join(".litellm-stack/upgrade.json");
    std::fs::create_dir_all(journal.parent().expect("parent")).expect("mkdir");
    let litellm = s.containers()["litellm"].clone();
    std::fs::write(
        &journal,
        r#"{"format": 1, "started": "20261204T143000.000000Z", "pid": 4194304, "phase": "preparing",
            "changes": [{"service": "litellm", "from": "litellm:old", "to": "litellm:new"}],
            "backup": null, "lock_before": null}"#,
    )
    .expect("write the journal");
    let run = doctor(&s, &secrets);
    assert_fails_only(&run, &["upgrade.journal"], "an unfinished upgrade");
    let (code, fix) = fix_of(&run, "upgrade.journal");
    assert_eq!(code, "doctor.fix.upgrade_unfinished");
    assert!(fix.contains("litellm-stack upgrade"), "{fix}");
    let out = s.cmd(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: Value = serde_json::from_slice(&out.stdout).expect("status --json");
    assert_eq!(status["upgrade"]["state"], "unfinished", "{status}");
    assert_eq!(status["upgrade"]["phase"], "preparing", "{status}");
    let out = s.cmd(&["status"]);
    assert!(
        text(&out).contains("An upgrade did not finish in this install"),
        "{}",
        text(&out)
    );
    let out = s.cmd(&["upgrade", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("nothing to undo"), "{}", text(&out));
    assert!(!journal.exists(), "the re-run left the journal");
    assert_eq!(s.containers()["litellm"], litellm, "the re-run recreated LiteLLM");
    let run = doctor(&s, &secrets);
    assert_eq!(run.check("upgrade.journal")["verdict"], "pass", "{}", text(&run.out));
    assert_eq!(run.code, Some(0), "{}", text(&run.out));
    let out = s.cmd(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).expect("status --json");
    assert!(status["upgrade"].is_null(), "{status}");

    // 3. CRLF in nginx.conf (a Windows editor), written in place as an editor saves.
    let nginx_conf = s.dir().join("nginx/nginx.conf");
    let conf = std::fs::read_to_string(&nginx_conf).expect("nginx.conf");
    std::fs::write(&nginx_conf, conf.replace('\n', "\r\n")).expect("write CRLF");
    let run = doctor(&s, &secrets);
    assert_fails_only(&run, &["files.crlf"], "CRLF in nginx.conf");
    let (code, fix) = fix_of(&run, "files.crlf");
    assert_eq!(code, "doctor.fix.crlf");
    assert!(
        fix.contains("sed -i 's/\\r$//'") && fix.contains(&format!("docker restart {}", s.container("nginx"))),
        "{fix}"
    );
    std::fs::write(&nginx_conf, &conf).expect("restore nginx.conf");

    // 4. A hand edit of config.yaml: drift from what the answers render.
    let config = s.dir().join("config.yaml");
    let yaml = std::fs::read_to_string(&config).expect("config.yaml");
    std::fs::write(
        &config,
        format!("{yaml}# tuned by hand\nrouter_settings: {{num_retries: 5}}\n"),
    )
    .expect("edit config.yaml");
    let run = doctor(&s, &secrets);
    assert_fails_only(&run, &["files.drift"], "config.yaml edited");
    let drift = run.check("files.drift");
    assert!(
        drift["message"].as_str().unwrap_or_default().contains("config.yaml"),
        "{drift}"
    );
    assert!(drift["evidence"].to_string().contains("+router_settings"), "{drift}");
    let (_, fix) = fix_of(&run, "files.drift");
    assert!(fix.contains(" plan") && fix.contains(" install"), "{fix}");
    std::fs::write(&config, &yaml).expect("restore config.yaml");

    // 5. The Redis password changed in .env: Redis still runs with the old one.
    let redis_pw = s.env_value("REDIS_PASSWORD");
    let new_redis = "newRedisPassword0123456789abcdef";
    std::fs::write(&env_path, env.replace(&redis_pw, new_redis)).expect("write .env");
    let mut with_new = secrets.clone();
    with_new.push(new_redis.into());
    let run = doctor(&s, &with_new);
    assert_fails_only(&run, &["redis.auth"], "REDIS_PASSWORD changed");
    assert_eq!(run.check("redis.auth")["code"], "doctor.redis.bad_password");
    let (code, fix) = fix_of(&run, "redis.auth");
    assert_eq!(code, "doctor.fix.redis_password");
    assert!(fix.contains(" install"), "{fix}");
    std::fs::write(&env_path, &env).expect("restore .env");

    // 6. The Postgres password changed in .env (both places that hold it) after pg_data was
    // made: Postgres keeps the first one (Prisma's P1000).
    let pg_pw = s.env_value("POSTGRES_PASSWORD");
    let new_pg = "newPostgresPassword0123456789ab";
    std::fs::write(&env_path, env.replace(&pg_pw, new_pg)).expect("write .env");
    let mut with_new = secrets.clone();
    with_new.push(new_pg.into());
    let run = doctor(&s, &with_new);
    assert_fails_only(&run, &["db.login"], "POSTGRES_PASSWORD changed");
    let login = run.check("db.login");
    assert_eq!(login["code"], "doctor.db.bad_password", "{login}");
    assert!(
        login["evidence"].to_string().contains("password authentication failed"),
        "{login}"
    );
    let (code, fix) = fix_of(&run, "db.login");
    assert_eq!(code, "doctor.fix.db_password");
    assert!(
        fix.contains(&format!("docker exec -it {} psql", s.container("postgres"))),
        "{fix}"
    );
    std::fs::write(&env_path, &env).expect("restore .env");

    // 7. A migration the official image's `prisma migrate deploy` started and never finished
    // (the row Prisma leaves; this image keeps its own ledger, so the table is made here).
    s.psql(
        "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, \
         finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, \
         started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0); \
         INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at) VALUES \
         ('a', 'x', '20260101000000_done', now()), ('b', 'y', '20991231000000_doctor_half_done', NULL)",
    );
    let run = doctor(&s, &secrets);
    assert_fails_only(&run, &["db.migrations"], "a failed migration");
    let m = run.check("db.migrations");
    assert!(
        m["message"]
            .as_str()
            .unwrap_or_default()
            .contains("20991231000000_doctor_half_done")
            && !m["message"]
                .as_str()
                .unwrap_or_default()
                .contains("20260101000000_done"),
        "{m}"
    );
    s.psql("DROP TABLE _prisma_migrations");
    until_healthy(&s, &secrets, "the failed migration undone");

    // 8. Prometheus's credential file emptied: its next scrape (every 15 s) is refused, and
    // the key check says the file is empty. The key is a metrics-only virtual key, not the
    // master key, and opens /metrics/ and nothing else.
    let key_file = s.dir().join("prometheus/secrets/litellm_metrics_key");
    let key = std::fs::read(&key_file).expect("the metrics key file");
    assert_ne!(String::from_utf8_lossy(&key).trim(), s.env_value("LITELLM_MASTER_KEY"));
    let healthy = doctor(&s, &secrets);
    assert_eq!(
        healthy.check("prometheus.key")["code"],
        "metrics_key.doctor.ok",
        "{}",
        text(&healthy.out)
    );
    std::fs::write(&key_file, "").expect("empty the metrics key file");
    let run = until_failing(&s, &secrets, "prometheus.target", "the metrics key emptied");
    let failed = run.with("fail");
    assert!(
        failed
            .iter()
            .all(|id| id == "prometheus.target" || id == "prometheus.key" || id == "files.drift"),
        "the emptied metrics key: {failed:?}\n{}",
        text(&run.out)
    );
    assert_eq!(run.check("prometheus.key")["code"], "metrics_key.doctor.missing");
    let target = run.check("prometheus.target");
    assert_eq!(target["code"], "doctor.prometheus.down", "{target}");
    let (code, fix) = fix_of(&run, "prometheus.target");
    assert_eq!(code, "metrics_key.doctor.fix_refused", "{target}");
    assert!(fix.contains("litellm_metrics_key"), "{fix}");
    // The master key there (an older version's install) is a failure of its own.
    std::fs::write(&key_file, s.env_value("LITELLM_MASTER_KEY")).expect("the master key in the key file");
    let run = doctor(&s, &secrets);
    assert_eq!(run.check("prometheus.key")["code"], "metrics_key.doctor.master_key");
    let (code, fix) = fix_of(&run, "prometheus.key");
    assert_eq!(code, "metrics_key.doctor.fix");
    assert!(fix.contains(" install"), "{fix}");
    std::fs::write(&key_file, &key).expect("restore the metrics key file");
    until_healthy(&s, &secrets, "the metrics key restored");

    // 9. A crash loop: config.yaml broken by hand, then LiteLLM restarted. It exits at once,
    // Docker restarts it (unless-stopped), again and again: named as a loop, with its lines.
    std::fs::write(&config, format!("{yaml}\nmodel_list: [unclosed\n")).expect("break config.yaml");
    docker_ok(&["restart", &s.container("litellm")]);
    let run = until_code(
        &s,
        &secrets,
        "container.litellm.running",
        "doctor.container.restart_loop",
        "config.yaml broken",
    );
    let c = run.check("container.litellm.running");
    assert_eq!(c["verdict"], "fail", "{c}");
    assert!(
        c["evidence"].to_string().to_lowercase().contains("yaml"),
        "the loop's last lines do not show the YAML error: {c}"
    );
    let failed = run.with("fail");
    assert!(
        failed.contains("container.litellm.running") && failed.contains("files.drift"),
        "{failed:?}"
    );
    for other in [
        "container.postgres.running",
        "container.redis.running",
        "db.login",
        "redis.auth",
        "env.mode",
    ] {
        assert!(!failed.contains(other), "a LiteLLM crash loop turned {other} red too");
    }
    std::fs::write(&config, &yaml).expect("restore config.yaml");
    // The next restart of the loop reads the good file and stays up; the restarts it took stay
    // counted, a warning from now on (the container is not recreated).
    let run = until_healthy_but(&s, &secrets, "config.yaml restored", &["container.litellm.running"]);
    let c = run.check("container.litellm.running");
    assert_eq!(c["verdict"], "warn", "the restarts of the loop are forgotten: {c}");
    assert_eq!(
        run.code,
        Some(0),
        "a warning alone is not a failure\n{}",
        text(&run.out)
    );

    // The support bundle of the healthy stack: everything a helper needs, no secret.
    let bundle = s.root.path().join("bundle.tar.gz");
    let out = s.cmd(&["support-bundle", "--out", &bundle.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Support bundle written"),
        "{}",
        text(&out)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&bundle).expect("the bundle").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the bundle is the owner's only");
    let unpacked = s.root.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).expect("mkdir");
    let tar = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&bundle)
        .arg("-C")
        .arg(&unpacked)
        .output()
        .expect("tar runs");
    assert!(tar.status.success(), "{}", text(&tar));
    let top = unpacked.join("bundle");
    let mut files = BTreeSet::new();
    let mut stack = vec![top.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let body = std::fs::read_to_string(&p).expect("text");
            for secret in &secrets {
                assert!(!body.contains(secret.as_str()), "{} holds a secret", p.display());
            }
            files.insert(p.strip_prefix(&top).expect("inside").display().to_string());
        }
    }
    for want in [
        "doctor.json",
        "doctor.txt",
        "status.json",
        "engine.txt",
        "logs/litellm.log",
        "logs/postgres.log",
        "logs/redis.log",
        "logs/nginx.log",
        "logs/prometheus.log",
        "files/config.yaml",
        "files/docker-compose.yml",
        "files/nginx/nginx.conf",
        "files/.env",
    ] {
        assert!(files.contains(want), "{want} is not in the bundle: {files:?}");
    }
    assert!(files.iter().any(|f| f.starts_with("installer/")), "{files:?}");
    let env_keys = std::fs::read_to_string(top.join("files/.env")).expect(".env");
    assert!(env_keys.contains("LITELLM_MASTER_KEY=********"), "{env_keys}");
    let report = std::fs::read_to_string(top.join("doctor.json")).expect("doctor.json");
    assert!(
        report
            .lines()
            .last()
            .is_some_and(|l| l.contains(r#""event":"diagnosed""#)),
        "{report}"
    );
    assert!(
        !std::fs::read_to_string(top.join("logs/litellm.log"))
            .expect("log")
            .is_empty()
    );

    bundle_with_planted_secrets(&s, &secrets);

    // No engine at all: exit 3, and what to do.
    let out = common::bin()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["doctor", "--json", "--answers"])
        .arg(s.answers())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let reachable = lines
        .iter()
        .find(|l| l["id"] == "engine.reachable")
        .unwrap_or_else(|| panic!("no engine.reachable line:\n{}", text(&out)));
    assert_eq!(reachable["verdict"], "fail", "{reachable}");
    assert!(reachable["fix"].as_str().is_some_and(|f| !f.is_empty()), "{reachable}");
    let skipped: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l["verdict"] == "skip")
        .filter_map(|l| l["id"].as_str())
        .collect();
    let needs_engine: BTreeSet<&str> = IDS
        .iter()
        .copied()
        .filter(|id| {
            id.starts_with("container.")
                || [
                    "nginx.upstream",
                    "db.readiness",
                    "db.login",
                    "db.migrations",
                    "redis.auth",
                    "images.lock",
                    "prometheus.target",
                    "prometheus.key",
                ]
                .contains(id)
        })
        .collect();
    assert_eq!(
        skipped,
        needs_engine,
        "the engine's checks are listed, not checked:\n{}",
        text(&out)
    );
}

/// Every member of a `.tar.gz`, decompressed: (path, bytes). A member that is gzip itself is
/// gunzipped too.
fn members(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let f = std::fs::File::open(bundle).expect("open the bundle");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    for e in archive.entries().expect("a tar") {
        let mut e = e.expect("a member");
        let path = e.path().expect("a path").display().to_string();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).expect("read a member");
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut inner = Vec::new();
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_end(&mut inner)
                .expect("gunzip a member");
            bytes = inner;
        }
        out.push((path, bytes));
    }
    assert!(!out.is_empty(), "{} is empty", bundle.display());
    out
}

/// A `.tar.gz` of `members`, as a person who edits a bundle by hand would make it.
fn pack(members: &[(String, Vec<u8>)], to: &Path) {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(to).expect("create"),
        flate2::Compression::default(),
    ));
    for (path, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        b.append_data(&mut h, path, bytes.as_slice()).expect("append");
    }
    b.into_inner().expect("tar").finish().expect("gzip");
}

/// The support bundle with secrets planted where a real install has them: a provider key
/// added to `.env`, a container's log line with an `sk-` key, a URL password, an
/// `Authorization:` header and that `.env` value, and a hand edit of `config.yaml` with a key and
/// a database URL. None of their values is anywhere in the archive (every member, decompressed),
/// the redaction list names what was masked, `--check` passes the bundle and fails (exit 1,
/// naming member and kind, not the value) one tampered to hold a value; not a bundle: exit 2.
fn bundle_with_planted_secrets(s: &TestStack, secrets: &[String]) {
    let pid = std::process::id();
    let provider = format!("planted-provider-value-{pid}-Zq9");
    let log_key = format!("sk-plantedlog{pid}Abc123");
    let log_bearer = format!("planted-bearer-{pid}.Xy7");
    let log_url_pw = format!("planted-url-pw-{pid}-Kk3");
    let config_key = format!("sk-plantedconfig{pid}Def456");
    let config_url_pw = format!("planted-config-pw-{pid}-Mm5");
    let planted = [
        provider.clone(),
        log_key.clone(),
        log_bearer.clone(),
        log_url_pw.clone(),
        config_key.clone(),
        config_url_pw.clone(),
    ];
    let env_path = s.dir().join(".env");
    let env = std::fs::read_to_string(&env_path).expect(".env");
    std::fs::write(&env_path, format!("{env}OPENAI_API_KEY={provider}\n")).expect("write .env");
    let config = s.dir().join("config.yaml");
    let yaml = std::fs::read_to_string(&config).expect("config.yaml");
    std::fs::write(
        &config,
        format!(
            "{yaml}# planted hand edit {pid}: api_key: {config_key}\n# fallback postgresql://llmproxy:{config_url_pw}@db.example:5432/litellm\n"
        ),
    )
    .expect("edit config.yaml");
    // A line the container itself prints: written to its PID 1's stdout, which is its log.
    let line = format!(
        "planted log line {pid}: POST /chat/completions Authorization: Bearer {log_bearer} key={log_key} \
         upstream=redis://default:{log_url_pw}@cache:6379 provider={provider}"
    );
    docker_ok(&[
        "exec",
        &s.container("redis"),
        "sh",
        "-c",
        &format!("echo '{line}' > /proc/1/fd/1"),
    ]);
    let logs = docker(&["logs", "--tail", "50", &s.container("redis")]);
    assert!(
        String::from_utf8_lossy(&logs.stdout).contains(&log_key),
        "the planted line is not in the container's log"
    );

    let bundle = s.root.path().join("planted.tar.gz");
    let out = s.cmd(&["support-bundle", "--out", &bundle.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = text(&out);
    for value in planted.iter().chain(secrets) {
        assert!(
            !printed.contains(value.as_str()),
            "support-bundle printed a secret:\n{printed}"
        );
    }
    assert!(printed.contains("redactions.json"), "{printed}");

    let all = members(&bundle);
    for (path, bytes) in &all {
        let body = String::from_utf8_lossy(bytes);
        for value in planted.iter().chain(secrets) {
            assert!(
                !body.contains(value.as_str()) && !path.contains(value.as_str()),
                "{path} holds a planted or generated secret"
            );
        }
    }
    let member = |name: &str| -> String {
        all.iter()
            .find(|(p, _)| p.ends_with(&format!("/{name}")))
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|| panic!("no {name} in the bundle"))
    };
    // The planted places are in the bundle, masked (not left out).
    let redis_log = member("logs/redis.log");
    assert!(
        redis_log.contains(&format!("planted log line {pid}")) && redis_log.contains("Bearer ********"),
        "{redis_log}"
    );
    let config_in = member("files/config.yaml");
    assert!(config_in.contains(&format!("planted hand edit {pid}")), "{config_in}");
    assert!(member("files/.env").contains("OPENAI_API_KEY=********"));
    let list: Value = serde_json::from_str(&member("redactions.json")).expect("redactions.json is JSON");
    let redacted: BTreeMap<String, u64> = list["redacted"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("a name").to_string(),
                r["count"].as_u64().expect("a count"),
            )
        })
        .collect();
    assert!(!redacted.is_empty(), "{list}");
    // In the log line and in files/.env.
    assert!(redacted.get("env:OPENAI_API_KEY") >= Some(&2), "{list}");
    for kind in ["sk-key", "url-credential", "authorization-header"] {
        assert!(redacted.get(kind) >= Some(&1), "{kind}: {list}");
    }
    assert!(
        list["by_member"]["logs/redis.log"]["sk-key"].as_u64() >= Some(1),
        "{list}"
    );
    assert!(
        list["by_member"]["files/config.yaml"]["url-credential"].as_u64() >= Some(1),
        "{list}"
    );
    assert!(!list.to_string().contains(&provider), "{list}");

    // --check: the bundle as written passes.
    let bundle_arg = bundle.display().to_string();
    let out = s.cmd(&["support-bundle", "--check", &bundle_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no secret found"),
        "{}",
        text(&out)
    );

    // Tampered: the provider key written back into one member, an sk- key into another.
    let mut tampered = all.clone();
    for (path, bytes) in &mut tampered {
        if path.ends_with("/logs/litellm.log") {
            bytes.extend_from_slice(format!("\nleaked {provider}\n").as_bytes());
        }
        if path.ends_with("/status.json") {
            bytes.extend_from_slice(format!("\n{log_key}\n").as_bytes());
        }
    }
    let bad = s.root.path().join("tampered.tar.gz");
    pack(&tampered, &bad);
    let out = s.cmd(&["support-bundle", "--check", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("logs/litellm.log") && said.contains("a value of .env (OPENAI_API_KEY)"),
        "{said}"
    );
    assert!(said.contains("status.json") && said.contains("an sk- key"), "{said}");
    assert!(
        !said.contains(&provider) && !said.contains(&log_key),
        "--check printed the value:\n{said}"
    );
    let out = s.cmd(&[
        "--lang",
        "zh-TW",
        "support-bundle",
        "--check",
        &bad.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("請勿分享"), "{}", text(&out));

    // Not a bundle: a text file, a bundle cut short.
    let cut = s.root.path().join("cut.tar.gz");
    let bytes = std::fs::read(&bundle).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    for not in [config.clone(), cut] {
        let out = s.cmd(&["support-bundle", "--check", &not.display().to_string()]);
        assert_eq!(out.status.code(), Some(2), "{}: {}", not.display(), text(&out));
    }

    std::fs::write(&env_path, &env).expect("restore .env");
    std::fs::write(&config, &yaml).expect("restore config.yaml");
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
