//! From the stack model to what the engine creates: names and labels as Compose gives them,
//! and a config hash that changes exactly when a container must be recreated.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{
    COMPOSE_VERSION, ContainerSpec, HealthSpec, LABEL_COMPOSE_CONFIG_HASH, LABEL_COMPOSE_IMAGE, LABEL_COMPOSE_VERSION,
    LABEL_CONFIG_FILES, LABEL_CONFIG_HASH, LABEL_DEPENDS_ON, LABEL_MANAGED, LABEL_NETWORK, LABEL_NUMBER, LABEL_ONEOFF,
    LABEL_PROJECT, LABEL_SERVICE, LABEL_VOLUME, LABEL_WORKING_DIR, MountSourceSpec, MountSpec, PublishedPort,
    compose_hash,
};
use crate::error::{Error, Result};
use crate::platform::join_rel;
use crate::secrets::{DotEnv, Secret};
use crate::stack::Condition;
use crate::stack::{EnvValue, MountSource, Service, Stack};

/// `<project>-<service>-1`, Compose v2's name (v1 used `_`; both find it by labels).
pub fn container_name(project: &str, service: &str) -> String {
    format!("{project}-{service}-1")
}

pub fn network_name(project: &str) -> String {
    format!("{project}_default")
}

pub fn volume_name(project: &str, volume: &str) -> String {
    format!("{project}_{volume}")
}

pub fn network_labels(project: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_PROJECT.to_string(), project.to_string()),
        (LABEL_NETWORK.to_string(), "default".to_string()),
        (LABEL_COMPOSE_VERSION.to_string(), COMPOSE_VERSION.to_string()),
        (LABEL_MANAGED.to_string(), "true".to_string()),
    ])
}

pub fn volume_labels(project: &str, volume: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_PROJECT.to_string(), project.to_string()),
        (LABEL_VOLUME.to_string(), volume.to_string()),
        (LABEL_COMPOSE_VERSION.to_string(), COMPOSE_VERSION.to_string()),
        (LABEL_MANAGED.to_string(), "true".to_string()),
    ])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// What a bind mount contributes to the hash: a file's content (config.yaml, prometheus.yml),
/// not a folder's (data, the metrics key's, nginx's configuration: a changed nginx.conf is
/// reloaded into the running nginx, `steps::reload`, not a reason to recreate it).
fn mount_fingerprint(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => "dir".into(),
        Ok(_) => match std::fs::read(path) {
            Ok(bytes) => sha256_hex(&bytes),
            Err(e) => format!("unreadable:{}", e.kind()),
        },
        Err(_) => "missing".into(),
    }
}

/// Compose's `depends_on` label: `name:condition:restart`, comma-separated (sorted here;
/// Compose writes them in map order).
fn depends_on_label(service: &Service) -> String {
    let mut deps: Vec<String> = service
        .depends_on
        .iter()
        .map(|(name, cond)| {
            let cond = match cond {
                Condition::Started => "service_started",
                Condition::Healthy => "service_healthy",
            };
            format!("{name}:{cond}:false")
        })
        .collect();
    deps.sort();
    deps.join(",")
}

fn modified_s(path: &Path) -> Option<i64> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    let modified = meta.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_secs()).ok()
}

