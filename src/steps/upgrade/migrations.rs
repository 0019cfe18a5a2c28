//! Whether a new LiteLLM image's database migrations let the running version keep serving while
//! the new one starts beside it (issues 12 and 16).
//!
//! The image carries LiteLLM's Prisma migrations as SQL files
//! (`litellm_proxy_extras/migrations/<name>/migration.sql`, which the official image's
//! `prisma migrate deploy` and the test image's migrator apply at start). They are read out of
//! the image through the Engine API: a one-shot container of it says where the package lies, a
//! created, never started container of it hands over that folder as a tar. Those not yet applied
//! in the running database (`_prisma_migrations`, finished and not rolled back, or the test
//! image's `_litellm_image_migrations`) are classified by [`sql`]: when all of them only add to
//! the schema, the old version may serve on it for the minute a switch takes.
//! Conservative: a migration that cannot be read, or a statement [`sql`] does not know, is
//! unsafe, and the start step stops the old container first.

pub(crate) mod sql;

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use super::UpgradePlan;
use crate::engine::{Container, Engine, LABEL_MANAGED, OneShot, State};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::steps::backup::{self, Db, Source};
use crate::steps::{EventSink, StepId, progress};

/// Prints the folder of LiteLLM's migrations in the image, without importing the package.
const MIGRATIONS_DIR: &str = "import importlib.util as u, os; s = u.find_spec('litellm_proxy_extras'); print(os.path.join(list(s.submodule_search_locations)[0], 'migrations'))";

/// The pending migrations' verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every pending migration (names, in order; maybe none) only adds to the schema.
    Additive(Vec<String>),
    /// The first pending migration with a statement that is not additive.
    Unsafe {
        migration: String,
        kind: String,
        statement: String,
    },
    /// The migrations or the database's history could not be read: why.
    Unknown(Msg),
}

impl Verdict {
    /// What the start step says about it.
    pub(crate) fn msg(&self) -> Msg {
        match self {
            Verdict::Additive(names) if names.is_empty() => msg!("upgradebg.migrations.none"),
            Verdict::Additive(names) => msg!("upgradebg.migrations.additive")
                .arg("count", names.len())
                .arg("names", names.join(", ")),
            Verdict::Unsafe {
                migration,
                kind,
                statement,
            } => msg!("upgradebg.fallback.unsafe")
                .arg("migration", migration)
                .arg("kind", kind)
                .arg("statement", statement),
            Verdict::Unknown(why) => msg!("upgradebg.fallback.unknown").nested("error", why.clone()),
        }
    }
}

/// Pure: the verdict on the shipped migrations (name, SQL) that `applied` lacks, in name order.
pub(crate) fn verdict(shipped: &[(String, String)], applied: &HashSet<String>) -> Verdict {
    let mut pending: Vec<&(String, String)> = shipped.iter().filter(|(n, _)| !applied.contains(n)).collect();
    pending.sort();
    let mut objects = sql::NewObjects::default();
    for (name, text) in &pending {
        if let Err(u) = sql::check(text, &mut objects) {
            return Verdict::Unsafe {
                migration: name.clone(),
                kind: u.kind,
                statement: u.excerpt,
            };
        }
    }
    Verdict::Additive(pending.into_iter().map(|(n, _)| n.clone()).collect())
}

/// The verdict for `image` on the database `db` (a running Postgres container).
pub(crate) async fn check(engine: &dyn Engine, image: &str, db: &Db<'_>) -> Verdict {
    let r = async {
        let applied = applied(engine, db).await?;
        let shipped = shipped(engine, image).await?;
        Ok::<_, Error>(verdict(&shipped, &applied))
    }
    .await;
    r.unwrap_or_else(|e| Verdict::Unknown(e.what))
}

/// After a failed upgrade: whether the migrations applied since `before` (the newest one the
/// pre-upgrade backup recorded) are all additive, so that the previous version runs on the
/// database as it is and no restore is needed. False when anything cannot be read.
pub(crate) async fn additive_since(engine: &dyn Engine, image: &str, db: &Db<'_>, before: Option<&str>) -> bool {
    let Some(before) = before else { return false };
    let (Ok(applied), Ok(shipped)) = (applied(engine, db).await, shipped(engine, image).await) else {
        return false;
    };
    // What the database had before: the shipped migrations up to `before`, and whatever it
    // has that the image does not ship.
    let shipped_names: HashSet<&String> = shipped.iter().map(|(n, _)| n).collect();
    let had: HashSet<String> = applied
        .iter()
        .filter(|n| n.as_str() <= before || !shipped_names.contains(n))
        .cloned()
        .collect();
    let since: Vec<(String, String)> = shipped.into_iter().filter(|(n, _)| applied.contains(n)).collect();
    matches!(verdict(&since, &had), Verdict::Additive(_))
}

