//! A changed nginx.conf is reloaded into the running nginx, not the container recreated
//! (issue 16), on the real engine with the test images:
//! - a re-run whose rendered nginx.conf differs keeps the nginx container, the new settings are
//!   in effect (a response header it adds), a poller through nginx every 50 ms sees no failed
//!   request; the next re-run reloads nothing; `docker compose up -d` recreates nothing;
//! - a re-run whose nginx.conf nginx refuses exits 1 naming the file and nginx's message, the
//!   running nginx keeps serving its previous configuration (no failed request), the
//!   container stays;
//! - an nginx made the previous way (nginx.conf mounted as a single file over
//!   /etc/nginx/nginx.conf, the image's own command) is recreated once, onto the mounted
//!   folder, and reloaded from then on.
//!
//! How nginx.conf changes: it is written by the program from its template, so a re-run of
//! the same binary renders the same file (a hand edit is put back). What changes it in real
//! life is a new version of litellm-stack with another template; the stand-in here is the
//! test-only variable `LITELLM_STACK_TEST_NGINX_EXTRA` (src/render/nginx.rs), whose lines
//! the renderer puts into the `server` block. Everything after the rendering is the real
//! path: the file written atomically (backed up), the decision, `nginx -t`, the reload.

// Linux only: the test stacks and `docker compose` of ci/setup.sh.
#![cfg(unix)]

mod common;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bin;
use common::stack::{INSTALL_TIMEOUT, TestStack, docker_ok, text};

const EXTRA: &str = "LITELLM_STACK_TEST_NGINX_EXTRA";
const PROMETHEUS_EXTRA: &str = "LITELLM_STACK_TEST_PROMETHEUS_EXTRA";
/// A label the changed prometheus.yml puts on everything Prometheus sends out.
const LABEL_TWO: &str = "external_labels:\n  lst_reload: two";
/// A header the changed nginx.conf adds to every answer (`always`: errors too).
const HEADER_TWO: &str = "add_header X-Lst-Reload \"two\" always;";
/// A line nginx refuses: no such directive.
const BROKEN: &str = "lst_no_such_directive on;";

/// `install --yes` with nginx.conf's test-only extra lines (`None`: the plain template).
fn install(s: &TestStack, extra: Option<&str>) -> Output {
    install_with(s, extra, None)
}

/// `install --yes` with nginx.conf's and prometheus.yml's test-only extra lines.
fn install_with(s: &TestStack, nginx: Option<&str>, prometheus: Option<&str>) -> Output {
    let mut c = bin();
    match nginx {
        Some(v) => c.env(EXTRA, v),
        None => c.env_remove(EXTRA),
    };
    match prometheus {
        Some(v) => c.env(PROMETHEUS_EXTRA, v),
        None => c.env_remove(PROMETHEUS_EXTRA),
    };
    c.args(["install", "--yes", "--answers"])
        .arg(s.answers())
        .timeout(INSTALL_TIMEOUT);
    c.output().expect("run litellm-stack")
}

fn install_ok(s: &TestStack, extra: Option<&str>, what: &str) -> String {
    let out = install(s, extra);
    assert!(out.status.success(), "{what}: install failed:\n{}", text(&out));
    text(&out)
}

/// The full ID of the service's container.
fn id_of(s: &TestStack, service: &str) -> String {
    docker_ok(&["inspect", "--format", "{{.Id}}", &s.container(service)])
}

