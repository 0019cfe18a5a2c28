//! Files: pure functions from the stack to text (steps B–D of the SOP), and their atomic writing.

pub mod compose;
pub mod config;
pub mod env;
pub mod nginx;
pub mod prometheus;
pub mod write;

use crate::answers::{Answers, SAVED_ANSWERS};
use crate::secrets::DotEnv;
use crate::stack::Stack;

/// One generated file, by its path relative to the install dir (`/` separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: String,
    pub contents: String,
    /// The bytes to write when they are not UTF-8 (a `.env` kept byte for byte); `contents`
    /// is then their lossy text, for display only.
    pub raw: Option<Vec<u8>>,
    /// Holds secrets: mode 0600 on Unix, masked wholly in diffs.
    pub private: bool,
}

impl RenderedFile {
    fn new(path: &str, contents: String, private: bool) -> RenderedFile {
        RenderedFile {
            path: path.into(),
            contents,
            raw: None,
            private,
        }
    }

    /// A file of bytes that may not be UTF-8.
    fn from_bytes(path: &str, bytes: Vec<u8>, private: bool) -> RenderedFile {
        match String::from_utf8(bytes) {
            Ok(text) => RenderedFile::new(path, text, private),
            Err(e) => RenderedFile {
                path: path.into(),
                contents: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                raw: Some(e.into_bytes()),
                private,
            },
        }
    }

    /// What is written.
    pub fn bytes(&self) -> &[u8] {
        self.raw.as_deref().unwrap_or(self.contents.as_bytes())
    }
}

/// All files of an install, in the SOP's order (B: .env, C: config.yaml, D: the rest).
pub fn render_files(a: &Answers, stack: &Stack, dotenv: &DotEnv) -> Vec<RenderedFile> {
    let mut files = vec![
        RenderedFile::from_bytes(".env", env::render(dotenv, a), true),
        RenderedFile::new("config.yaml", config::render_config_yaml(a), false),
        RenderedFile::new("docker-compose.yml", compose::render_compose(stack), false),
    ];
    if a.services.nginx {
        files.push(RenderedFile::new(
            "nginx/nginx.conf",
            nginx::render_nginx_conf(&nginx::stack_upstream()),
            false,
        ));
    }
    if a.services.prometheus {
        files.push(RenderedFile::new(
            "prometheus/prometheus.yml",
            prometheus::render_prometheus_yml(&prometheus::stack_target(), prometheus::stack_key_file()),
            false,
        ));
        // Its credential is no rendered file: a metrics-only virtual key, made through the
        // proxy once it runs (`steps::metrics_key`), never a copy of the master key.
    }
    files.push(RenderedFile::new(SAVED_ANSWERS, a.to_saved_yaml(), false));
    files
}
