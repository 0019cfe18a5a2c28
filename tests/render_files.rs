//! Every generated file, for the default answers: snapshots (secrets as placeholders) and one
//! test per row of the SOP's errata that concerns files.

use std::path::{Path, PathBuf};

use litellm_stack::answers::Answers;
use litellm_stack::platform::Os;
use litellm_stack::render::RenderedFile;
use litellm_stack::secrets::{ExistingEnv, Secrets};
use litellm_stack::workspace::Workspace;

/// An `.env` holding the placeholder secrets, so the files are the same on every run.
fn placeholder_env() -> String {
    let s = Secrets::placeholders();
    format!(
        "LITELLM_MASTER_KEY={}\nLITELLM_SALT_KEY={}\nPOSTGRES_PASSWORD={}\nREDIS_PASSWORD={}\n\
         DATABASE_URL=postgresql://llmproxy:{}@postgres:5432/litellm\n",
        s.master_key.expose(),
        s.salt_key.expose(),
        s.postgres_password.expose(),
        s.redis_password.expose(),
        s.postgres_password.expose(),
    )
}

fn answers_for(os: Os, dir: &Path) -> Answers {
    let mut a = Answers::defaults_for(os);
    a.dir = dir.to_path_buf();
    a.language = Some(litellm_stack::i18n::Lang::En);
    a
}

/// Renders for `os` with the placeholder `.env` as the existing one, so every run gives the
/// same bytes.
fn render(os: Os) -> Vec<RenderedFile> {
    let dir = match os {
        Os::Linux => PathBuf::from("/srv/litellm"),
        Os::Windows => PathBuf::from(r"C:\work\TW\litellm"),
    };
    let mut env = ExistingEnv::parse(Path::new(".env"), placeholder_env().as_bytes()).expect("placeholder .env");
    // Its values only: the snapshot is of a new `.env` (an existing one is kept as it is).
    env.text = Default::default();
    env.statements.clear();
    Workspace::prepare_with_env(answers_for(os, &dir), os, env, &|_| None)
        .expect("prepare")
        .files
}

fn file<'a>(files: &'a [RenderedFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is rendered"))
        .contents
}

fn yaml(files: &[RenderedFile], path: &str) -> serde_norway::Value {
    serde_norway::from_str(file(files, path)).unwrap_or_else(|e| panic!("{path} is YAML: {e}"))
}

#[test]
fn snapshots_of_every_generated_file_linux() {
    let files = render(Os::Linux);
    for f in &files {
        insta::assert_snapshot!(format!("linux__{}", f.path.replace(['/', '.'], "_")), f.contents);
    }
}

#[test]
fn snapshots_of_the_windows_compose_file() {
    let files = render(Os::Windows);
    insta::assert_snapshot!("windows__docker-compose_yml", file(&files, "docker-compose.yml"));
}

#[test]
fn no_generated_file_but_env_and_key_holds_a_secret() {
    let files = render(Os::Linux);
    let s = Secrets::placeholders();
    for f in files.iter().filter(|f| !f.private) {
        for secret in [&s.master_key, &s.salt_key, &s.postgres_password, &s.redis_password] {
            assert!(!f.contents.contains(secret.expose()), "{} leaks a secret", f.path);
        }
    }
}

#[test]
fn nginx_points_at_the_port_litellm_listens_on() {
    let files = render(Os::Linux);
    let conf = file(&files, "nginx/nginx.conf");
    assert!(conf.contains("http://litellm:4000;"), "{conf}");
    assert!(!conf.contains("4001"));
}

#[test]
fn litellm_healthcheck_probes_the_container_port() {
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    let test = &c["services"]["litellm"]["healthcheck"]["test"][1];
    let test = test.as_str().expect("healthcheck command");
    assert!(test.contains("http://localhost:4000/health/liveliness"), "{test}");
}