/// The container spec of `service`, with `image_id` (what the reference resolves to now) in
/// its config hash. Env values from `.env` are resolved here and only here.
pub fn container_spec(stack: &Stack, service: &Service, dotenv: &DotEnv, image_id: &str) -> Result<ContainerSpec> {
    let project = &stack.project;
    let mut env = Vec::new();
    for (key, value) in &service.environment {
        let v = match value {
            EnvValue::Literal(l) => Secret::new(l.clone()),
            EnvValue::FromDotenv(name) => dotenv.get(name).cloned().ok_or_else(|| {
                Error::input(
                    msg!("engine.spec.env_missing")
                        .arg("name", name)
                        .arg("service", service.name),
                )
                .hint(msg!("engine.spec.env_missing.hint"))
            })?,
        };
        env.push((key.clone(), v));
    }
    let mut mounts = Vec::new();
    let mut mount_prints = Vec::new();
    let mut newest_file = None;
    for m in &service.mounts {
        let source = match &m.source {
            MountSource::Bind(rel) => {
                let path = join_rel(&stack.dir, rel);
                mount_prints.push(format!("{rel}={}", mount_fingerprint(&path)));
                newest_file = newest_file.max(modified_s(&path));
                MountSourceSpec::Bind(path.display().to_string())
            }
            MountSource::Volume(v) => MountSourceSpec::Volume(volume_name(project, v)),
        };
        mounts.push(MountSpec {
            source,
            target: m.target.clone(),
            read_only: m.read_only,
        });
    }
    let mut labels = BTreeMap::from([
        (LABEL_PROJECT.to_string(), project.clone()),
        (LABEL_SERVICE.to_string(), service.name.to_string()),
        (LABEL_ONEOFF.to_string(), "False".to_string()),
        (LABEL_NUMBER.to_string(), "1".to_string()),
        (LABEL_WORKING_DIR.to_string(), stack.dir.display().to_string()),
        (
            LABEL_CONFIG_FILES.to_string(),
            join_rel(&stack.dir, "docker-compose.yml").display().to_string(),
        ),
        (LABEL_COMPOSE_VERSION.to_string(), COMPOSE_VERSION.to_string()),
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (
            LABEL_COMPOSE_CONFIG_HASH.to_string(),
            compose_hash::service_hash(&stack.dir, service, &env),
        ),
        (LABEL_COMPOSE_IMAGE.to_string(), image_id.to_string()),
    ]);
    if !service.depends_on.is_empty() {
        labels.insert(LABEL_DEPENDS_ON.to_string(), depends_on_label(service));
    }
    let mut spec = ContainerSpec {
        service: service.name.to_string(),
        name: container_name(project, service.name),
        image: service.image.clone(),
        entrypoint: service.entrypoint.clone(),
        cmd: service.command.clone(),
        env,
        user: service.user.clone(),
        labels: labels.clone(),
        ports: service
            .ports
            .iter()
            .map(|p| PublishedPort {
                host_ip: p.host_ip.clone(),
                host_port: p.host_port,
                container_port: p.container_port,
            })
            .collect(),
        mounts,
        healthcheck: service.healthcheck.as_ref().map(|h| HealthSpec {
            shell: h.shell.clone(),
            interval_s: h.interval_s,
            timeout_s: h.timeout_s,
            retries: h.retries,
            start_period_s: h.start_period_s,
        }),
        restart: service.restart.to_string(),
        network: Some(network_name(project)),
        aliases: vec![service.name.to_string()],
        newest_file,
    };
    labels.insert(
        LABEL_CONFIG_HASH.to_string(),
        config_hash(&spec, image_id, &mount_prints),
    );
    spec.labels = labels;
    Ok(spec)
}

