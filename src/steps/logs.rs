//! `logs`: the last lines of the stack's containers, or those and new ones as they come.

use futures_util::StreamExt;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::stack::Stack;

/// The services whose logs are asked for: `service`, or all of them.
pub fn services<'a>(stack: &'a Stack, service: Option<&'a str>) -> Result<Vec<&'a str>> {
    match service {
        Some(s) if stack.service(s).is_none() => {
            let known: Vec<&str> = stack.services.iter().map(|s| s.name).collect();
            Err(Error::input(msg!("engine.logs.unknown_service").arg("service", s))
                .hint(msg!("engine.logs.unknown_service.hint").arg("services", known.join(", "))))
        }
        Some(s) => Ok(vec![s]),
        None => Ok(stack.services.iter().map(|s| s.name).collect()),
    }
}

/// Hands each log line of `names` to `line(service, text)`: the last `tail` lines, and with
/// `follow` new ones until the streams end (the caller stops it on Ctrl-C by dropping it).
/// A service asked for by name that has no container is an error; in "all" mode it is skipped.
pub async fn logs(
    stack: &Stack,
    names: &[&str],
    by_name: bool,
    tail: usize,
    follow: bool,
    line: &(dyn Fn(&str, &str) + Sync),
) -> Result<()> {
    let engine = super::session::connect().await?;
    let existing = engine.containers(Some(&stack.project)).await?;
    let mut targets = Vec::new();
    for name in names {
        match existing.iter().find(|c| c.service() == Some(name)) {
            Some(c) => targets.push((name.to_string(), c.id.clone())),
            None if by_name => {
                return Err(Error::failed(msg!("engine.logs.no_container").arg("service", name))
                    .hint(msg!("engine.logs.no_container.hint")));
            }
            None => {}
        }
    }
    if !follow {
        for (svc, id) in &targets {
            for l in engine.logs(id, tail).await? {
                line(svc, &l);
            }
        }
        return Ok(());
    }
    let streams = targets.iter().map(|(svc, id)| {
        let svc = svc.clone();
        engine.follow_logs(id, tail).map(move |r| (svc.clone(), r))
    });
    let mut merged = futures_util::stream::select_all(streams);
    while let Some((svc, l)) = merged.next().await {
        line(&svc, &l?);
    }
    Ok(())
}
