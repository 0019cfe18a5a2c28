//! litellm-stack: installs a team's LiteLLM gateway (LiteLLM Proxy, PostgreSQL, Redis, Nginx,
//! Prometheus) on Docker, following the team's SOP with its defects fixed.
//!
//! Data flow: answers → secrets → stack → files (render) → engine → health → report.

#[macro_use]
pub mod i18n;

pub mod answers;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod error;
pub mod health;
pub mod howto;
pub mod logging;
pub mod platform;
pub mod render;
pub mod report;
pub mod secrets;
pub mod stack;
pub mod steps;
pub mod tui;
pub mod workspace;
