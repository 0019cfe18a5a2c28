//! `verify`: SOP steps F and G against a running stack, reported through the same events as
//! `install`'s steps F and G (the failure excepted: it is returned with its step, so the front
//! end can say it last, after the commands to repeat the checks by hand).

use std::time::Duration;

use super::{Event, EventSink, StepId};
use crate::answers::Answers;
use crate::error::Error;
use crate::health::{self, Endpoints, ReadinessOptions};
use crate::howto::{HandCheck, hand_checks};
use crate::i18n::Msg;
use crate::platform::{Os, join_rel};
use crate::secrets::{ExistingEnv, Secret};

/// What `verify` found: the facts of its final result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verified {
    pub elapsed: Duration,
    pub attempts: u32,
    pub proxy_version: Option<String>,
    pub cache: Option<String>,
    pub models: Vec<String>,
    pub smoke_answer: Option<String>,
    pub streamed_chunks: usize,
    pub metrics_protected: Option<bool>,
    pub prometheus_target_up: Option<bool>,
    /// Already emitted as `Warning` events; listed again in the JSON result.
    pub warnings: Vec<Msg>,
}

/// What a verify run needs, read from the install dir before anything is asked of the stack.
pub struct VerifyPlan {
    endpoints: Endpoints,
    options: ReadinessOptions,
    master_key: Secret,
    expected: Vec<String>,
    /// The same checks as commands to paste, in the shell of `os`.
    pub hand_checks: Vec<HandCheck>,
}

/// The plan for the install of `answers`: its master key from `.env` (exit 2 when missing).
pub fn plan(answers: &Answers, os: Os, deadline: Duration) -> Result<VerifyPlan, Error> {
    let env_path = join_rel(&answers.dir, ".env");
    let master_key = ExistingEnv::read(&env_path)?
        .get("LITELLM_MASTER_KEY")
        .filter(|k| !k.is_empty())
        .cloned()
        .ok_or_else(|| {
            Error::input(msg!("health.error.no_master_key").arg("path", env_path.display()))
                .hint(msg!("health.hint.no_master_key"))
        })?;
    let endpoints = Endpoints::from_answers(answers);
    let hand_checks = hand_checks(&endpoints, os.shell(), &answers.dir, answers.smoke_test_model);
    Ok(VerifyPlan {
        endpoints,
        options: ReadinessOptions {
            deadline,
            // Every generated stack has PostgreSQL.
            database_configured: true,
        },
        master_key,
        expected: answers.model_names(),
        hand_checks,
    })
}

/// Runs the plan: readiness, then the API test.
pub async fn run(plan: &VerifyPlan, sink: &dyn EventSink) -> std::result::Result<Verified, (StepId, Error)> {
    check(&plan.endpoints, &plan.options, &plan.master_key, &plan.expected, sink).await
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
        .map_err(|e| (StepId::Readiness, Error::from(e)))?;
    for w in &ready.warnings {
        sink.emit(Event::Warning(w.clone()));
    }
    sink.emit(Event::StepDone {
        step: StepId::Readiness,
        msg: Some(msg!("engine.readiness.done").arg("elapsed", health::human_duration(ready.elapsed))),
    });
    sink.emit(Event::StepStarted(StepId::ApiTest));
    let api = health::api_test(ep, master_key, expected, sink)
        .await
        .map_err(|e| (StepId::ApiTest, Error::from(e)))?;
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
