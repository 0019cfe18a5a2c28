//! `verify`: readiness and the API test against a running stack (SOP steps F and G), then
//! the same checks as commands to repeat by hand. The checks report through the same events
//! as `install`'s steps F and G; the printer shows them.

use crate::cli::{Target, parse_duration};
use crate::error::{Error, Exit, Result};
use crate::platform::Os;
use crate::report::Printer;
use crate::steps::{Event, EventSink, verify};
use crate::workspace::load_answers;

pub fn run(t: &Target, timeout: &str, p: &Printer) -> Result<Exit> {
    let deadline = parse_duration(timeout).filter(|d| !d.is_zero()).ok_or_else(|| {
        Error::input(msg!("health.error.timeout_flag").arg("value", timeout)).hint(msg!("health.hint.timeout_flag"))
    })?;
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    super::stack::require_install(&answers.dir)?;
    let plan = verify::plan(&answers, os, deadline)?;
    let checks = &plan.hand_checks;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(msg!("health.error.client")).detail(e))?;
    let outcome = runtime.block_on(verify::run(&plan, p));
    match outcome {
        Ok(verified) => {
            p.verified(&verified, os.shell(), checks);
            Ok(Exit::Ok)
        }
        Err((step, error)) => {
            // The commands let the user see for themselves what failed; the failure is the
            // last thing said.
            p.hand_checks(os.shell(), checks);
            p.emit(Event::StepFailed {
                step,
                error: error.clone(),
                logs: Vec::new(),
            });
            Err(error)
        }
    }
}
