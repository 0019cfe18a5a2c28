//! The config hash Docker Compose v2 computes for a service of the generated
//! `docker-compose.yml` (`docker compose config --hash '*'`), so that Compose sees the
//! installer's containers as its own and `docker compose up -d` recreates nothing.
//!
//! Compose 2.26 hashes the service as compose-go models it after loading: `json.Marshal` of
//! the service (fields in compose-go's order, empty ones left out, `command` and `entrypoint`
//! always present), with `.env` interpolated and `$$` unescaped; `sha256`, hex. Only the
//! fields the generated file uses are modelled here, in that order. `tests/compose_e2e.rs`
//! compares the result with what the Compose on the CI machine prints, so a change of the
//! algorithm in a later Compose shows up as a failing test, not as a silent recreation.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::spec::sha256_hex;
use crate::platform::join_rel;
use crate::secrets::Secret;
use crate::stack::{Condition, MountSource, Service};

#[derive(Serialize)]
struct ServiceJson<'a> {
    command: Option<&'a [String]>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    depends_on: BTreeMap<&'a str, DependsOn>,
    entrypoint: Option<&'a [String]>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<HealthJson>,
    image: &'a str,
    networks: BTreeMap<&'static str, Option<()>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<PortJson<'a>>,
    restart: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<VolumeJson<'a>>,
}

#[derive(Serialize)]
struct DependsOn {
    condition: &'static str,
    required: bool,
}

#[derive(Serialize)]
struct HealthJson {
    test: [String; 2],
    timeout: String,
    interval: String,
    retries: u32,
    start_period: String,
}

#[derive(Serialize)]
struct PortJson<'a> {
    mode: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    host_ip: &'a str,
    target: u16,
    published: String,
    protocol: &'static str,
}

#[derive(Serialize)]
struct VolumeJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    source: String,
    target: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    bind: Option<BindJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    volume: Option<Empty>,
}

#[derive(Serialize)]
struct BindJson {
    create_host_path: bool,
}

#[derive(Serialize)]
struct Empty {}

/// Go's `time.Duration.String()` for whole seconds: `5s`, `1m0s`, `1h0m0s`.
fn go_duration(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings, which
/// serde_json writes as they are; outside strings these characters never occur.
fn go_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Compose's hash of `service`, whose environment values (`env`, in the service's order) are
/// already resolved from `.env`; `dir` is the install dir (Compose's working dir).
pub fn service_hash(dir: &Path, service: &Service, env: &[(String, Secret)]) -> String {
    let depends_on = service
        .depends_on
        .iter()
        .map(|(name, cond)| {
            let condition = match cond {
                Condition::Started => "service_started",
                Condition::Healthy => "service_healthy",
            };
            (
                *name,
                DependsOn {
                    condition,
                    required: true,
                },
            )
        })
        .collect();
    let json = ServiceJson {
        command: service.command.as_deref(),
        depends_on,
        entrypoint: service.entrypoint.as_deref(),
        environment: env.iter().map(|(k, v)| (k.as_str(), v.expose())).collect(),
        healthcheck: service.healthcheck.as_ref().map(|h| HealthJson {
            test: ["CMD-SHELL".into(), h.shell.clone()],
            timeout: go_duration(h.timeout_s),
            interval: go_duration(h.interval_s),
            retries: h.retries,
            start_period: go_duration(h.start_period_s),
        }),
        image: &service.image,
        networks: BTreeMap::from([("default", None)]),
        ports: service
            .ports
            .iter()
            .map(|p| PortJson {
                mode: "ingress",
                host_ip: &p.host_ip,
                target: p.container_port,
                published: p.host_port.to_string(),
                protocol: "tcp",
            })
            .collect(),
        restart: service.restart,
        user: service.user.as_deref(),
        volumes: service
            .mounts
            .iter()
            .map(|m| match &m.source {
                MountSource::Bind(rel) => VolumeJson {
                    kind: "bind",
                    source: join_rel(dir, rel).display().to_string(),
                    target: &m.target,
                    read_only: m.read_only,
                    bind: Some(BindJson { create_host_path: true }),
                    volume: None,
                },
                MountSource::Volume(name) => VolumeJson {
                    kind: "volume",
                    source: name.clone(),
                    target: &m.target,
                    read_only: m.read_only,
                    bind: None,
                    volume: Some(Empty {}),
                },
            })
            .collect(),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let text = serde_json::to_string(&json).unwrap_or_default();
    sha256_hex(go_escape(&text).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(5), "5s");
        assert_eq!(go_duration(60), "1m0s");
        assert_eq!(go_duration(90), "1m30s");
        assert_eq!(go_duration(3600), "1h0m0s");
    }

    /// A service with every field the hash models, and the hash Compose 2.26.1 printed for
    /// the same service (`docker compose -p h13b config --hash a` in /tmp/h13b, the compose
    /// file in the comment below). The live comparison on the generated stack is in
    /// tests/compose_e2e.rs; this pins the fields a default stack does not use.
    ///
    /// ```yaml
    /// services:
    ///   a:
    ///     image: x:1
    ///     entrypoint: ["sh", "-c"]
    ///     command: ["echo $$HOME"]
    ///     user: "1000:1000"
    ///     environment: { LIT: 'a$$b<c>&d 中文', EMPTY: '' }
    ///     volumes: [ "data:/var/lib/x", "./f.txt:/f.txt" ]
    ///     healthcheck: { test: ["CMD-SHELL", "true"], interval: 90s, timeout: 3600s, retries: 3, start_period: 0s }
    ///     restart: unless-stopped
    /// volumes: { data: {} }
    /// ```
    ///
    /// Unix only: the bind source is an absolute path joined the host's way, and this value is
    /// the Linux one (Compose on Windows hashes `C:\…` paths; not seen live).
    #[cfg(unix)]
    #[test]
    fn matches_what_compose_2_26_printed_for_a_service_using_every_field() {
        use crate::stack::{Healthcheck, Mount};
        let service = Service {
            name: "a",
            image: "x:1".into(),
            entrypoint: Some(vec!["sh".into(), "-c".into()]),
            command: Some(vec!["echo $HOME".into()]),
            environment: vec![],
            ports: vec![],
            mounts: vec![
                Mount {
                    source: MountSource::Volume("data".into()),
                    target: "/var/lib/x".into(),
                    read_only: false,
                },
                Mount {
                    source: MountSource::Bind("f.txt".into()),
                    target: "/f.txt".into(),
                    read_only: false,
                },
            ],
            healthcheck: Some(Healthcheck {
                shell: "true".into(),
                interval_s: 90,
                timeout_s: 3600,
                retries: 3,
                start_period_s: 0,
            }),
            depends_on: vec![],
            restart: "unless-stopped",
            user: Some("1000:1000".into()),
        };
        let env = vec![
            ("LIT".to_string(), Secret::new("a$b<c>&d 中文")),
            ("EMPTY".to_string(), Secret::new("")),
        ];
        assert_eq!(
            service_hash(Path::new("/tmp/h13b"), &service, &env),
            "df1c4e378d8a3914ab940a1e0bb4bcf9f16fdf683d7e91a3ed5e957cb4f5446b"
        );
    }
}
