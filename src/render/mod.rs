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
    /// Holds secrets: mode 0600 on Unix, masked wholly in diffs.
    pub private: bool,
}

impl RenderedFile {
    fn new(path: &str, contents: String, private: bool) -> RenderedFile {
        RenderedFile {
            path: path.into(),
            contents,
            private,
        }
    }
}

/// All files of an install, in the SOP's order (B: .env, C: config.yaml, D: the rest).
pub fn render_files(a: &Answers, stack: &Stack, dotenv: &DotEnv) -> Vec<RenderedFile> {
    let mut files = vec![
        RenderedFile::new(".env", env::render(dotenv, a), true),
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
