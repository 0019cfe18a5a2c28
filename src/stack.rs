//! The single description of the deployment. The compose file and the Engine API calls are
//! both produced from it, so they cannot drift apart.

use std::path::PathBuf;

use crate::answers::Answers;
use crate::platform::{DataStorage, Os};

/// The port LiteLLM listens on inside its container. Every reference to the proxy from
/// inside the network uses this, never the host port (errata 1–4).
pub const LITELLM_PORT: u16 = 4000;
pub const POSTGRES_PORT: u16 = 5432;
pub const REDIS_PORT: u16 = 6379;
pub const NGINX_PORT: u16 = 80;
pub const PROMETHEUS_PORT: u16 = 9090;
/// Prometheus runs as `nobody` (errata 21).
pub const PROMETHEUS_UID: u32 = 65534;

/// Where Prometheus finds the bearer credential for LiteLLM's `/metrics/`: a virtual key
/// limited to that route (`steps::metrics_key`), never the master key. Its folder is mounted,
/// not the file: a key replaced by rename is a new file, which a file mount would not show
/// (it keeps the old one), and Prometheus reads the file again at every scrape.
pub const METRICS_KEY_DIR: &str = "prometheus/secrets";
pub const METRICS_KEY_FILE: &str = "prometheus/secrets/litellm_metrics_key";
pub const METRICS_KEY_DIR_IN_CONTAINER: &str = "/etc/prometheus/secrets";
pub const METRICS_KEY_IN_CONTAINER: &str = "/etc/prometheus/secrets/litellm_metrics_key";
/// Where versions before the metrics-only key kept a copy of the master key for Prometheus:
/// removed once the metrics key is in place.
pub const LEGACY_METRICS_KEY_FILE: &str = "prometheus/litellm_metrics_key";

/// nginx's configuration: its folder is mounted and nginx started with `-c` on the file in it,
/// so that a changed nginx.conf (replaced by rename) is seen by a reload; a file mount keeps
/// the old file. Its content is not in the container's hash: a change is reloaded
/// (`steps::reload`), the container stays.
pub const NGINX_CONF_DIR: &str = "nginx";
pub const NGINX_CONF_FILE: &str = "nginx/nginx.conf";
pub const NGINX_CONF_DIR_IN_CONTAINER: &str = "/etc/nginx/litellm-stack";
pub const NGINX_CONF_IN_CONTAINER: &str = "/etc/nginx/litellm-stack/nginx.conf";

/// Prometheus's configuration, the same way: its folder mounted, the file named by
/// `--config.file`, a change reloaded by SIGHUP (`steps::reload`).
pub const PROMETHEUS_CONF_DIR: &str = "prometheus";
pub const PROMETHEUS_CONF_FILE: &str = "prometheus/prometheus.yml";
pub const PROMETHEUS_CONF_DIR_IN_CONTAINER: &str = "/etc/prometheus/litellm-stack";
pub const PROMETHEUS_CONF_IN_CONTAINER: &str = "/etc/prometheus/litellm-stack/prometheus.yml";