/// The value of `name` in nginx's answer to `path` (`None`: no such header, or no answer).
fn header(s: &TestStack, path: &str, name: &str) -> Option<String> {
    let url = format!("http://127.0.0.1:{}{path}", s.nginx);
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-D", "-", "--max-time", "10", &url])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// The configuration Prometheus runs with, as it says on its published port.
fn prometheus_config(s: &TestStack) -> String {
    let url = format!("http://127.0.0.1:{}/api/v1/status/config", s.prometheus);
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", &url])
        .output()
        .expect("curl runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("Prometheus answers JSON");
    v["data"]["yaml"].as_str().expect("its configuration").to_string()
}

/// The `nginx` service's loaded-config record (`.litellm-stack/loaded-config.json`).
fn recorded(s: &TestStack) -> serde_json::Value {
    let text = std::fs::read_to_string(s.dir().join(".litellm-stack/loaded-config.json")).expect("the record exists");
    serde_json::from_str(&text).expect("JSON")
}

fn sha256_of_file(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Asks nginx every 50 ms, alternately its own health location and the proxy's liveliness
/// through it, until stopped; keeps every answer that is not a 200 (or no answer).
struct Poller {
    stop: Arc<AtomicBool>,
    failures: Arc<Mutex<Vec<String>>>,
    count: Arc<Mutex<u32>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Poller {
    fn start(port: u16) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(Mutex::new(0u32));
        let (st, fl, n) = (stop.clone(), failures.clone(), count.clone());
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            let mut i = 0u32;
            while !st.load(Ordering::SeqCst) {
                let path = if i % 2 == 0 {
                    "/nginx-health"
                } else {
                    "/health/liveliness"
                };
                let status = common::http_status(port, path);
                if status != Some(200) {
                    fl.lock()
                        .expect("lock")
                        .push(format!("{path} at {:.2}s: {status:?}", started.elapsed().as_secs_f64()));
                }
                *n.lock().expect("lock") += 1;
                i += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Poller {
            stop,
            failures,
            count,
            thread: Some(thread),
        }
    }

    /// Stops it: (failures, requests made).
    fn finish(mut self) -> (Vec<String>, u32) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("poller thread");
        }
        let n = *self.count.lock().expect("lock");
        (self.failures.lock().expect("lock").clone(), n)
    }
}

#[test]
fn a_changed_nginx_conf_is_reloaded_in_place_and_a_refused_one_keeps_the_old_config_serving() {
    let s = TestStack::new("reload");
    install_ok(&s, None, "first install");
    let nginx = id_of(&s, "nginx");
    assert_eq!(header(&s, "/nginx-health", "X-Lst-Reload"), None);
    let conf = s.dir().join("nginx/nginx.conf");
    let record = recorded(&s);
    assert_eq!(
        record["containers"][&nginx]["sha256"].as_str(),
        Some(sha256_of_file(&conf).as_str()),
        "the first install records what nginx loaded: {record}"
    );

    // A re-run whose nginx.conf differs: reloaded, not recreated, no failed request.
    let poller = Poller::start(s.nginx);
    std::thread::sleep(Duration::from_secs(1));
    let said = install_ok(&s, Some(HEADER_TWO), "re-run with a changed nginx.conf");
    std::thread::sleep(Duration::from_secs(1));
    let (failures, requests) = poller.finish();
    assert!(
        failures.is_empty(),
        "failed requests through nginx: {failures:?}\n{said}"
    );
    assert!(requests > 20, "the poller made only {requests} requests");
    assert!(said.contains("nginx reloaded"), "{said}");
    assert!(!said.contains("nginx: recreated"), "{said}");
    assert_eq!(id_of(&s, "nginx"), nginx, "nginx was recreated:\n{said}");
    assert!(
        std::fs::read_to_string(&conf).expect("read").contains(HEADER_TWO),
        "the new nginx.conf was written"
    );
    // In effect: on nginx's own location and on what it proxies.
    assert_eq!(header(&s, "/nginx-health", "X-Lst-Reload").as_deref(), Some("two"));
    assert_eq!(header(&s, "/health/liveliness", "X-Lst-Reload").as_deref(), Some("two"));
    let record = recorded(&s);
    assert_eq!(
        record["containers"][&nginx]["sha256"].as_str(),
        Some(sha256_of_file(&conf).as_str()),
        "{record}"
    );

    // Nothing changed: nothing reloaded.
    let said = install_ok(&s, Some(HEADER_TWO), "second re-run");
    assert!(!said.contains("reloaded"), "{said}");
    assert_eq!(id_of(&s, "nginx"), nginx);

    // A changed prometheus.yml: Prometheus reloaded by SIGHUP, not recreated.
    let prometheus = id_of(&s, "prometheus");
    assert!(!prometheus_config(&s).contains("lst_reload"));
    let out = install_with(&s, Some(HEADER_TWO), Some(LABEL_TWO));
    let said = text(&out);
    assert!(out.status.success(), "re-run with a changed prometheus.yml:\n{said}");
    assert!(said.contains("prometheus reloaded"), "{said}");
    assert!(!said.contains("nginx reloaded"), "{said}");
    assert_eq!(id_of(&s, "prometheus"), prometheus, "prometheus was recreated:\n{said}");
    assert!(
        prometheus_config(&s).contains("lst_reload: two"),
        "{}",
        prometheus_config(&s)
    );
    let out = install_with(&s, Some(HEADER_TWO), Some(LABEL_TWO));
    assert!(
        out.status.success() && !text(&out).contains("reloaded"),
        "{}",
        text(&out)
    );

    // A file nginx refuses: exit 1 naming it and nginx's message; the old one keeps serving.
    let poller = Poller::start(s.nginx);
    std::thread::sleep(Duration::from_secs(1));
    let out = install_with(&s, Some(&format!("{HEADER_TWO}\n{BROKEN}")), Some(LABEL_TWO));
    std::thread::sleep(Duration::from_secs(1));
    let (failures, requests) = poller.finish();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        failures.is_empty(),
        "failed requests through nginx: {failures:?}\n{said}"
    );
    assert!(requests > 20, "the poller made only {requests} requests");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nginx/nginx.conf"), "{said}");
    assert!(
        stderr.contains("unknown directive") && stderr.contains("lst_no_such_directive"),
        "nginx's own message: {said}"
    );
    assert!(!said.contains("nginx reloaded"), "{said}");
    assert_eq!(id_of(&s, "nginx"), nginx, "nginx was recreated:\n{said}");
    assert_eq!(
        header(&s, "/nginx-health", "X-Lst-Reload").as_deref(),
        Some("two"),
        "the previous configuration serves"
    );
    assert_ne!(
        recorded(&s)["containers"][&nginx]["sha256"].as_str(),
        Some(sha256_of_file(&conf).as_str()),
        "the refused file is not recorded as loaded"
    );

    // The file as before: what nginx has loaded, nothing to reload.
    let out = install_with(&s, Some(HEADER_TWO), Some(LABEL_TWO));
    let said = text(&out);
    assert!(out.status.success(), "re-run after the refused file:\n{said}");
    assert!(!said.contains("reloaded"), "{said}");
    assert_eq!(id_of(&s, "nginx"), nginx);

    // Compose sees the stack as its own: nothing recreated.
    let before = s.containers();
    let up = s.compose(&["up", "-d"]);
    assert!(up.status.success(), "docker compose up -d:\n{}", text(&up));
    assert_eq!(s.containers(), before, "docker compose up -d recreated a container");
}

#[test]
fn an_nginx_of_the_previous_layout_is_recreated_once_onto_the_folder_then_reloaded() {
    let s = TestStack::new("reloadold");
    install_ok(&s, None, "first install");
    // nginx as the previous version made it: nginx.conf mounted as a single file over the
    // image's, the image's own command, that version's labels (its hash is another one).
    let name = s.container("nginx");
    let labels = docker_ok(&["inspect", "--format", "{{json .Config.Labels}}", &name]);
    let labels: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&labels).expect("labels");
    docker_ok(&["rm", "-f", &name]);
    let mut args: Vec<String> = vec![
        "run".into(),
        "-d".into(),
        "--name".into(),
        name.clone(),
        "--network".into(),
        format!("{}_default", s.project),
        "--network-alias".into(),
        "nginx".into(),
        "-p".into(),
        format!("0.0.0.0:{}:80", s.nginx),
        "-v".into(),
        format!(
            "{}:/etc/nginx/nginx.conf:ro",
            s.dir().join("nginx/nginx.conf").display()
        ),
    ];
    for (k, v) in &labels {
        let v = match k.as_str() {
            "io.litellm-stack.config-hash" => "made-by-the-previous-version".to_string(),
            "com.docker.compose.config-hash" => "previous-compose-hash".to_string(),
            _ => v.as_str().unwrap_or_default().to_string(),
        };
        args.push("--label".into());
        args.push(format!("{k}={v}"));
    }
    args.push(s.images["nginx"].clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    docker_ok(&args);
    let old = id_of(&s, "nginx");
    common::run::wait_for(Duration::from_secs(30), "the previous nginx answers", || {
        common::http_status(s.nginx, "/nginx-health") == Some(200)
    });

    // Recreated once, onto the folder.
    let said = install_ok(&s, None, "re-run over the previous layout");
    let new = id_of(&s, "nginx");
    assert_ne!(new, old, "the previous layout's nginx was kept:\n{said}");
    let mounts = docker_ok(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Source}}={{.Destination}};{{end}}",
        &new,
    ]);
    assert_eq!(
        mounts,
        format!("{}=/etc/nginx/litellm-stack;", s.dir().join("nginx").display())
    );
    let cmd = docker_ok(&["inspect", "--format", "{{json .Config.Cmd}}", &new]);
    assert_eq!(
        cmd,
        r#"["nginx","-c","/etc/nginx/litellm-stack/nginx.conf","-g","daemon off;"]"#
    );

    // From then on a changed nginx.conf is reloaded.
    let said = install_ok(&s, Some(HEADER_TWO), "re-run with a changed nginx.conf");
    assert!(said.contains("nginx reloaded"), "{said}");
    assert_eq!(id_of(&s, "nginx"), new, "nginx was recreated:\n{said}");
    assert_eq!(header(&s, "/nginx-health", "X-Lst-Reload").as_deref(), Some("two"));
}
