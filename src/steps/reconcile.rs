//! Reconcile planning: from the containers that exist and the specs the answers give, what to do
//! with each service (create, recreate, start, restart, leave alone). Pure: no engine call.

use crate::engine::{
    Container, ContainerSpec, LABEL_COMPOSE_CONFIG_HASH, LABEL_COMPOSE_IMAGE, LABEL_CONFIG_HASH, State,
};
use crate::stack::{Condition, Stack};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceAction {
    Created,
    Recreated,
    Started,
    /// Restarted because a service it needs healthy was recreated.
    Restarted,
    Unchanged,
    /// Left running, its changed configuration reloaded in place (`steps::reload`).
    Reloaded,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceOutcome {
    pub service: String,
    pub action: ServiceAction,
    pub container_id: String,
}

/// What to do with one service this run.
pub(crate) struct Planned {
    pub(crate) spec: ContainerSpec,
    pub(crate) current: Option<Container>,
    pub(crate) action: ServiceAction,
}

/// Whether `c` was made from `spec`: by this program (its own hash, which covers the content
/// of mounted files too), or by `docker compose up` from the same generated file: Compose's
/// hash of the service and the image ID agree, and no mounted file changed after it was
/// created (Compose does not look at file content).
fn up_to_date(c: &Container, spec: &ContainerSpec) -> bool {
    let label = |k: &str| spec.labels.get(k).map(String::as_str);
    match c.config_hash() {
        Some(ours) => Some(ours) == label(LABEL_CONFIG_HASH),
        None => {
            c.compose_hash().is_some()
                && c.compose_hash() == label(LABEL_COMPOSE_CONFIG_HASH)
                && Some(c.image_id.as_str()) == label(LABEL_COMPOSE_IMAGE)
                && match (spec.newest_file, c.created) {
                    (Some(file), Some(created)) => file <= created,
                    (None, _) => true,
                    (Some(_), None) => false,
                }
        }
    }
}

/// What the start step will do, service by service, from what exists now.
pub(crate) fn plan_actions(stack: &Stack, specs: Vec<ContainerSpec>, existing: &[Container]) -> Vec<Planned> {
    let mut planned: Vec<Planned> = specs
        .into_iter()
        .map(|spec| {
            let mine: Vec<&Container> = existing.iter().filter(|c| c.service() == Some(&spec.service)).collect();
            let current = mine
                .iter()
                .find(|c| c.name == spec.name)
                .or_else(|| mine.first())
                .map(|c| (*c).clone());
            let action = match &current {
                None => ServiceAction::Created,
                Some(c) if c.name != spec.name || !up_to_date(c, &spec) => ServiceAction::Recreated,
                Some(c) => match c.state {
                    State::Running | State::Restarting | State::Paused => ServiceAction::Unchanged,
                    State::Created | State::Exited => ServiceAction::Started,
                    State::Dead | State::Removing | State::Unknown => ServiceAction::Recreated,
                },
            };
            Planned { spec, current, action }
        })
        .collect();
    // A service that needs another one healthy is restarted when that one is recreated, so it
    // reconnects to the new container rather than to a closed connection.
    for i in 0..planned.len() {
        if planned[i].action != ServiceAction::Unchanged {
            continue;
        }
        let Some(service) = stack.service(&planned[i].spec.service) else {
            continue;
        };
        let dep_recreated = service.depends_on.iter().any(|(dep, cond)| {
            *cond == Condition::Healthy
                && planned.iter().any(|p| {
                    p.spec.service == *dep && matches!(p.action, ServiceAction::Created | ServiceAction::Recreated)
                })
        });
        if dep_recreated {
            planned[i].action = ServiceAction::Restarted;
        }
    }
    planned
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::answers::Answers;
    use crate::engine::Health;
    use crate::engine::spec;
    use crate::platform::Os;
    use crate::secrets::{ExistingEnv, Secrets};

    fn stack_and_specs() -> (Stack, Vec<ContainerSpec>) {
        let mut a = Answers::defaults_for(Os::Linux);
        a.dir = std::env::temp_dir().join("lst-runner-unit");
        a.project = Some("unit".into());
        let dotenv = crate::render::env::build(&a, &Secrets::placeholders(), &ExistingEnv::default(), &|_| None);
        let stack = Stack::from_answers(&a, Os::Linux);
        let specs = stack
            .services
            .iter()
            .map(|s| spec::container_spec(&stack, s, &dotenv, "sha256:img").expect("spec"))
            .collect();
        (stack, specs)
    }

    fn running(spec: &ContainerSpec, hash: Option<&str>) -> Container {
        let mut labels: BTreeMap<String, String> = spec.labels.clone();
        match hash {
            Some(h) => labels.insert(LABEL_CONFIG_HASH.into(), h.into()),
            None => labels.remove(LABEL_CONFIG_HASH),
        };
        Container {
            id: format!("id-{}", spec.service),
            name: spec.name.clone(),
            labels,
            state: State::Running,
            health: Health::Healthy,
            image: spec.image.clone(),
            image_id: "sha256:img".into(),
            ports: vec![],
            restart_count: 0,
            exit_code: None,
            oom_killed: false,
            error: None,
            started_at: None,
            created: Some(i64::MAX),
        }
    }

    #[test]
    fn an_unchanged_running_stack_is_left_alone() {
        let (stack, specs) = stack_and_specs();
        let existing: Vec<Container> = specs
            .iter()
            .map(|s| running(s, s.labels.get(LABEL_CONFIG_HASH).map(String::as_str)))
            .collect();
        let plan = plan_actions(&stack, specs, &existing);
        assert!(plan.iter().all(|p| p.action == ServiceAction::Unchanged));
    }

    #[test]
    fn a_changed_postgres_is_recreated_and_litellm_restarted_after_it() {
        let (stack, specs) = stack_and_specs();
        let existing: Vec<Container> = specs
            .iter()
            .map(|s| {
                let hash = if s.service == "postgres" {
                    Some("old")
                } else {
                    s.labels.get(LABEL_CONFIG_HASH).map(String::as_str)
                };
                running(s, hash)
            })
            .collect();
        let plan = plan_actions(&stack, specs, &existing);
        let action = |name: &str| plan.iter().find(|p| p.spec.service == name).map(|p| p.action);
        assert_eq!(action("postgres"), Some(ServiceAction::Recreated));
        assert_eq!(action("litellm"), Some(ServiceAction::Restarted));
        // nginx follows the proxy through Docker's DNS: nothing to do for it.
        assert_eq!(action("nginx"), Some(ServiceAction::Unchanged));
    }

    #[test]
    fn a_stopped_container_is_started_and_a_missing_one_created() {
        let (stack, specs) = stack_and_specs();
        let mut existing: Vec<Container> = specs
            .iter()
            .map(|s| running(s, s.labels.get(LABEL_CONFIG_HASH).map(String::as_str)))
            .collect();
        existing.retain(|c| c.service() != Some("nginx"));
        if let Some(c) = existing.iter_mut().find(|c| c.service() == Some("redis")) {
            c.state = State::Exited;
        }
        let plan = plan_actions(&stack, specs, &existing);
        let action = |name: &str| plan.iter().find(|p| p.spec.service == name).map(|p| p.action);
        assert_eq!(action("redis"), Some(ServiceAction::Started));
        assert_eq!(action("nginx"), Some(ServiceAction::Created));
    }

    #[test]
    fn a_container_made_by_hand_without_our_hash_is_recreated() {
        let (stack, specs) = stack_and_specs();
        let existing: Vec<Container> = specs
            .iter()
            .map(|s| {
                let mut c = running(s, None);
                c.labels.remove(LABEL_COMPOSE_CONFIG_HASH);
                c
            })
            .collect();
        let plan = plan_actions(&stack, specs, &existing);
        assert!(plan.iter().all(|p| p.action == ServiceAction::Recreated));
    }

    /// `docker compose up` made these from the generated file: Compose's labels, not ours.
    fn made_by_compose(specs: &[ContainerSpec]) -> Vec<Container> {
        specs.iter().map(|s| running(s, None)).collect()
    }

    #[test]
    fn containers_compose_made_from_the_same_file_are_left_alone() {
        let (stack, specs) = stack_and_specs();
        let existing = made_by_compose(&specs);
        let plan = plan_actions(&stack, specs, &existing);
        assert!(plan.iter().all(|p| p.action == ServiceAction::Unchanged));
    }

    #[test]
    fn a_compose_container_from_another_image_another_file_or_before_a_file_changed_is_recreated() {
        let (stack, specs) = stack_and_specs();
        let action = |existing: &[Container], service: &str| {
            plan_actions(&stack, specs.clone(), existing)
                .into_iter()
                .find(|p| p.spec.service == service)
                .map(|p| p.action)
        };
        let mut other_image = made_by_compose(&specs);
        other_image[0].image_id = "sha256:older".into();
        assert_eq!(action(&other_image, &specs[0].service), Some(ServiceAction::Recreated));

        let mut other_file = made_by_compose(&specs);
        other_file[1]
            .labels
            .insert(LABEL_COMPOSE_CONFIG_HASH.into(), "another".into());
        assert_eq!(action(&other_file, &specs[1].service), Some(ServiceAction::Recreated));

        let mut stale = made_by_compose(&specs);
        let litellm = specs.iter().position(|s| s.service == "litellm").expect("litellm");
        let mut specs_with_file = specs.clone();
        specs_with_file[litellm].newest_file = Some(2_000);
        stale[litellm].created = Some(1_000);
        let plan = plan_actions(&stack, specs_with_file.clone(), &stale);
        assert_eq!(
            plan[litellm].action,
            ServiceAction::Recreated,
            "config.yaml changed after it started"
        );
        stale[litellm].created = Some(3_000);
        let plan = plan_actions(&stack, specs_with_file, &stale);
        assert_eq!(plan[litellm].action, ServiceAction::Unchanged);
    }
}
