//! Everything the user chose: loaded from the wizard, an answers file or flags, validated with
//! errors that name the field, and saved in the install dir without secrets.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::platform::{self, DataStorage, Os};

mod check;
pub use check::{
    FieldError, STACK_CONTAINER_ENV_KEYS, STACK_ENV_KEYS, check_api_base, check_api_key_env, check_api_version,
    check_bind_addr, check_env_var_name, check_image_mirror, check_image_reference, check_install_dir,
    check_model_name, check_no_control, check_port, check_project_name, check_provider_model, is_env_var_name,
    is_valid_image_reference, ports_collide, reserved_env_var,
};

/// The file in the install dir that records the answers of the last run (no secrets).
pub const SAVED_ANSWERS: &str = "answers.yaml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Answers {
    /// Absolute install directory. `~` is expanded.
    pub dir: PathBuf,
    /// `zh-TW` or `en`; unset: from the locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<Lang>,
    /// The Compose project name; unset: the install dir's name, as Compose does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `bind` (folders of the SOP tree) or `volumes` (Docker named volumes).
    pub data: DataStorage,
    pub ports: Ports,
    pub bind: Binds,
    pub services: Optional,
    pub images: Images,
    pub pull: PullPolicy,
    pub models: Vec<Model>,
    /// Adds `smoke-test`, a model that answers "pong" without any provider key.
    pub smoke_test_model: bool,
    /// `litellm-stack backup`: how many archives `backups/` keeps.
    #[serde(skip_serializing_if = "BackupAnswers::is_default")]
    pub backup: BackupAnswers,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupAnswers {
    /// The newest `keep` archives in `backups/` stay; older ones go (the newest never does).
    pub keep: u32,
}

impl Default for BackupAnswers {
    fn default() -> Self {
        BackupAnswers { keep: 7 }
    }
}

