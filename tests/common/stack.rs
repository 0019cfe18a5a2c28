//! One stack under test on the real engine: its own project, install dir and high ports,
//! the test images of `ci/setup.sh` (LiteLLM with its Postgres database); removed on drop,
//! even when the test fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::run::Background;
use super::{bin, ci_env, free_port};

pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// The engine this test binary talks to when it is not the default one (set once, before
/// anything runs): every `docker` call and every run of the binary get it as `DOCKER_HOST`.
pub static DOCKER_HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub fn docker(args: &[&str]) -> Output {
    let mut c = Command::new("docker");
    if let Some(host) = DOCKER_HOST.get() {
        c.env("DOCKER_HOST", host);
    }
    c.args(args)
        .output()
        .expect("the docker CLI runs (ci/setup.sh installs it)")
}

/// `docker ARGS`, which must succeed; its stdout, trimmed.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Both streams of a run, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub struct TestStack {
    pub project: String,
    pub root: tempfile::TempDir,
    pub nginx: u16,
    pub litellm: u16,
    pub prometheus: u16,
    pub images: BTreeMap<&'static str, String>,
    /// More answers, appended as YAML.
    pub extra: String,
    /// Install dir under `root` (`stack` unless changed).
    pub dir_name: String,
}

impl TestStack {
    /// `docker compose ARGS` in the install dir, as a user types it there.
    pub fn compose(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("compose")
            .args(args)
            .current_dir(self.dir())
            .output()
            .expect("docker compose runs (ci/setup.sh installs Compose v2)")
    }

    pub fn new(tag: &str) -> TestStack {
        docker_ok(&["info", "--format", "{{.ServerVersion}}"]);
        let images = BTreeMap::from([
            ("litellm", ci_env("LST_IMAGE_LITELLM")),
            ("postgres", ci_env("LST_IMAGE_POSTGRES")),
            ("redis", ci_env("LST_IMAGE_REDIS")),
            ("nginx", ci_env("LST_IMAGE_NGINX")),
            ("prometheus", ci_env("LST_IMAGE_PROMETHEUS")),
        ]);
        let s = TestStack {
            project: format!("lste2e-{tag}-{}", std::process::id()),
            root: tempfile::tempdir().expect("tempdir"),
            nginx: free_port(),
            litellm: free_port(),
            prometheus: free_port(),
            images,
            extra: String::new(),
            dir_name: "stack".into(),
        };
        s.write_answers();
        s
    }

    pub fn dir(&self) -> PathBuf {
        self.root.path().join(&self.dir_name)
    }

    pub fn answers(&self) -> PathBuf {
        self.root.path().join(format!("answers-{}.yaml", self.dir_name))
    }

    pub fn write_answers(&self) {
        let images: String = self.images.iter().map(|(k, v)| format!("  {k}: {v}\n")).collect();
        let yaml = format!(
            "dir: {}\nproject: {}\nports:\n  nginx: {}\n  litellm: {}\n  prometheus: {}\nimages:\n{images}{}",
            self.dir().display(),
            self.project,
            self.nginx,
            self.litellm,
            self.prometheus,
            self.extra
        );
        std::fs::write(self.answers(), yaml).expect("write answers");
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        let mut c = bin();
        if let Some(host) = DOCKER_HOST.get() {
            c.env("DOCKER_HOST", host);
        }
        c.args(args)
            .arg("--answers")
            .arg(self.answers())
            .timeout(INSTALL_TIMEOUT);
        c.output().expect("run litellm-stack")
    }

    pub fn install(&self) -> Output {
        self.cmd(&["install", "--yes"])
    }

