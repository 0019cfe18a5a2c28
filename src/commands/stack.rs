//! Day-to-day commands on an installed stack: status, logs, down, uninstall, images save.
//! They find the stack from the install dir's saved answers (or `--answers`), and the engine
//! the way `install` does.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use futures_util::StreamExt;

use super::install::runtime;
use crate::cli::Target;
use crate::engine::{self, Engine, OneShot};
use crate::error::{Error, Exit, Result};
use crate::i18n::Msg;
use crate::output::Printer;
use crate::platform::{DataStorage, Os};
use crate::render::join_rel;
use crate::stack::Stack;
use crate::steps::runner::{stack_status, take_down};
use crate::workspace::load_answers;

fn load_stack(t: &Target) -> Result<Stack> {
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    answers.validate(os)?;
    Ok(Stack::from_answers(&answers, os))
}

pub fn status(t: &Target, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    let list = runtime()?.block_on(async {
        let engine = engine::connect().await?;
        stack_status(&engine, &stack).await
    })?;
    if p.json {
        p.json_value(&serde_json::json!({
            "project": stack.project,
            "dir": stack.dir,
            "services": list,
        }));
        return Ok(Exit::Ok);
    }
    p.line(
        &Msg::new("engine.status.header")
            .arg("project", &stack.project)
            .arg("dir", stack.dir.display())
            .text(p.lang),
    );
    p.line(&format!(
        "  {:<11} {:<11} {:<10} {:<9} {:<26} {}",
        Msg::new("engine.status.col.service").text(p.lang),
        Msg::new("engine.status.col.state").text(p.lang),
        Msg::new("engine.status.col.health").text(p.lang),
        Msg::new("engine.status.col.restarts").text(p.lang),
        Msg::new("engine.status.col.ports").text(p.lang),
        Msg::new("engine.status.col.image").text(p.lang),
    ));
    for s in &list {
        let state = s.state.map_or("-", |x| x.as_str());
        let health = s.health.map_or("-", |h| h.as_str());
        let ports = if s.ports.is_empty() {
            "-".to_string()
        } else {
            s.ports.join(",")
        };
        p.line(&format!(
            "  {:<11} {:<11} {:<10} {:<9} {:<26} {}",
            s.service, state, health, s.restarts, ports, s.image
        ));
    }
    if list.iter().all(|s| s.container.is_none()) {
        p.line(&Msg::new("engine.status.not_installed").text(p.lang));
    }
    Ok(Exit::Ok)
}

pub fn logs(t: &Target, service: Option<&str>, tail: usize, follow: bool, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    let names: Vec<&str> = match service {
        Some(s) => {
            if stack.service(s).is_none() {
                let known: Vec<&str> = stack.services.iter().map(|s| s.name).collect();
                return Err(Error::input(Msg::new("engine.logs.unknown_service").arg("service", s))
                    .hint(Msg::new("engine.logs.unknown_service.hint").arg("services", known.join(", "))));
            }
            vec![s]
        }
        None => stack.services.iter().map(|s| s.name).collect(),
    };
    let prefix = names.len() > 1;
    runtime()?.block_on(async {
        let engine = engine::connect().await?;
        let existing = engine.containers(Some(&stack.project)).await?;
        let mut targets = Vec::new();
        for name in &names {
            match existing.iter().find(|c| c.service() == Some(name)) {
                Some(c) => targets.push((name.to_string(), c.id.clone())),
                None if service.is_some() => {
                    return Err(Error::failed(Msg::new("engine.logs.no_container").arg("service", name))
                        .hint(Msg::new("engine.logs.no_container.hint")));
                }
                None => {}
            }
        }
        let line = |svc: &str, l: &str| {
            if prefix {
                p.line(&format!("{svc:<10} | {l}"));
            } else {
                p.line(l);
            }
        };
        if !follow {
            for (svc, id) in &targets {
                for l in engine.logs(id, tail).await? {
                    line(svc, &l);
                }
            }
            return Ok(Exit::Ok);
        }
        let streams = targets.iter().map(|(svc, id)| {
            let svc = svc.clone();
            engine.follow_logs(id, tail).map(move |r| (svc.clone(), r))
        });
        let mut merged = futures_util::stream::select_all(streams);
        loop {
            tokio::select! {
                item = merged.next() => match item {
                    Some((svc, Ok(l))) => line(&svc, &l),
                    Some((_, Err(e))) => return Err(e.into()),
                    None => return Ok(Exit::Ok),
                },
                _ = tokio::signal::ctrl_c() => return Ok(Exit::Ok),
            }
        }
    })
}

pub fn down(t: &Target, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    let report = runtime()?.block_on(async {
        let engine = engine::connect().await?;
        take_down(&engine, &stack, false).await
    })?;
    for c in &report.containers {
        p.line(&Msg::new("engine.down.container").arg("name", c).text(p.lang));
    }
    for n in &report.networks {
        p.line(&Msg::new("engine.down.network").arg("name", n).text(p.lang));
    }
    if report.containers.is_empty() && report.networks.is_empty() {
        p.line(
            &Msg::new("engine.down.nothing")
                .arg("project", &stack.project)
                .text(p.lang),
        );
    }
    p.line(
        &Msg::new("engine.down.data_kept")
            .arg("dir", stack.dir.display())
            .text(p.lang),
    );
    Ok(Exit::Ok)
}