/// Everything the container is made from, hashed: the image ID, the settings, the content of
/// its mounted files and a hash of each env value (the label is visible; values are not).
pub fn config_hash(spec: &ContainerSpec, image_id: &str, mount_prints: &[String]) -> String {
    let mut text = String::new();
    let mut line = |k: &str, v: &str| {
        text.push_str(k);
        text.push('=');
        text.push_str(v);
        text.push('\n');
    };
    line("image-id", image_id);
    line("name", &spec.name);
    line("entrypoint", &format!("{:?}", spec.entrypoint));
    line("cmd", &format!("{:?}", spec.cmd));
    line("user", &format!("{:?}", spec.user));
    for (k, v) in &spec.env {
        line("env", &format!("{k}:{}", sha256_hex(v.expose().as_bytes())));
    }
    for p in &spec.ports {
        line("port", &format!("{}:{}:{}", p.host_ip, p.host_port, p.container_port));
    }
    for m in &spec.mounts {
        line("mount", &format!("{:?}:{}:{}", m.source, m.target, m.read_only));
    }
    for p in mount_prints {
        line("mounted", p);
    }
    if let Some(h) = &spec.healthcheck {
        line(
            "health",
            &format!(
                "{}|{}|{}|{}|{}",
                h.shell, h.interval_s, h.timeout_s, h.retries, h.start_period_s
            ),
        );
    }
    line("restart", &spec.restart);
    line("network", &format!("{:?}:{:?}", spec.network, spec.aliases));
    for (k, v) in &spec.labels {
        if k != LABEL_CONFIG_HASH {
            line("label", &format!("{k}:{v}"));
        }
    }
    sha256_hex(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Answers;
    use crate::platform::Os;
    use crate::secrets::{ExistingEnv, Secrets};

    fn fixture(dir: &Path) -> (Stack, DotEnv) {
        let mut a = Answers::defaults_for(Os::Linux);
        a.dir = dir.to_path_buf();
        a.project = Some("demo".into());
        let existing = ExistingEnv::default();
        let dotenv = crate::render::env::build(&a, &Secrets::placeholders(), &existing, &|_| None);
        (Stack::from_answers(&a, Os::Linux), dotenv)
    }

    fn hash_of(stack: &Stack, dotenv: &DotEnv, service: &str, image: &str) -> String {
        let svc = stack.service(service).expect("service");
        let spec = container_spec(stack, svc, dotenv, image).expect("spec");
        spec.labels[LABEL_CONFIG_HASH].clone()
    }

    #[test]
    fn names_and_labels_follow_compose() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (stack, dotenv) = fixture(dir.path());
        let spec = container_spec(&stack, &stack.services[0], &dotenv, "sha256:1").expect("spec");
        assert_eq!(spec.name, "demo-postgres-1");
        assert_eq!(spec.labels[LABEL_PROJECT], "demo");
        assert_eq!(spec.labels[LABEL_SERVICE], "postgres");
        assert_eq!(spec.labels[LABEL_ONEOFF], "False");
        assert_eq!(spec.network.as_deref(), Some("demo_default"));
        assert!(spec.labels[LABEL_CONFIG_FILES].ends_with("docker-compose.yml"));
        // Secrets are resolved from .env for the engine, and never shown in a debug print.
        assert!(spec.env.iter().any(|(k, v)| k == "POSTGRES_PASSWORD" && !v.is_empty()));
        assert!(!format!("{spec:?}").contains("PLACEHOLDER"));
    }

    #[test]
    fn hash_changes_with_mounted_file_content_env_values_and_image() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (stack, dotenv) = fixture(dir.path());
        std::fs::write(dir.path().join("config.yaml"), "model_list: []\n").expect("write");
        let before = hash_of(&stack, &dotenv, "litellm", "sha256:1");
        assert_eq!(before, hash_of(&stack, &dotenv, "litellm", "sha256:1"), "stable");
        assert_ne!(before, hash_of(&stack, &dotenv, "litellm", "sha256:2"), "image");
        std::fs::write(dir.path().join("config.yaml"), "model_list: [x]\n").expect("write");
        let after_config = hash_of(&stack, &dotenv, "litellm", "sha256:1");
        assert_ne!(before, after_config, "config.yaml content");
        // Postgres mounts no file that changed: its hash stays.
        let mut other_env = dotenv.clone();
        for (k, v) in other_env.entries.iter_mut() {
            if k == "LITELLM_MASTER_KEY" {
                *v = Secret::new("sk-another-key-entirely-000000000000");
            }
        }
        assert_ne!(
            after_config,
            hash_of(&stack, &other_env, "litellm", "sha256:1"),
            "env value"
        );
        assert_eq!(
            hash_of(&stack, &dotenv, "postgres", "sha256:1"),
            hash_of(&stack, &other_env, "postgres", "sha256:1")
        );
        // The label carries no secret.
        assert!(!after_config.contains("PLACEHOLDER"));
    }

    /// reload: nginx.conf and prometheus.yml are reloaded into the running containers
    /// (steps::reload), so their content is not a reason to recreate; their folder mount and
    /// the command naming the file are in the hash (an install of the previous layout, the
    /// file mounted alone, is recreated once).
    #[test]
    fn nginx_and_prometheus_are_not_recreated_for_their_config_files_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (stack, dotenv) = fixture(dir.path());
        std::fs::create_dir_all(dir.path().join("nginx")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("prometheus")).expect("mkdir");
        std::fs::write(dir.path().join("nginx/nginx.conf"), "events {}\n").expect("write");
        std::fs::write(dir.path().join("prometheus/prometheus.yml"), "global: {}\n").expect("write");
        let nginx = hash_of(&stack, &dotenv, "nginx", "sha256:1");
        let prometheus = hash_of(&stack, &dotenv, "prometheus", "sha256:1");
        std::fs::write(dir.path().join("nginx/nginx.conf"), "events {}\nhttp {}\n").expect("write");
        std::fs::write(dir.path().join("prometheus/prometheus.yml"), "global: {x: 1}\n").expect("write");
        assert_eq!(nginx, hash_of(&stack, &dotenv, "nginx", "sha256:1"));
        assert_eq!(prometheus, hash_of(&stack, &dotenv, "prometheus", "sha256:1"));
        let spec = container_spec(&stack, stack.service("nginx").expect("nginx"), &dotenv, "sha256:1").expect("spec");
        assert_eq!(
            spec.newest_file, None,
            "a folder has no file time for Compose's containers either"
        );

        let mut previous = stack.clone();
        for s in previous.services.iter_mut().filter(|s| s.name == "nginx") {
            s.command = None;
            s.mounts[0].source = MountSource::Bind("nginx/nginx.conf".into());
            s.mounts[0].target = "/etc/nginx/nginx.conf".into();
        }
        assert_ne!(
            nginx,
            hash_of(&previous, &dotenv, "nginx", "sha256:1"),
            "the previous layout"
        );
    }
}
