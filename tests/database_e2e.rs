//! The database, for real: LiteLLM on its Postgres (the `litellm-db` image of `ci/setup.sh`,
//! the real PyPI proxy with Prisma over a WASM query engine, migrations applied at start),
//! installed by the binary on the real engine, as a team uses it: virtual keys and models
//! stored in the database must survive re-runs, `down` and `install`; the salt key the data
//! was made with is guarded; another install's project is left alone; a refused database
//! login is named as such.

mod common;

use std::time::{Duration, Instant};

use common::stack::{TestStack, docker_ok, text};

/// LiteLLM's tables that hold what the API test's key could leave behind.
fn test_key_rows(s: &TestStack) -> String {
    s.psql(
        "SELECT (SELECT count(*) FROM \"LiteLLM_VerificationToken\" WHERE key_alias LIKE 'litellm-stack-api-test-%') \
         || '/' || (SELECT count(*) FROM \"LiteLLM_DeletedVerificationToken\" WHERE key_alias LIKE 'litellm-stack-api-test-%')",
    )
}

fn pg_dump(s: &TestStack) -> String {
    docker_ok(&["exec", &s.container("postgres"), "pg_dump", "-U", "llmproxy", "litellm"])
}

/// Prometheus's key, as the install wrote it.
fn metrics_key(s: &TestStack) -> String {
    std::fs::read_to_string(s.dir().join("prometheus/secrets/litellm_metrics_key"))
        .expect("the metrics key file")
        .trim()
        .to_string()
}

/// `curl` on the proxy's own published port (nginx keeps `/metrics` off its entry point).
fn direct(s: &TestStack, method: &str, path: &str, key: &str) -> u16 {
    let url = format!("http://127.0.0.1:{}{path}", s.litellm);
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            method,
        ])
        .args([
            "-H",
            &format!("Authorization: Bearer {key}"),
            "-H",
            "Content-Type: application/json",
        ])
        .args([
            "--data",
            r#"{"model":"smoke-test","messages":[{"role":"user","content":"hi"}]}"#,
        ])
        .arg(&url)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
}

/// The litellm job's target as Prometheus reports it: (health, lastError).
fn litellm_target(s: &TestStack) -> (String, String) {
    let url = format!("http://127.0.0.1:{}/api/v1/targets?state=active", s.prometheus);
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", &url])
        .output()
        .expect("curl runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("Prometheus answers JSON");
    let t = v["data"]["activeTargets"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["labels"]["job"] == "litellm"))
        .expect("the litellm target");
    (
        t["health"].as_str().unwrap_or_default().to_string(),
        t["lastError"].as_str().unwrap_or_default().to_string(),
    )
}

/// Prometheus's key opens `/metrics/` and nothing else, and Prometheus scrapes with it.
fn assert_metrics_only(s: &TestStack, key: &str, master: &str, when: &str) {
    assert!(
        key.starts_with("sk-") && key != master,
        "{when}: the key file holds {}",
        if key == master { "the master key" } else { "no key" }
    );
    assert_eq!(
        direct(s, "GET", "/metrics/", key),
        200,
        "{when}: /metrics/ with Prometheus's key"
    );
    for (method, path) in [
        ("GET", "/v1/models"),
        ("POST", "/key/generate"),
        ("POST", "/chat/completions"),
        ("GET", "/key/list"),
    ] {
        let status = direct(s, method, path, key);
        assert!(
            status == 401 || status == 403,
            "{when}: {method} {path} with Prometheus's key answered {status}"
        );
    }
    // Prometheus reads the file again at every scrape (15 s): up with this key.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (health, error) = litellm_target(s);
        if health == "up" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{when}: Prometheus's litellm target is {health}: {error}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let file = std::fs::metadata(s.dir().join("prometheus/secrets/litellm_metrics_key")).expect("meta");
        let folder = std::fs::metadata(s.dir().join("prometheus/secrets")).expect("meta");
        assert_eq!(
            (file.mode() & 0o777, file.gid()),
            (0o640, 65534),
            "{when}: the key file's mode and group"
        );
        assert_eq!(
            (folder.mode() & 0o7777, folder.gid()),
            (0o2750, 65534),
            "{when}: its folder's"
        );
    }
}

