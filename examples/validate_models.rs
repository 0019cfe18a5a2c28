//! Bench for the answers' validator and the files made from them (run by
//! `bench/validate.sh`): an answers file with N models (default 40,000; a team that generates
//! its model list can get there), timed through `Answers::validate` and through everything
//! `render` computes before it writes (`Workspace::prepare_with_env`: validation, `.env`,
//! config.yaml, the compose file). Budget: validation under 1 s for 40,000 models.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use litellm_stack::answers::{Answers, Model};
use litellm_stack::platform::Os;
use litellm_stack::secrets::ExistingEnv;
use litellm_stack::workspace::Workspace;

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(40_000);
    let mut a = Answers::defaults_for(Os::Linux);
    a.dir = PathBuf::from("/srv/litellm-bench");
    a.models = (0..n)
        .map(|i| Model {
            name: Some(format!("team-model-{i}")),
            model: Some(format!("openai/team-model-{i}")),
            // Many distinct key variables, the worst case for the de-duplication of keys.
            api_key_env: Some(format!("TEAM_KEY_{i}")),
            api_base: Some("https://gateway.example.com/v1".into()),
            api_version: None,
        })
        .collect();
    let validate: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            a.validate(Os::Linux).expect("valid answers");
            t.elapsed()
        })
        .collect();
    let prepare: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let ws =
                Workspace::prepare_with_env(a.clone(), Os::Linux, ExistingEnv::default(), &|_| None).expect("prepare");
            std::hint::black_box(&ws.files);
            t.elapsed()
        })
        .collect();
    let v = median(validate);
    println!(
        "validate {n} models: median {:.1} ms (budget 1000 ms: {})",
        v.as_secs_f64() * 1000.0,
        if v < Duration::from_secs(1) { "ok" } else { "OVER" }
    );
    println!(
        "validate + render {n} models in memory: median {:.1} ms",
        median(prepare).as_secs_f64() * 1000.0
    );
}