impl BackupAnswers {
    fn is_default(&self) -> bool {
        *self == BackupAnswers::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ports {
    pub nginx: u32,
    pub litellm: Option<u32>,
    pub prometheus: Option<u32>,
    pub postgres: Option<u32>,
    pub redis: Option<u32>,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            nginx: 80,
            litellm: Some(4000),
            prometheus: Some(9090),
            postgres: None,
            redis: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Binds {
    pub nginx: String,
    pub litellm: String,
    pub prometheus: String,
    pub postgres: String,
    pub redis: String,
}

impl Default for Binds {
    fn default() -> Self {
        let local = || "127.0.0.1".to_string();
        Binds {
            nginx: "0.0.0.0".into(),
            litellm: local(),
            prometheus: local(),
            postgres: local(),
            redis: local(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Optional {
    pub nginx: bool,
    pub prometheus: bool,
}

impl Default for Optional {
    fn default() -> Self {
        Optional {
            nginx: true,
            prometheus: true,
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/versions.rs"));

fn default_image(service: &str) -> String {
    DEFAULT_IMAGES
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, i)| i.to_string())
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Images {
    /// A registry prefix put before every image, e.g. `registry.example.com/mirror`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    pub litellm: String,
    pub postgres: String,
    pub redis: String,
    pub nginx: String,
    pub prometheus: String,
}

impl Default for Images {
    fn default() -> Self {
        Images {
            mirror: None,
            litellm: default_image("litellm"),
            postgres: default_image("postgres"),
            redis: default_image("redis"),
            nginx: default_image("nginx"),
            prometheus: default_image("prometheus"),
        }
    }
}

impl Images {
    /// The reference to pull for `service`, with the mirror prefix applied.
    pub fn reference(&self, service: &str) -> String {
        let own = match service {
            "litellm" => &self.litellm,
            "postgres" => &self.postgres,
            "redis" => &self.redis,
            "nginx" => &self.nginx,
            _ => &self.prometheus,
        };
        match &self.mirror {
            Some(m) if !m.is_empty() => format!("{}/{}", m.trim_end_matches('/'), strip_registry(own)),
            _ => own.clone(),
        }
    }
}

/// `docker.litellm.ai/berriai/litellm:x` → `berriai/litellm:x`; `postgres:16` stays.
fn strip_registry(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => rest,
        _ => image,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    #[default]
    Missing,
    Always,
    Never,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Model {
    /// The name clients ask for (`model_name`).
    pub name: Option<String>,
    /// The provider's model, `provider/model` (e.g. `openai/gpt-4o`, `azure/my-deployment`).
    pub model: Option<String>,
    /// The environment variable, kept in `.env`, that holds this model's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

impl Default for Answers {
    fn default() -> Self {
        Answers::defaults_for(Os::current())
    }
}

pub const SMOKE_TEST_MODEL: &str = "smoke-test";

impl Answers {
    pub fn defaults_for(os: Os) -> Answers {
        Answers {
            dir: os.default_dir(),
            language: None,
            project: None,
            data: os.default_data_storage(),
            ports: Ports::default(),
            bind: Binds::default(),
            services: Optional::default(),
            images: Images::default(),
            pull: PullPolicy::default(),
            // The SOP's own model (4.4).
            models: vec![Model {
                name: Some("gpt-3.5-turbo".into()),
                model: Some("openai/gpt-3.5-turbo".into()),
                api_key_env: Some("OPENAI_API_KEY".into()),
                api_base: None,
                api_version: None,
            }],
            smoke_test_model: true,
            backup: BackupAnswers::default(),
        }
    }

    /// Parses an answers file. Fields left out take their defaults; unknown fields are errors.
    pub fn parse(path: &Path, text: &str) -> Result<Answers> {
        if text.trim().is_empty() {
            return Ok(Answers::default());
        }
        let mut a: Answers = serde_norway::from_str(text).map_err(|e| {
            Error::input(msg!("error.answers.parse").arg("file", path.display()))
                .detail(e)
                .hint(msg!("hint.answers.example"))
        })?;
        a.dir = platform::expand_tilde(&a.dir);
        a.trim_models();
        Ok(a)
    }

    /// The models' text without the spaces around it, as the proxy gets it (a name copied with
    /// a trailing space would be another model to clients).
    fn trim_models(&mut self) {
        for m in &mut self.models {
            for v in [
                &mut m.name,
                &mut m.model,
                &mut m.api_key_env,
                &mut m.api_base,
                &mut m.api_version,
            ]
            .into_iter()
            .flatten()
            {
                let t = v.trim();
                if t.len() != v.len() {
                    *v = t.to_string();
                }
            }
        }
    }

    pub fn load(path: &Path) -> Result<Answers> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(msg!("error.answers.read").arg("file", path.display())).detail(e))?;
        Answers::parse(path, &text)
    }

    /// The project name Compose would use: the dir's name, lower-cased, other characters
    /// dropped.
    pub fn project_name(&self) -> String {
        if let Some(p) = &self.project {
            return p.clone();
        }
        let base = self
            .dir
            .to_string_lossy()
            .replace('\\', "/")
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let name: String = base
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let name = name.trim_start_matches(['_', '-']).to_string();
        if name.is_empty() { "litellm".into() } else { name }
    }

    pub fn lang(&self) -> Lang {
        self.language.unwrap_or_else(Lang::from_env)
    }

    /// The models written to config.yaml, the smoke-test model last.
    pub fn model_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.models.iter().filter_map(|m| m.name.clone()).collect();
        if self.smoke_test_model {
            names.push(SMOKE_TEST_MODEL.into());
        }
        names
    }

    /// The env-var names that hold provider keys, in order, without repeats.
    pub fn provider_key_vars(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.models
            .iter()
            .filter_map(|m| m.api_key_env.as_deref().map(str::trim))
            .filter(|v| seen.insert(*v))
            .map(str::to_string)
            .collect()
    }

    /// Published host ports: (answers field, bind address, port).
    pub fn published_ports(&self) -> Vec<(&'static str, &str, u32)> {
        let mut out = Vec::new();
        if self.services.nginx {
            out.push(("ports.nginx", self.bind.nginx.as_str(), self.ports.nginx));
        }
        if let Some(p) = self.ports.litellm {
            out.push(("ports.litellm", self.bind.litellm.as_str(), p));
        }
        if let (true, Some(p)) = (self.services.prometheus, self.ports.prometheus) {
            out.push(("ports.prometheus", self.bind.prometheus.as_str(), p));
        }
        if let Some(p) = self.ports.postgres {
            out.push(("ports.postgres", self.bind.postgres.as_str(), p));
        }
        if let Some(p) = self.ports.redis {
            out.push(("ports.redis", self.bind.redis.as_str(), p));
        }
        out
    }

    /// Checks every field; the first problem found is returned, naming its field.
    pub fn validate(&self, os: Os) -> Result<()> {
        self.check(os).map_err(Error::from)
    }

    /// As `validate`, with the problem as a `FieldError`. Linear in the number of models (a
    /// generated answers file may list thousands).
    pub fn check(&self, os: Os) -> std::result::Result<(), FieldError> {
        if !platform::is_absolute_for(os, &self.dir) {
            return Err(FieldError::new(
                "dir",
                msg!("problem.dir_relative").arg("value", self.dir.display()),
                os.default_dir().display(),
            ));
        }
        let home = platform::home_dir();
        check_install_dir(os, &self.dir, home.as_deref())
            .map_err(|m| FieldError::new("dir", m, os.default_dir().display()))?;
        if let Some(p) = &self.project {
            check_project_name(p).map_err(|m| FieldError::new("project", m, "litellm"))?;
        }
        let mut seen: Vec<(&str, &str, u32)> = Vec::new();
        for (field, addr, port) in self.published_ports() {
            check_port(port).map_err(|m| FieldError::new(field, m, "8080"))?;
            check_bind_addr(addr).map_err(|m| FieldError::new(field.replacen("ports.", "bind.", 1), m, "127.0.0.1"))?;
            if let Some((other, _, _)) = seen.iter().find(|(_, a, p)| ports_collide((a, *p), (addr, port))) {
                return Err(FieldError::new(
                    field,
                    msg!("problem.port_twice").arg("value", port).arg("other", other),
                    "8080",
                ));
            }
            seen.push((field, addr, port));
        }
        if let Some(m) = self.images.mirror.as_deref().filter(|m| !m.is_empty()) {
            check_image_mirror(m).map_err(|p| FieldError::new("images.mirror", p, "registry.example.com/mirror"))?;
        }
        for service in ["litellm", "postgres", "redis", "nginx", "prometheus"] {
            let reference = self.images.reference(service);
            check_image_reference(&reference)
                .map_err(|m| FieldError::new(format!("images.{service}"), m, default_image(service)))?;
        }
        let mut names: std::collections::HashSet<&str> = std::collections::HashSet::with_capacity(self.models.len());
        for (i, m) in self.models.iter().enumerate() {
            let field = |name: &str| format!("models[{i}].{name}");
            let name = check_model_name(m.name.as_deref()).map_err(|p| FieldError::new(field("name"), p, "gpt-4o"))?;
            if !names.insert(name) || (self.smoke_test_model && name == SMOKE_TEST_MODEL) {
                return Err(FieldError::new(
                    field("name"),
                    msg!("problem.model_twice").arg("value", name),
                    "gpt-4o-mini",
                ));
            }
            check_provider_model(m.model.as_deref())
                .map_err(|p| FieldError::new(field("model"), p, "openai/gpt-4o"))?;
            if let Some(v) = &m.api_key_env {
                check_api_key_env(v.trim()).map_err(|p| FieldError::new(field("api_key_env"), p, "OPENAI_API_KEY"))?;
            }
            if let Some(b) = &m.api_base {
                check_api_base(b.trim())
                    .map_err(|p| FieldError::new(field("api_base"), p, "https://my-resource.openai.azure.com"))?;
            }
            if let Some(v) = &m.api_version {
                check_api_version(v.trim()).map_err(|p| FieldError::new(field("api_version"), p, "2024-10-21"))?;
            }
        }
        if !(1..=1000).contains(&self.backup.keep) {
            return Err(FieldError::new(
                "backup.keep",
                msg!("backup.problem.keep").arg("value", self.backup.keep),
                "7",
            ));
        }
        if self.models.is_empty() && !self.smoke_test_model {
            return Err(FieldError::new(
                "models",
                msg!("problem.no_models"),
                "[{name: gpt-4o, model: openai/gpt-4o, api_key_env: OPENAI_API_KEY}]",
            ));
        }
        Ok(())
    }

    /// The answers as saved in the install dir: complete, so a later run or another machine
    /// repeats exactly this install. There are no secrets in `Answers` to leave out.
    pub fn to_saved_yaml(&self) -> String {
        let mut saved = self.clone();
        saved.project = Some(self.project_name());
        let body = serde_norway::to_string(&saved).unwrap_or_default();
        format!(
            "# litellm-stack answers: what was chosen for this install (no secrets: those are in .env).\n\
             # Replay elsewhere with: litellm-stack install --answers answers.yaml --yes\n{body}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        for ok in [
            "postgres:16.8",
            "docker.litellm.ai/berriai/litellm:v1.83.0-stable",
            "127.0.0.1:5000/lst-test/postgres:16-debian",
            "prom/prometheus:v3.1.0",
            "redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(is_valid_image_reference(ok), "{ok}");
        }
        for bad in [
            "",
            "postgres 16",
            "Postgres:16",
            "postgres:",
            "a//b",
            "x:tag with space",
            "prom/prometheus",
            "redis:${TAG}",
            "redis:7\n",
            "redis@sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "redis@sha256:0123456789abcdef",
        ] {
            assert!(!is_valid_image_reference(bad), "{bad}");
        }
    }

    #[test]
    fn mirror_prefix_replaces_the_registry() {
        let mut a = Answers::defaults_for(Os::Linux);
        a.images.mirror = Some("mirror.example.com/hub/".into());
        assert_eq!(a.images.reference("postgres"), "mirror.example.com/hub/postgres:16.8");
        assert_eq!(
            a.images.reference("litellm"),
            "mirror.example.com/hub/berriai/litellm:v1.108.17"
        );
    }

    #[test]
    fn project_name_follows_the_dir_like_compose() {
        let mut a = Answers::defaults_for(Os::Linux);
        a.dir = PathBuf::from("/srv/My LiteLLM.Stack");
        assert_eq!(a.project_name(), "mylitellmstack");
        a.dir = PathBuf::from(r"C:\work\TW\litellm");
        assert_eq!(a.project_name(), "litellm");
    }

    #[test]
    fn windows_paths_are_absolute_for_windows() {
        assert!(platform::is_absolute_for(Os::Windows, Path::new(r"C:\work\TW\litellm")));
        assert!(!platform::is_absolute_for(Os::Windows, Path::new(r"work\litellm")));
        assert!(!platform::is_absolute_for(Os::Linux, Path::new("litellm")));
    }
}