/// The rollback's question: does the database as it is now suit the previous version? Yes when
/// no migration ran since the pre-upgrade backup (`before`), or when those that ran are all
/// additive (said). Then no restore is needed and an old container still serving (a blue/green
/// switch that never happened) may keep serving.
pub(crate) async fn suits_previous(
    plan: &UpgradePlan,
    engine: &dyn Engine,
    source: &Source,
    before: Option<&str>,
    sink: &dyn EventSink,
) -> bool {
    let Ok(pg) = backup::running(engine, &source.project, "postgres", &source.dir).await else {
        return false;
    };
    let db = Db {
        container: &pg.id,
        user: &source.db_user,
        name: &source.db_name,
    };
    let Ok(now) = backup::newest_migration(engine, &db).await else {
        return false;
    };
    if now.as_deref() == before {
        return true;
    }
    let image = plan.new.answers.images.reference("litellm");
    let additive = additive_since(engine, &image, &db, before).await;
    if additive {
        progress(
            sink,
            StepId::Rollback,
            msg!("upgradebg.rollback.no_restore")
                .arg("before", before.unwrap_or("-"))
                .arg("after", now.as_deref().unwrap_or("-")),
        );
    }
    additive
}

/// A container of the previous version still running: the old one a blue/green switch that
/// failed never stopped (said). The rollback leaves it serving.
pub(crate) fn kept_serving(plan: &UpgradePlan, c: &Container, sink: &dyn EventSink) -> bool {
    let previous = c
        .service()
        .and_then(|s| plan.old.stack.service(s))
        .map(|s| s.image.as_str());
    let kept = c.state == State::Running && previous == Some(c.image.as_str());
    if kept {
        progress(sink, StepId::Rollback, msg!("upgradebg.rollback.kept"));
    }
    kept
}

/// The names of the migrations the database has applied.
async fn applied(engine: &dyn Engine, db: &Db<'_>) -> Result<HashSet<String>> {
    let mut names = HashSet::new();
    let mut tables = 0;
    for ledger in backup::MIGRATION_LEDGERS {
        let Some(list) = backup::from_ledger(engine, db, ledger, "migration_name").await? else {
            continue;
        };
        tables += 1;
        names.extend(
            list.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    if tables == 0 || names.is_empty() {
        return Err(Error::failed(msg!("upgradebg.error.no_history")));
    }
    Ok(names)
}

/// The image's migrations: (name, SQL), read out of the image.
pub(crate) async fn shipped(engine: &dyn Engine, image: &str) -> Result<Vec<(String, String)>> {
    let labels = BTreeMap::from([(LABEL_MANAGED.to_string(), "true".to_string())]);
    let job = OneShot {
        image: image.to_string(),
        user: String::new(),
        entrypoint: vec!["python3".into(), "-c".into(), MIGRATIONS_DIR.into()],
        binds: Vec::new(),
        labels: labels.clone(),
    };
    let (code, lines) = engine.run_once(&job).await?;
    let dir = lines.last().map(|l| l.trim().to_string()).unwrap_or_default();
    if code != 0 || !dir.starts_with('/') {
        return Err(Error::failed(msg!("upgradebg.error.no_dir").arg("image", image)));
    }
    let tar = engine.image_archive(image, &dir, &labels).await?;
    let files = from_tar(&tar).map_err(|e| Error::failed(msg!("upgradebg.error.tar").arg("error", e)))?;
    if files.is_empty() {
        return Err(Error::failed(msg!("upgradebg.error.no_dir").arg("image", image)));
    }
    Ok(files)
}

/// `migrations/<name>/migration.sql` members of the archive: (name, SQL).
fn from_tar(bytes: &[u8]) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let parts: Vec<String> = path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let [_, name, file] = parts.as_slice() else {
            continue;
        };
        if file != "migration.sql" || !name.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text)?;
        out.push((name.clone(), text));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, text) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, text.as_bytes()).expect("append");
        }
        b.into_inner().expect("tar")
    }

    #[test]
    fn the_archive_gives_each_migration_by_name() {
        let tar = tar_of(&[
            (
                "migrations/20250102_b/migration.sql",
                "CREATE TABLE \"B\" (\"id\" TEXT);",
            ),
            ("migrations/migration_lock.toml", "provider = \"postgresql\""),
            (
                "migrations/20250101_a/migration.sql",
                "CREATE TABLE \"A\" (\"id\" TEXT);",
            ),
            ("migrations/20250101_a/README.md", "not SQL"),
        ]);
        let files = from_tar(&tar).expect("read");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["20250101_a", "20250102_b"]);
    }

    #[test]
    fn only_the_pending_migrations_count() {
        let shipped = vec![
            (
                "20250101_old".to_string(),
                "ALTER TABLE \"T\" DROP COLUMN \"x\";".to_string(),
            ),
            (
                "20250102_new".to_string(),
                "ALTER TABLE \"T\" ADD COLUMN \"y\" TEXT;".to_string(),
            ),
        ];
        let applied = HashSet::from(["20250101_old".to_string()]);
        assert_eq!(
            verdict(&shipped, &applied),
            Verdict::Additive(vec!["20250102_new".into()])
        );
        match verdict(&shipped, &HashSet::new()) {
            Verdict::Unsafe { migration, kind, .. } => {
                assert_eq!((migration.as_str(), kind.as_str()), ("20250101_old", "DROP COLUMN"))
            }
            v => panic!("{v:?}"),
        }
        let all: HashSet<String> = shipped.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(verdict(&shipped, &all), Verdict::Additive(vec![]));
    }
}
