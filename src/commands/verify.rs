//! `verify`: readiness and the API test against a running stack (SOP steps F and G), then
//! the same checks as commands to repeat by hand. The checks report through the same events
//! as `install`'s steps F and G; the printer shows them.

use crate::cli::{Target, parse_duration};
use crate::error::{Error, Exit, Result};
use crate::health::{self, Endpoints, ReadinessOptions};
use crate::howto::hand_checks;
use crate::i18n::Msg;
use crate::platform::Os;
use crate::render::join_rel;
use crate::report::{Printer, Verified};
use crate::secrets::{ExistingEnv, Secret};
use crate::steps::{Event, EventSink, StepId};
use crate::workspace::load_answers;

pub fn run(t: &Target, timeout: &str, p: &Printer) -> Result<Exit> {
    let deadline = parse_duration(timeout).filter(|d| !d.is_zero()).ok_or_else(|| {
        Error::input(Msg::new("health.error.timeout_flag").arg("value", timeout))
            .hint(Msg::new("health.hint.timeout_flag"))
    })?;
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    let env_path = join_rel(&answers.dir, ".env");
    let master_key = ExistingEnv::read(&env_path)?
        .get("LITELLM_MASTER_KEY")
        .filter(|k| !k.is_empty())
        .cloned()
        .ok_or_else(|| {
            Error::input(Msg::new("health.error.no_master_key").arg("path", env_path.display()))
                .hint(Msg::new("health.hint.no_master_key"))
        })?;
    let ep = Endpoints::from_answers(&answers);
    let checks = hand_checks(&ep, os.shell(), &answers.dir, answers.smoke_test_model);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(Msg::new("health.error.client")).detail(e))?;
    let options = ReadinessOptions {
        deadline,
        // Every generated stack has PostgreSQL.
        database_configured: true,
    };
    let outcome = runtime.block_on(check(&ep, &options, &master_key, &answers.model_names(), p));
    match outcome {
        Ok(verified) => {
            p.verified(&verified, os.shell(), &checks);
            Ok(Exit::Ok)
        }
        Err((step, error)) => {
            // The commands let the user see for themselves what failed; the failure is the
            // last thing said.
            p.hand_checks(os.shell(), &checks);
            p.emit(Event::StepFailed {
                step,
                error: error.clone(),
                logs: Vec::new(),
            });
            Err(error)
        }
    }
}

/// Steps F and G, emitting the events `install` emits for them (the failure excepted: it is
/// returned with its step, for the caller to report last).
async fn check(
    ep: &Endpoints,
    options: &ReadinessOptions,
    master_key: &Secret,
    expected: &[String],
    sink: &dyn EventSink,
) -> std::result::Result<Verified, (StepId, Error)> {
    sink.emit(Event::StepStarted(StepId::Readiness));
    let ready = health::wait_until_ready(ep, options, sink)
        .await
        .map_err(|e| (StepId::Readiness, e))?;
    for w in &ready.warnings {
        sink.emit(Event::Warning(w.clone()));
    }
    sink.emit(Event::StepDone {
        step: StepId::Readiness,
        msg: Some(Msg::new("engine.readiness.done").arg("elapsed", health::human_duration(ready.elapsed))),
    });
    sink.emit(Event::StepStarted(StepId::ApiTest));
    let api = health::api_test(ep, master_key, expected, sink)
        .await
        .map_err(|e| (StepId::ApiTest, e))?;
    for w in &api.warnings {
        sink.emit(Event::Warning(w.clone()));
    }
    sink.emit(Event::StepDone {
        step: StepId::ApiTest,
        msg: None,
    });
    Ok(Verified {
        elapsed: ready.elapsed,
        attempts: ready.attempts,
        proxy_version: ready.proxy_version.or(api.proxy_version),
        cache: api.cache,
        models: api.models,
        smoke_answer: api.smoke_answer,
        streamed_chunks: api.streamed_chunks,
        metrics_protected: api.metrics_protected,
        prometheus_target_up: api.prometheus_target_up,
        warnings: ready.warnings.into_iter().chain(api.warnings).collect(),
    })
}