    /// service → container ID, for the containers of this project.
    pub fn containers(&self) -> BTreeMap<String, String> {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        docker_ok(&[
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Label \"com.docker.compose.service\"}} {{.ID}}",
        ])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(s, id)| (s.to_string(), id.to_string()))
        .collect()
    }

    pub fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.project)
    }

    /// SQL in the stack's Postgres, as its own user (socket connections are trusted).
    pub fn psql(&self, sql: &str) -> String {
        docker_ok(&[
            "exec",
            &self.container("postgres"),
            "psql",
            "-U",
            "llmproxy",
            "-d",
            "litellm",
            "-tAc",
            sql,
        ])
    }

    /// A value of the install's `.env`.
    pub fn env_value(&self, key: &str) -> String {
        let text = std::fs::read_to_string(self.dir().join(".env")).expect("read .env");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("{key} is not in .env"))
    }

    /// `curl` against the gateway through nginx: (status, body).
    pub fn http(&self, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}{path}", self.nginx);
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "60", "-X", method, "-w", "\n%{http_code}", &url]);
        if let Some(k) = key {
            c.args(["-H", &format!("Authorization: Bearer {k}")]);
        }
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data", b]);
        }
        let out = c.output().expect("curl runs");
        let all = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, status) = all.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_string())
    }

    /// A model stored in the database (`/model/new`, with a credential LiteLLM encrypts with the
    /// salt key): `db-model`, answering "from the database".
    pub fn add_db_model(&self) {
        let master = self.env_value("LITELLM_MASTER_KEY");
        let (status, body) = self.http(
            "POST",
            "/model/new",
            Some(&master),
            Some(r#"{"model_name":"db-model","litellm_params":{"model":"openai/gpt-4o-mini","api_key":"fake-key-in-db","mock_response":"from the database"}}"#),
        );
        assert_eq!(status, 200, "/model/new: {body}");
    }

    /// A new virtual key of the team (`/key/generate` with the master key), named `alias`.
    pub fn virtual_key(&self, alias: &str) -> String {
        let master = self.env_value("LITELLM_MASTER_KEY");
        let request = serde_json::json!({ "key_alias": alias }).to_string();
        let (status, body) = self.http("POST", "/key/generate", Some(&master), Some(&request));
        assert_eq!(status, 200, "/key/generate: {body}");
        serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["key"]
            .as_str()
            .expect("a key")
            .to_string()
    }

    /// A new prompt (never served from the cache) to `model` with `key`, through nginx.
    pub fn chat(&self, key: &str, model: &str) -> (u16, String) {
        let body = format!(
            r#"{{"model":"{model}","messages":[{{"role":"user","content":"a new prompt {} {}"}}],"cache":{{"no-cache":true}}}}"#,
            self.project,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        self.http("POST", "/v1/chat/completions", Some(key), Some(&body))
    }

    /// The team's `key` answers a new prompt within `limit` (a gate passed, but nginx may still
    /// hold a stale address for a few seconds); panics with `when` and the last answer.
    pub fn chat_until_ok(&self, key: &str, limit: Duration, when: &str) {
        let started = std::time::Instant::now();
        loop {
            let (status, body) = self.chat(key, "smoke-test");
            if status == 200 {
                return;
            }
            assert!(started.elapsed() < limit, "the team's key {when}: {status} {body}");
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// `litellm-stack ARGS --answers <the stack's answers>` in the background.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_nanos();
        let answers = self.answers();
        let args = args
            .iter()
            .map(std::ffi::OsStr::new)
            .chain([std::ffi::OsStr::new("--answers"), answers.as_os_str()]);
        Background::start(
            args,
            self.root.path().join(format!("run-{n}.out")),
            self.root.path().join(format!("run-{n}.err")),
        )
    }

    /// The names of the databases in the stack's Postgres, sorted.
    pub fn databases(&self) -> Vec<String> {
        self.psql("SELECT datname FROM pg_database ORDER BY 1")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The rows of a table of the stack's database.
    pub fn count(&self, table: &str) -> u64 {
        self.psql(&format!("SELECT count(*) FROM \"{table}\""))
            .parse()
            .expect("a count")
    }

    /// The project's named volumes, sorted.
    pub fn volumes(&self) -> Vec<String> {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        let out = docker_ok(&["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"]);
        let mut v: Vec<String> = out.lines().map(str::to_string).collect();
        v.sort();
        v
    }
}

/// The backup archives in `dir`'s `backups/`, sorted (oldest first).
pub fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("backups"))
        .expect("backups/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().expect("name").to_string_lossy().to_string();
            n.starts_with("litellm-backup-") && n.ends_with(".tar.gz")
        })
        .collect();
    found.sort();
    found
}

/// What is in `dir`'s `backups/` besides the archives (a staging folder, a partial archive).
pub fn backup_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("backups"))
        .expect("backups/ exists")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect()
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let filter = format!("label=com.docker.compose.project={}", self.project);
        let ids = docker(&["ps", "-aq", "--filter", &filter]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            docker(&["rm", "-f", "-v", id]);
        }
        docker(&["network", "rm", &format!("{}_default", self.project)]);
        let vols = docker(&["volume", "ls", "-q", "--filter", &filter]);
        for v in String::from_utf8_lossy(&vols.stdout).lines() {
            docker(&["volume", "rm", "-f", v]);
        }
    }
}
