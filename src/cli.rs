//! Commands and flags (the user's vocabulary, as `design.md` lists it).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::i18n::Lang;

#[derive(Debug, Parser)]
#[command(name = "litellm-stack", version, about = "Installs and runs your team's LiteLLM gateway on Docker, following the team's SOP.")]
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the directory tree and every file; no Docker.
    Render {
        #[command(flatten)]
        target: Target,
        /// One JSON object on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show what `install` would change in the files; changes nothing.
    Plan {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        json: bool,
    },
}
