//! Events into the run's log file (`crate::logging`), as text.

use super::Event;
use crate::i18n::Lang;

/// The log file records events in English, for whoever helps the user afterwards.
pub fn log_event(event: &Event) {
    let en = |m: &crate::i18n::Msg| m.text(Lang::En);
    match event {
        Event::StepStarted(s) => tracing::info!("step {s:?} started"),
        Event::StepProgress { step, msg } => tracing::info!("step {step:?}: {}", en(msg)),
        Event::StepDone { step, msg } => {
            tracing::info!(
                "step {step:?} done{}",
                msg.as_ref().map(|m| format!(": {}", en(m))).unwrap_or_default()
            )
        }
        Event::StepSkipped { step, reason } => tracing::info!("step {step:?} skipped: {}", en(reason)),
        Event::StepFailed { step, error, logs } => {
            tracing::error!("step {step:?} failed: {}", error.render(Lang::En));
            for l in logs {
                tracing::error!("  {l}");
            }
        }
        Event::Pull {
            image,
            layers_done,
            layers_total,
            status,
            ..
        } => tracing::debug!("pull {image}: {layers_done}/{layers_total} {status}"),
        Event::Log { service, line } => tracing::info!("{service} | {line}"),
        Event::Warning(m) => tracing::warn!("{}", en(m)),
    }
}