#[test]
fn prometheus_scrapes_metrics_with_a_key() {
    let files = render(Os::Linux);
    let p = yaml(&files, "prometheus/prometheus.yml");
    let job = &p["scrape_configs"][0];
    assert_eq!(job["static_configs"][0]["targets"][0].as_str(), Some("litellm:4000"));
    assert_eq!(job["metrics_path"].as_str(), Some("/metrics/"));
    assert_eq!(job["authorization"]["type"].as_str(), Some("Bearer"));
    let key_file = job["authorization"]["credentials_file"]
        .as_str()
        .expect("credentials_file");
    // The key file Prometheus reads is in the folder mounted where the config says (the folder,
    // so a key replaced by rename is seen), and no file of the render holds it: the key is a
    // virtual key made through the proxy, never a copy of the master key.
    let c = yaml(&files, "docker-compose.yml");
    let mounts: Vec<&str> = c["services"]["prometheus"]["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let (folder, name) = key_file.rsplit_once('/').expect("a path");
    assert_eq!(name, "litellm_metrics_key");
    assert!(
        mounts.contains(&format!("./prometheus/secrets:{folder}:ro").as_str()),
        "{mounts:?}"
    );
    let master = Secrets::placeholders().master_key;
    for f in &files {
        assert!(
            f.path == ".env" || !f.contents.contains(master.expose()),
            "{} holds the master key",
            f.path
        );
    }
    assert!(files.iter().all(|f| !f.path.contains("litellm_metrics_key")));
    // And the proxy exposes metrics at all (errata 3).
    let cfg = yaml(&files, "config.yaml");
    assert_eq!(cfg["litellm_settings"]["callbacks"][0].as_str(), Some("prometheus"));
}

#[test]
fn readiness_ports_are_one_plan() {
    // errata 4: the host port of the proxy is the one printed and polled; here the compose
    // file publishes 127.0.0.1:4000 -> 4000, so `curl http://localhost:4000/...` works.
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    assert_eq!(
        c["services"]["litellm"]["ports"][0].as_str(),
        Some("127.0.0.1:4000:4000")
    );
    assert_eq!(c["services"]["nginx"]["ports"][0].as_str(), Some("0.0.0.0:80:80"));
}

#[test]
fn compose_has_no_build_section() {
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    for (name, svc) in c["services"].as_mapping().expect("services") {
        assert!(svc.get("build").is_none(), "{name:?} has build:");
        assert!(svc.get("image").is_some(), "{name:?} has no image");
    }
}

#[test]
fn litellm_is_started_with_the_mounted_config() {
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    let l = &c["services"]["litellm"];
    assert_eq!(l["volumes"][0].as_str(), Some("./config.yaml:/app/config.yaml:ro"));
    let cmd: Vec<&str> = l["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(&cmd[..2], ["--config", "/app/config.yaml"]);
}

#[test]
fn redis_and_nginx_services_exist() {
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    let redis = &c["services"]["redis"];
    assert!(
        redis["command"][2]
            .as_str()
            .expect("redis command")
            .contains("--requirepass")
    );
    assert!(redis["healthcheck"].is_mapping());
    // The folder, so that a reload reads the file a re-run wrote (steps::reload).
    assert_eq!(
        c["services"]["nginx"]["volumes"][0].as_str(),
        Some("./nginx:/etc/nginx/litellm-stack:ro")
    );
    assert_eq!(
        c["services"]["nginx"]["command"],
        serde_norway::from_str::<serde_norway::Value>(
            r#"["nginx", "-c", "/etc/nginx/litellm-stack/nginx.conf", "-g", "daemon off;"]"#
        )
        .expect("yaml")
    );
    let cfg = yaml(&files, "config.yaml");
    assert_eq!(
        cfg["litellm_settings"]["cache_params"]["host"].as_str(),
        Some("os.environ/REDIS_HOST")
    );
    assert_eq!(
        file(&files, ".env").lines().find(|l| l.starts_with("REDIS_HOST=")),
        Some("REDIS_HOST=redis")
    );
}

#[test]
fn prometheus_config_is_mounted_from_the_tree() {
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    let v = c["services"]["prometheus"]["volumes"][0].as_str().expect("mount");
    // The folder, so that a reload reads the file a re-run wrote (steps::reload).
    assert_eq!(v, "./prometheus:/etc/prometheus/litellm-stack:ro");
    assert_eq!(
        c["services"]["prometheus"]["command"][0].as_str(),
        Some("--config.file=/etc/prometheus/litellm-stack/prometheus.yml")
    );
}

#[test]
fn data_lives_in_the_sop_tree_on_linux_and_in_named_volumes_on_windows() {
    let linux = render(Os::Linux);
    let c = yaml(&linux, "docker-compose.yml");
    assert_eq!(
        c["services"]["postgres"]["volumes"][0].as_str(),
        Some("./pg_data:/var/lib/postgresql/data")
    );
    assert_eq!(
        c["services"]["redis"]["volumes"][0].as_str(),
        Some("./redis_data:/data")
    );
    assert!(c.get("volumes").is_none());
    let windows = render(Os::Windows);
    let w = yaml(&windows, "docker-compose.yml");
    assert_eq!(
        w["services"]["postgres"]["volumes"][0].as_str(),
        Some("pg_data:/var/lib/postgresql/data")
    );
    assert!(w["volumes"]["pg_data"].is_mapping());
}

#[test]
fn credentials_live_only_in_env() {
    let files = render(Os::Linux);
    let compose = file(&files, "docker-compose.yml");
    assert!(!compose.contains("dbpassword9090"));
    let c = yaml(&files, "docker-compose.yml");
    let pw = c["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
        .as_str()
        .expect("env");
    assert!(pw.starts_with("${POSTGRES_PASSWORD?"), "{pw}");
    let env = file(&files, ".env");
    let pw = Secrets::placeholders().postgres_password;
    assert!(env.contains(&format!(
        "DATABASE_URL=postgresql://llmproxy:{}@postgres:5432/litellm",
        pw.expose()
    )));
}

#[test]
fn postgres_is_not_published() {
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    assert!(c["services"]["postgres"].get("ports").is_none());
    assert!(c["services"]["redis"].get("ports").is_none());
}

#[test]
fn litellm_waits_for_healthy_database_and_cache() {
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    let deps = &c["services"]["litellm"]["depends_on"];
    assert_eq!(deps["postgres"]["condition"].as_str(), Some("service_healthy"));
    assert_eq!(deps["redis"]["condition"].as_str(), Some("service_healthy"));
}

#[test]
fn healthcheck_comments_do_not_contradict_values() {
    // errata 16: the generated compose file carries no per-value comments at all.
    let files = render(Os::Linux);
    let compose = file(&files, "docker-compose.yml");
    assert!(
        compose
            .lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| !l.contains(" # ")),
        "{compose}"
    );
}

#[test]
fn nginx_streams_with_long_timeouts_and_forwarded_headers() {
    let files = render(Os::Linux);
    let conf = file(&files, "nginx/nginx.conf");
    for needle in [
        "proxy_buffering off;",
        "proxy_request_buffering off;",
        "proxy_read_timeout 600s;",
        "proxy_send_timeout 600s;",
        "client_max_body_size 100m;",
        "proxy_http_version 1.1;",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
    ] {
        assert!(conf.contains(needle), "missing {needle}");
    }
}

#[test]
fn nginx_re_resolves_litellm_through_docker_dns() {
    let files = render(Os::Linux);
    let conf = file(&files, "nginx/nginx.conf");
    assert!(conf.contains("resolver 127.0.0.11"));
    // A variable in proxy_pass makes nginx resolve at request time, not once at start.
    assert!(conf.contains("proxy_pass $litellm_upstream;"));
    assert!(
        !conf.lines().any(|l| l.trim_start().starts_with("upstream ")),
        "a static upstream block resolves once"
    );
}

#[test]
fn images_are_pinned() {
    let files = render(Os::Linux);
    let c = yaml(&files, "docker-compose.yml");
    for (name, svc) in c["services"].as_mapping().expect("services") {
        let image = svc["image"].as_str().expect("image");
        let tag = image.rsplit_once(':').map(|(_, t)| t).expect("a tag");
        assert!(
            !["latest", "main-stable", "main-latest"].contains(&tag),
            "{name:?}: {image}"
        );
        assert!(
            tag.chars().any(|c| c.is_ascii_digit()),
            "{name:?}: {image} is not a version"
        );
    }
}

#[test]
fn every_file_has_lf_endings() {
    for os in [Os::Linux, Os::Windows] {
        let files = render(os);
        for f in &files {
            assert!(!f.contents.contains('\r'), "{} has CR", f.path);
        }
    }
}

#[test]
fn master_key_is_generated_strong() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ws = Workspace::prepare(answers_for(Os::Linux, tmp.path()), Os::Linux, &|_| None).expect("prepare");
    let key = ws
        .dotenv
        .get("LITELLM_MASTER_KEY")
        .expect("master key")
        .expose()
        .to_string();
    assert!(key.starts_with("sk-") && key.len() >= 35 && key[3..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(!key.contains("CHANGE-THIS"));
}

#[test]
fn azure_model_gets_base_and_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "dir: {}\nmodels:\n  - name: gpt-4o\n    model: azure/my-gpt4o\n    api_key_env: AZURE_API_KEY\n    api_base: https://x.openai.azure.com\n    api_version: 2024-10-21\n",
        tmp.path().display()
    );
    let a = Answers::parse(Path::new("answers.yaml"), &text).expect("parses");
    let ws = Workspace::prepare(a, Os::Linux, &|k| {
        (k == "AZURE_API_KEY").then(|| "azure-secret-from-env".into())
    })
    .expect("prepare");
    let cfg: serde_norway::Value = serde_norway::from_str(file(&ws.files, "config.yaml")).expect("yaml");
    let p = &cfg["model_list"][0]["litellm_params"];
    assert_eq!(p["api_base"].as_str(), Some("https://x.openai.azure.com"));
    assert_eq!(p["api_version"].as_str(), Some("2024-10-21"));
    assert_eq!(p["api_key"].as_str(), Some("os.environ/AZURE_API_KEY"));
    assert!(file(&ws.files, ".env").contains("AZURE_API_KEY=azure-secret-from-env"));
    let c = yaml(&ws.files, "docker-compose.yml");
    let v = c["services"]["litellm"]["environment"]["AZURE_API_KEY"]
        .as_str()
        .expect("env");
    assert!(v.starts_with("${AZURE_API_KEY?"), "{v}");
}