/// The data folders of the SOP tree that `--purge` empties.
const DATA_DIRS: [&str; 3] = ["pg_data", "redis_data", "prometheus_data"];

fn confirm_purge(stack: &Stack, p: &Printer) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(
            Error::input(Msg::new("engine.uninstall.needs_yes")).hint(Msg::new("engine.uninstall.needs_yes.hint"))
        );
    }
    print!(
        "{}",
        Msg::new("engine.uninstall.confirm")
            .arg("dir", stack.dir.display())
            .text(p.lang)
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = stdin.lock().read_line(&mut answer);
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(Error::input(Msg::new("engine.uninstall.cancelled")))
    }
}

/// Empties a data folder. Its files belong to the containers' users (postgres, nobody): when
/// we may not delete them, a root helper container of the stack's own image does.
async fn purge_dir(engine: &dyn Engine, stack: &Stack, dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() != std::io::ErrorKind::PermissionDenied => return Err(Error::io(dir, &e)),
        Err(_) => {}
    }
    let image = stack.services.first().map(|s| s.image.clone()).unwrap_or_default();
    let job = OneShot {
        image,
        user: "0:0".into(),
        entrypoint: vec!["/bin/sh".into(), "-c".into(), "find /purge -mindepth 1 -delete".into()],
        binds: vec![engine::MountSpec {
            source: engine::MountSourceSpec::Bind(dir.display().to_string()),
            target: "/purge".into(),
            read_only: false,
        }],
        labels: [
            (engine::LABEL_MANAGED.to_string(), "true".to_string()),
            (engine::LABEL_PROJECT.to_string(), stack.project.clone()),
            (engine::LABEL_ONEOFF.to_string(), "True".to_string()),
        ]
        .into_iter()
        .collect(),
    };
    let (code, logs) = engine.run_once(&job).await?;
    if code != 0 {
        return Err(
            Error::environment(Msg::new("engine.uninstall.purge_failed").arg("path", dir.display()))
                .detail(logs.join("\n"))
                .hint(Msg::new("engine.uninstall.purge_failed.hint").arg(
                    "command",
                    match crate::platform::Os::current() {
                        crate::platform::Os::Linux => format!("sudo rm -rf '{}'", dir.display()),
                        crate::platform::Os::Windows => format!("Remove-Item -Recurse -Force '{}'", dir.display()),
                    },
                )),
        );
    }
    std::fs::remove_dir(dir).map_err(|e| Error::io(dir, &e))
}

pub fn uninstall(t: &Target, purge: bool, yes: bool, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    if purge && !yes {
        confirm_purge(&stack, p)?;
    }
    let os = Os::current();
    let answers = load_answers(t.answers.as_deref(), t.dir.as_deref(), os)?;
    let report = runtime()?.block_on(async {
        let engine = engine::connect().await?;
        let report = take_down(&engine, &stack, purge).await?;
        if purge && answers.data == DataStorage::Bind {
            for d in DATA_DIRS {
                purge_dir(&engine, &stack, &join_rel(&stack.dir, d)).await?;
            }
        }
        Ok::<_, Error>(report)
    })?;
    for c in &report.containers {
        p.line(&Msg::new("engine.down.container").arg("name", c).text(p.lang));
    }
    for n in &report.networks {
        p.line(&Msg::new("engine.down.network").arg("name", n).text(p.lang));
    }
    for v in &report.volumes {
        p.line(&Msg::new("engine.uninstall.volume").arg("name", v).text(p.lang));
    }
    if purge {
        p.line(
            &Msg::new("engine.uninstall.purged")
                .arg("dir", stack.dir.display())
                .text(p.lang),
        );
    } else {
        p.line(
            &Msg::new("engine.down.data_kept")
                .arg("dir", stack.dir.display())
                .text(p.lang),
        );
    }
    Ok(Exit::Ok)
}

pub fn images_save(t: &Target, file: &Path, p: &Printer) -> Result<Exit> {
    let stack = load_stack(t)?;
    let mut references: Vec<String> = Vec::new();
    for s in &stack.services {
        if !references.contains(&s.image) {
            references.push(s.image.clone());
        }
    }
    let size = runtime()?.block_on(async {
        let engine = engine::connect().await?;
        for r in &references {
            if engine.image(r).await?.is_none() {
                return Err(Error::environment(Msg::new("engine.images.missing").arg("image", r))
                    .hint(Msg::new("engine.images.save_missing.hint")));
            }
        }
        Ok(engine.save_images(&references, file).await?)
    })?;
    p.line(
        &Msg::new("engine.images.saved")
            .arg("count", references.len())
            .arg("file", file.display())
            .arg("size", format!("{:.0}", size as f64 / (1u64 << 20) as f64))
            .text(p.lang),
    );
    Ok(Exit::Ok)
}
