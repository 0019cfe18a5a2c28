//! Commands and flags (the user's vocabulary, as `design.md` lists it).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::i18n::Lang;

#[derive(Debug, Parser)]
#[command(
    name = "litellm-stack",
    version,
    about = "Installs and runs your team's LiteLLM gateway on Docker, following the team's SOP."
)]
pub struct Cli {
    /// Language of messages: zh-TW or en (default: from the locale).
    #[arg(long, global = true, value_name = "zh-TW|en")]
    pub lang: Option<Lang>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct Target {
    /// The install directory (default: the answers' `dir`, else the SOP's: ~/litellm or C:\work\TW\litellm).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// An answers file (YAML; see assets/answers.example.yaml).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct InstallArgs {
    #[command(flatten)]
    pub target: Target,
    /// Run unattended: no questions, no wizard.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print JSON lines (one event per line) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Load the images from this file (made by `litellm-stack images save`) instead of pulling.
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,
    /// How long to wait for the gateway to answer, e.g. 300s or 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or update the stack: files, images, containers, readiness, API test.
    Install(InstallArgs),
    /// Show what `install` would change in the files; changes nothing.
    Plan {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        json: bool,
    },
    /// Write the directory tree and every file; no Docker.
    Render {
        #[command(flatten)]
        target: Target,
        /// One JSON object on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Each service: state, health, image, ports, restarts.
    Status {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        json: bool,
    },
    /// Show a service's logs (all services when none is named).
    Logs {
        /// litellm, postgres, redis, nginx or prometheus.
        service: Option<String>,
        #[command(flatten)]
        target: Target,
        /// How many lines from the end.
        #[arg(long, default_value_t = 100)]
        tail: usize,
        /// Keep printing new lines.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Stop and remove the containers and network; data stays.
    Down {
        #[command(flatten)]
        target: Target,
    },
    /// Remove the stack; with --purge also its data (after confirmation or --yes).
    Uninstall {
        #[command(flatten)]
        target: Target,
        /// Also delete the data (database, cache, metrics).
        #[arg(long)]
        purge: bool,
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Readiness and the API test against the running stack.
    Verify {
        #[command(flatten)]
        target: Target,
        /// How long to wait for readiness, e.g. 30s or 5m.
        #[arg(long, value_name = "DURATION", default_value = "5m")]
        timeout: String,
        #[arg(long)]
        json: bool,
    },
    /// Images for air-gapped installs.
    Images {
        #[command(subcommand)]
        action: ImagesAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImagesAction {
    /// Save the stack's images to a file, for `install --images FILE` on a machine without a registry.
    Save {
        file: PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

/// Parses `300`, `300s`, `5m`, `1h` into a duration.
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    // A bare number is seconds, as it always was; anything else is humantime's syntax.
    match s.parse::<u64>() {
        Ok(secs) => Some(std::time::Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(s).ok(),
    }
}
