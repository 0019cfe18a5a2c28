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
    /// Listed models that come from the database, not config.yaml.
    pub db_models: Vec<String>,
    /// The alias of the temporary virtual key the database check made and deleted.
    pub virtual_key: Option<String>,
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
    /// Compose project, database user and name: for clearing the test key's archive row.
    project: String,
    db_user: String,
    db_name: String,
    /// The same checks as commands to paste, in the shell of `os`.
    pub hand_checks: Vec<HandCheck>,
    answers: Answers,
    os: Os,
    /// Make Prometheus's metrics-only key when it does not fit (`restore`, whose database may
    /// not know the install's key); otherwise only warned about.
    pub repair_metrics_key: bool,
}

/// The plan for the install of `answers`: its master key from `.env` (exit 2 when missing).
pub fn plan(answers: &Answers, os: Os, deadline: Duration) -> Result<VerifyPlan, Error> {
    let env_path = join_rel(&answers.dir, ".env");
    let env = ExistingEnv::read(&env_path)?;
    let plain = |k: &str| env.get(k).map(|v| v.expose().to_string()).unwrap_or_default();
    let (db_user, db_name) = (plain("POSTGRES_USER"), plain("POSTGRES_DB"));
    let master_key = env
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
        project: answers.project_name(),
        db_user,
        db_name,
        hand_checks,
        answers: answers.clone(),
        os,
        repair_metrics_key: false,
    })
}

/// Runs the plan: readiness, then the API test.
pub async fn run(plan: &VerifyPlan, sink: &dyn EventSink) -> std::result::Result<Verified, (StepId, Error)> {
    let (verified, test_key) = check(plan, sink).await?;
    if let Some(alias) = test_key {
        clear_test_key(plan, &alias, sink)
            .await
            .map_err(|e| (StepId::ApiTest, e))?;
    }
    sink.emit(Event::StepDone {
        step: StepId::ApiTest,
        msg: None,
    });
    Ok(verified)
}

/// The API test key's archive row, through the engine when it answers (verify itself needs
/// only HTTP): otherwise a warning says what LiteLLM kept.
async fn clear_test_key(plan: &VerifyPlan, alias: &str, sink: &dyn EventSink) -> Result<(), Error> {
    let db = super::testkey::Database {
        project: &plan.project,
        user: &plan.db_user,
        name: &plan.db_name,
    };
    let purged = match super::session::connect().await {
        Ok(engine) => super::testkey::purge(&engine, &db, alias).await?,
        Err(_) => false,
    };
    if purged {
        super::progress(sink, StepId::ApiTest, msg!("testkey.done"));
    } else {
        sink.emit(Event::Warning(msg!("testkey.skipped").arg("alias", alias)));
    }
    Ok(())
}

/// Steps F and G, emitting the events `install` emits for them (the failure excepted: it is
/// returned with its step, for the caller to report last).
async fn check(
    plan: &VerifyPlan,
    sink: &dyn EventSink,
) -> std::result::Result<(Verified, Option<String>), (StepId, Error)> {
    let (ep, options, master_key, expected) = (&plan.endpoints, &plan.options, &plan.master_key, &plan.expected);
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
    let api_test = |e| (StepId::ApiTest, e);
    let mut key_warning = None;
    if plan.repair_metrics_key {
        super::metrics_key::ensure(&plan.answers, plan.os, master_key, sink)
            .await
            .map_err(api_test)?;
    } else if let Some(w) = super::metrics_key::audit(&plan.answers, master_key).map_err(api_test)? {
        sink.emit(Event::Warning(w.clone()));
        key_warning = Some(w);
    }
    let api = health::api_test(ep, master_key, expected, health::ApiOptions::default(), sink)
        .await
        .map_err(|e| (StepId::ApiTest, Error::from(e)))?;
    for w in &api.warnings {
        sink.emit(Event::Warning(w.clone()));
    }
    let test_key = api.virtual_key.clone();

    let verified = Verified {
        elapsed: ready.elapsed,
        attempts: ready.attempts,
        proxy_version: ready.proxy_version.or(api.proxy_version),
        cache: api.cache,
        models: api.models,
        db_models: api.db_models,
        virtual_key: api.virtual_key,
        smoke_answer: api.smoke_answer,
        streamed_chunks: api.streamed_chunks,
        metrics_protected: api.metrics_protected,
        prometheus_target_up: api.prometheus_target_up,
        warnings: ready
            .warnings
            .into_iter()
            .chain(key_warning)
            .chain(api.warnings)
            .collect(),
    };
    Ok((verified, test_key))
}