#[test]
fn the_gateway_runs_on_its_database_and_keeps_the_models_and_keys_the_team_stores() {
    let s = TestStack::new("db");

    // Fresh install: ready with the database connected, through nginx.
    let out = s.install();
    assert!(out.status.success(), "fresh install failed:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let (status, body) = s.http("GET", "/health/readiness", None, None);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("readiness is JSON");
    assert_eq!(v["db"], "connected", "{body}");
    // The API test made, used and deleted a virtual key, and left nothing of it behind.
    assert!(
        stdout.contains("the database works: a temporary virtual key"),
        "{stdout}"
    );
    assert!(stdout.contains("left nothing in the database"), "{stdout}");
    assert_eq!(test_key_rows(&s), "0/0");
    // Prometheus's credential: a virtual key made through the API, for /metrics/ only.
    let master = s.env_value("LITELLM_MASTER_KEY");
    assert!(stdout.contains("Prometheus has a new key"), "{stdout}");
    let first_key = metrics_key(&s);
    assert_metrics_only(&s, &first_key, &master, "after the first install");
    let dump = pg_dump(&s);
    assert!(
        dump.contains("LiteLLM_VerificationToken"),
        "pg_dump shows LiteLLM's schema"
    );
    assert!(
        !dump.contains("litellm-stack-api-test-"),
        "the test key left a trace in the database"
    );
    // Nor in the logs: neither the installer's nor the proxy's name the key's value. (The
    // alias is printed; the value is never known outside the API test.)
    let logs = docker_ok(&["logs", &s.container("litellm")]);
    assert!(
        !logs.contains("Traceback"),
        "the install's own checks made LiteLLM log a traceback:\n{logs}"
    );

    // The team adds a model in the database and a virtual key of its own.
    s.add_db_model();
    let team_key = s.virtual_key("team-key");

    // install and verify again: both pass, and say where the extra model comes from.
    let out = s.install();
    assert!(
        out.status.success(),
        "install with a model in the database failed:\n{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("come from the database") && stdout.contains("db-model"),
        "{stdout}"
    );
    // A re-run keeps Prometheus's key: no new one each run.
    assert!(
        stdout.contains("Prometheus's key in prometheus/secrets/litellm_metrics_key is kept"),
        "{stdout}"
    );
    assert_eq!(metrics_key(&s), first_key, "the re-run replaced a fitting metrics key");
    let out = s.cmd(&["verify", "--json"]);
    assert!(
        out.status.success(),
        "verify with a model in the database failed:\n{}",
        text(&out)
    );
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(str::to_string)
        .unwrap_or_default();
    let verified: serde_json::Value = serde_json::from_str(&last).expect("verify's last line is JSON");
    assert_eq!(verified["event"], "verified", "{last}");
    assert_eq!(verified["db_models"], serde_json::json!(["db-model"]), "{last}");
    assert_eq!(test_key_rows(&s), "0/0");

    // An install made by an older version: the master key in the key file, and its old copy
    // at prometheus/litellm_metrics_key. verify only warns; the next install replaces both.
    std::fs::write(s.dir().join("prometheus/secrets/litellm_metrics_key"), &master).expect("old-style key");
    std::fs::write(s.dir().join("prometheus/litellm_metrics_key"), &master).expect("old copy");
    let out = s.cmd(&["verify"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("holds the master key")
            || String::from_utf8_lossy(&out.stderr).contains("holds the master key"),
        "verify warns about the master key in the key file:\n{}",
        text(&out)
    );

    // down, install: the model answers a new prompt and the team's key still works.
    let out = s.cmd(&["down"]);
    assert!(out.status.success(), "down failed:\n{}", text(&out));
    let out = s.install();
    assert!(out.status.success(), "install after down failed:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("the file held the master key"), "{stdout}");
    assert!(
        !s.dir().join("prometheus/litellm_metrics_key").exists(),
        "the old copy of the master key stays"
    );
    let new_key = metrics_key(&s);
    assert_ne!(new_key, first_key);
    assert_metrics_only(&s, &new_key, &master, "after replacing the master key");
    // One key of the alias: the one it replaced is deleted.
    assert_eq!(
        direct(&s, "GET", "/metrics/", &first_key),
        401,
        "the replaced key still opens /metrics/"
    );
    assert_eq!(
        s.psql("SELECT count(*) FROM \"LiteLLM_VerificationToken\" WHERE key_alias = 'litellm-stack-prometheus'"),
        "1"
    );
    let (status, body) = s.chat(&master, "db-model");
    assert_eq!(status, 200, "db-model after down + install: {body}");
    assert!(body.contains("from the database"), "{body}");
    let (status, body) = s.chat(&team_key, "smoke-test");
    assert_eq!(status, 200, "the team's virtual key after down + install: {body}");
    assert!(body.contains("pong"), "{body}");
    assert_eq!(test_key_rows(&s), "0/0");
    assert!(!pg_dump(&s).contains("litellm-stack-api-test-"));
}

#[test]
fn the_salt_key_another_installs_project_and_a_refused_database_login_stop_the_install() {
    let s = TestStack::new("guard");
    let out = s.install();
    assert!(out.status.success(), "fresh install failed:\n{}", text(&out));
    let first = s.containers();
    assert_eq!(first.len(), 5, "{first:?}");
    let env_path = s.dir().join(".env");
    let env = std::fs::read_to_string(&env_path).expect(".env");
    let fingerprint = std::fs::read_to_string(s.dir().join("salt-key.fingerprint")).expect("fingerprint recorded");
    let salt = s.env_value("LITELLM_SALT_KEY");
    assert!(
        !fingerprint.contains(&salt),
        "the fingerprint file holds the salt key itself"
    );

    // .env gone in front of existing data: exit 3, nothing changed, nothing regenerated.
    std::fs::remove_file(&env_path).expect("remove .env");
    let out = s.install();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("has no LITELLM_SALT_KEY") && stderr.contains("Nothing was changed"),
        "{stderr}"
    );
    assert!(!env_path.exists(), "a new .env was written next to the data");
    assert_eq!(s.containers(), first, "containers changed");

    // .env with another salt key: exit 3, the backup with the right key named.
    let changed = env.replace(
        &format!("LITELLM_SALT_KEY={salt}"),
        "LITELLM_SALT_KEY=sk-another-salt-key-0123456789",
    );
    assert_ne!(changed, env, "the salt key line was found");
    std::fs::write(&env_path, &changed).expect("write .env");
    let out = s.install();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not the salt key"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&env_path).expect(".env"),
        changed,
        ".env was rewritten"
    );
    assert_eq!(s.containers(), first, "containers changed");
    std::fs::write(&env_path, &env).expect("restore .env");

    // A second install dir with the same project: exit 3 naming the first dir; the first
    // stack's containers untouched.
    let mut other = TestStack::new("guard-other");
    other.project = s.project.clone();
    other.dir_name = "second".into();
    other.write_answers();
    let out = other.install();
    // Its Drop must not remove the first stack's containers.
    other.project = format!("{}-none", s.project);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&s.dir().display().to_string()) && stderr.contains("project:"),
        "{stderr}"
    );
    assert_eq!(s.containers(), first, "the first stack's containers changed");

    // The Postgres password changed in .env (both places that hold it) after the data was
    // made: Postgres keeps the first one. The failure names the database login, at once.
    let old_pw = s.env_value("POSTGRES_PASSWORD");
    let new_pw = "changedPassword0123456789";
    std::fs::write(&env_path, env.replace(&old_pw, new_pw)).expect("write .env");
    let started = Instant::now();
    let out = s.install();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("The database refused the password"), "{all}");
    assert!(
        !all.contains(new_pw) && !all.contains(&old_pw),
        "a password was printed:\n{all}"
    );
    assert!(
        took < Duration::from_secs(100),
        "the refused login took {took:?} to report (the image waits 120 s)"
    );
}
