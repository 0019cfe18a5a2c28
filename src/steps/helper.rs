//! Root helper containers: a one-shot job in one of the stack's own images, run as root with
//! some host folders mounted, for what the installer's user may not do itself (fixing owners,
//! emptying a data folder that belongs to a container's user). Labelled as the project's, so
//! nothing is left unlabelled; removed when done.

use std::collections::BTreeMap;
use std::path::Path;

use crate::engine::{Engine, LABEL_MANAGED, LABEL_ONEOFF, LABEL_PROJECT, MountSourceSpec, MountSpec, OneShot};
use crate::error::Result;

/// Runs `script` with `sh -c` as root in `image`, each `(host, target)` bind-mounted
/// read-write. Returns the exit code and the job's log lines.
pub(crate) async fn run_as_root(
    engine: &dyn Engine,
    project: &str,
    image: &str,
    script: String,
    binds: &[(&Path, &str)],
) -> Result<(i64, Vec<String>)> {
    let job = OneShot {
        image: image.to_string(),
        user: "0:0".into(),
        entrypoint: vec!["/bin/sh".into(), "-c".into(), script],
        binds: binds
            .iter()
            .map(|(host, target)| MountSpec {
                source: MountSourceSpec::Bind(host.display().to_string()),
                target: (*target).to_string(),
                read_only: false,
            })
            .collect(),
        labels: BTreeMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_PROJECT.to_string(), project.to_string()),
            (LABEL_ONEOFF.to_string(), "True".to_string()),
        ]),
    };
    Ok(engine.run_once(&job).await?)
}