/// The answer of the smoke-test model, which needs no provider key: config.yaml sets it as
/// the model's mock response, and the API test expects it back.
pub const SMOKE_TEST_ANSWER: &str = "pong";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub project: String,
    pub dir: PathBuf,
    pub os: Os,
    /// In start order: each service comes after the ones it depends on.
    pub services: Vec<Service>,
    /// Named volumes (data on Docker Desktop), by their name in the compose file.
    pub volumes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: &'static str,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    /// Exactly as the container receives it: `$` here is the container shell's, not Compose's.
    pub command: Option<Vec<String>>,
    pub environment: Vec<(String, EnvValue)>,
    pub ports: Vec<Port>,
    pub mounts: Vec<Mount>,
    pub healthcheck: Option<Healthcheck>,
    pub depends_on: Vec<(&'static str, Condition)>,
    pub restart: &'static str,
    pub user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// Taken from `.env`: Compose interpolates `${NAME}`; the engine reads the value itself.
    FromDotenv(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A path relative to the install dir, with `/` separators.
    Bind(String),
    /// A named volume, by its name in the compose file (the engine prefixes the project).
    Volume(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    /// A `CMD-SHELL` command.
    pub shell: String,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub retries: u32,
    pub start_period_s: u32,
}

impl Healthcheck {
    /// How long Docker may take at most to call a starting container unhealthy.
    pub fn deadline_s(&self) -> u32 {
        self.start_period_s + self.interval_s * (self.retries + 1) + self.timeout_s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Started,
    Healthy,
}

impl Stack {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// Builds the stack from validated answers, for `os`.
    pub fn from_answers(a: &Answers, os: Os) -> Stack {
        let data = |bind_dir: &str, volume: &str| match a.data {
            DataStorage::Bind => MountSource::Bind(bind_dir.into()),
            DataStorage::Volumes => MountSource::Volume(volume.into()),
        };
        let port = |ip: &str, host: Option<u32>, container: u16| -> Vec<Port> {
            host.map(|h| Port {
                host_ip: ip.into(),
                host_port: h as u16,
                container_port: container,
            })
            .into_iter()
            .collect()
        };
        let dotenv = |k: &str| (k.to_string(), EnvValue::FromDotenv(k.into()));
        let literal = |k: &str, v: &str| (k.to_string(), EnvValue::Literal(v.into()));

        let mut services = Vec::new();
        services.push(Service {
            name: "postgres",
            image: a.images.reference("postgres"),
            entrypoint: None,
            command: None,
            environment: vec![
                dotenv("POSTGRES_USER"),
                dotenv("POSTGRES_PASSWORD"),
                dotenv("POSTGRES_DB"),
            ],
            ports: port(&a.bind.postgres, a.ports.postgres, POSTGRES_PORT),
            mounts: vec![Mount {
                source: data("pg_data", "pg_data"),
                target: "/var/lib/postgresql/data".into(),
                read_only: false,
            }],
            healthcheck: Some(Healthcheck {
                shell: r#"pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB""#.into(),
                interval_s: 2,
                timeout_s: 5,
                retries: 30,
                start_period_s: 10,
            }),
            depends_on: vec![],
            restart: "unless-stopped",
            user: None,
        });
        services.push(Service {
            name: "redis",
            image: a.images.reference("redis"),
            entrypoint: None,
            // The password comes from the environment so it is in neither the compose file nor
            // `docker inspect`'s command line.
            command: Some(vec![
                "sh".into(),
                "-c".into(),
                r#"exec redis-server --appendonly yes --requirepass "$REDIS_PASSWORD""#.into(),
            ]),
            environment: vec![dotenv("REDIS_PASSWORD")],
            ports: port(&a.bind.redis, a.ports.redis, REDIS_PORT),
            mounts: vec![Mount {
                source: data("redis_data", "redis_data"),
                target: "/data".into(),
                read_only: false,
            }],
            healthcheck: Some(Healthcheck {
                shell: r#"redis-cli --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG"#.into(),
                interval_s: 2,
                timeout_s: 5,
                retries: 30,
                start_period_s: 5,
            }),
            depends_on: vec![],
            restart: "unless-stopped",
            user: None,
        });
        let mut litellm_env = vec![
            dotenv("LITELLM_MASTER_KEY"),
            dotenv("LITELLM_SALT_KEY"),
            dotenv("DATABASE_URL"),
            dotenv("REDIS_HOST"),
            dotenv("REDIS_PORT"),
            dotenv("REDIS_PASSWORD"),
            literal("STORE_MODEL_IN_DB", "True"),
            // Use the price map shipped in the image; no fetch from the internet at start.
            literal("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
        ];
        litellm_env.extend(a.provider_key_vars().iter().map(|v| dotenv(v)));
        services.push(Service {
            name: "litellm",
            image: a.images.reference("litellm"),
            entrypoint: None,
            // errata 6: the config is mounted and used.
            command: Some(vec![
                "--config".into(),
                "/app/config.yaml".into(),
                "--port".into(),
                LITELLM_PORT.to_string(),
            ]),
            environment: litellm_env,
            ports: port(&a.bind.litellm, a.ports.litellm, LITELLM_PORT),
            mounts: vec![Mount {
                source: MountSource::Bind("config.yaml".into()),
                target: "/app/config.yaml".into(),
                read_only: true,
            }],
            // errata 2: the probe opens the port the proxy listens on in the container.
            healthcheck: Some(Healthcheck {
                shell: format!(
                    "python3 -c \"import urllib.request; urllib.request.urlopen('http://localhost:{LITELLM_PORT}/health/liveliness')\""
                ),
                interval_s: 5,
                timeout_s: 5,
                retries: 24,
                start_period_s: 60,
            }),
            // errata 15: the proxy starts once its database and cache accept connections.
            depends_on: vec![("postgres", Condition::Healthy), ("redis", Condition::Healthy)],
            restart: "unless-stopped",
            user: None,
        });
        if a.services.nginx {
            services.push(Service {
                name: "nginx",
                image: a.images.reference("nginx"),
                entrypoint: None,
                // The image's own command, with the mounted file as nginx's configuration.
                command: Some(vec![
                    "nginx".into(),
                    "-c".into(),
                    NGINX_CONF_IN_CONTAINER.into(),
                    "-g".into(),
                    "daemon off;".into(),
                ]),
                environment: vec![],
                ports: port(&a.bind.nginx, Some(a.ports.nginx), NGINX_PORT),
                mounts: vec![Mount {
                    source: MountSource::Bind(NGINX_CONF_DIR.into()),
                    target: NGINX_CONF_DIR_IN_CONTAINER.into(),
                    read_only: true,
                }],
                healthcheck: Some(Healthcheck {
                    shell: format!("curl -fsS http://127.0.0.1:{NGINX_PORT}/nginx-health >/dev/null"),
                    interval_s: 5,
                    timeout_s: 5,
                    retries: 12,
                    start_period_s: 5,
                }),
                // nginx re-resolves the proxy through Docker's DNS (errata 19), so it may start
                // as soon as the proxy's container exists.
                depends_on: vec![("litellm", Condition::Started)],
                restart: "unless-stopped",
                user: None,
            });
        }
        if a.services.prometheus {
            services.push(Service {
                name: "prometheus",
                image: a.images.reference("prometheus"),
                entrypoint: None,
                command: Some(vec![
                    format!("--config.file={PROMETHEUS_CONF_IN_CONTAINER}"),
                    "--storage.tsdb.path=/prometheus".into(),
                    "--storage.tsdb.retention.time=15d".into(),
                ]),
                environment: vec![],
                ports: port(&a.bind.prometheus, a.ports.prometheus, PROMETHEUS_PORT),
                mounts: vec![
                    Mount {
                        source: MountSource::Bind(PROMETHEUS_CONF_DIR.into()),
                        target: PROMETHEUS_CONF_DIR_IN_CONTAINER.into(),
                        read_only: true,
                    },
                    Mount {
                        source: MountSource::Bind(METRICS_KEY_DIR.into()),
                        target: METRICS_KEY_DIR_IN_CONTAINER.into(),
                        read_only: true,
                    },
                    Mount {
                        source: data("prometheus_data", "prometheus_data"),
                        target: "/prometheus".into(),
                        read_only: false,
                    },
                ],
                healthcheck: Some(Healthcheck {
                    shell: format!("wget -q -O /dev/null http://127.0.0.1:{PROMETHEUS_PORT}/-/ready"),
                    interval_s: 5,
                    timeout_s: 5,
                    retries: 12,
                    start_period_s: 5,
                }),
                depends_on: vec![("litellm", Condition::Started)],
                restart: "unless-stopped",
                user: None,
            });
        }
        let volumes = match a.data {
            DataStorage::Bind => vec![],
            DataStorage::Volumes => {
                let mut v = vec!["pg_data".to_string(), "redis_data".to_string()];
                if a.services.prometheus {
                    v.push("prometheus_data".into());
                }
                v
            }
        };
        Stack {
            project: a.project_name(),
            dir: a.dir.clone(),
            os,
            services,
            volumes,
        }
    }

    /// The folders of the SOP tree (section 2), relative to the install dir.
    pub fn tree() -> &'static [&'static str] {
        &[
            "nginx",
            "prometheus",
            METRICS_KEY_DIR,
            "pg_data",
            "redis_data",
            "prometheus_data",
            "backups",
        ]
    }
}
