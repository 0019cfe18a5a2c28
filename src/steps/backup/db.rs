//! The database side of a backup, through the engine: `pg_dump -Fc` and `pg_restore` run by
//! `exec` in a Postgres container of the stack's own pinned image (the stack's running one, or
//! a throwaway one for `backup verify`), streamed to and from host files; facts asked with
//! `psql`; rows counted in the dump itself, so the counts are those of the dump's snapshot even
//! while the gateway keeps writing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use crate::engine::{Engine, ExecIo, ExecOutput, ExecStdout};
use crate::error::{Error, Result};

/// The tables that matter for service continuity: virtual keys, models stored in the
/// database, spend logs, users, teams, budgets, credentials.
pub const COUNTED_TABLES: [&str; 7] = [
    "LiteLLM_VerificationToken",
    "LiteLLM_ProxyModelTable",
    "LiteLLM_SpendLogs",
    "LiteLLM_UserTable",
    "LiteLLM_TeamTable",
    "LiteLLM_BudgetTable",
    "LiteLLM_CredentialsTable",
];

/// A database of a Postgres container, by the names `.env` gives (checked: they reach SQL).
#[derive(Debug, Clone)]
pub struct Db<'a> {
    pub container: &'a str,
    pub user: &'a str,
    pub name: &'a str,
}

/// Names that go into SQL as quoted identifiers: letters, digits, `_` and `-` only.
pub fn check_identifier(field: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 48
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(
            Error::input(msg!("backup.error.identifier").arg("field", field).arg("value", value))
                .hint(msg!("backup.hint.identifier").arg("field", field)),
        )
    }
}

/// The `application_name` the dumps and restores of this process run under, so that the
/// sessions a stopped run leaves are found and ended ([`end_sessions`]), and no one else's.
pub fn app_name() -> String {
    format!("litellm-stack-{}", std::process::id())
}

fn app_env() -> Vec<(String, crate::secrets::Secret)> {
    vec![("PGAPPNAME".into(), crate::secrets::Secret::new(app_name()))]
}

/// Ends the server sessions of this process's dumps and restores (a Ctrl-C drops our side of
/// the `exec`; the command in the container would go on). Returns how many were ended.
pub async fn end_sessions(engine: &dyn Engine, maintenance: &Db<'_>) -> Result<u64> {
    let ended = query(
        engine,
        maintenance,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{}' AND pid <> pg_backend_pid()",
            app_name()
        ),
    )
    .await?;
    Ok(ended.parse().unwrap_or(0))
}

fn strings(cmd: &[&str]) -> Vec<String> {
    cmd.iter().map(|s| s.to_string()).collect()
}

fn exec_failed(what: crate::i18n::Msg, out: &ExecOutput) -> Error {
    Error::failed(what).detail(format!(
        "exit code {}\n{}",
        out.exit_code.map_or("?".into(), |c| c.to_string()),
        out.stderr.join("\n")
    ))
}

/// `psql -tA` in `db`, its answer trimmed.
pub async fn query(engine: &dyn Engine, db: &Db<'_>, sql: &str) -> Result<String> {
    let io = ExecIo::capture(&[
        "psql",
        "-X",
        "-q",
        "-tA",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        db.user,
        "-d",
        db.name,
        "-c",
        sql,
    ]);
    let out = engine.exec_io(db.container, &io).await?;
    if !out.ok() {
        return Err(exec_failed(msg!("backup.error.query").arg("database", db.name), &out));
    }
    Ok(out.stdout_text())
}

/// Statements run one by one in the `postgres` maintenance database (CREATE/DROP DATABASE
/// cannot run inside a transaction).
pub async fn admin(engine: &dyn Engine, db: &Db<'_>, statements: &[String]) -> Result<()> {
    let mut cmd = strings(&[
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        db.user,
        "-d",
        "postgres",
    ]);
    for s in statements {
        cmd.push("-c".into());
        cmd.push(s.clone());
    }
    let io = ExecIo {
        cmd,
        ..ExecIo::capture(&[])
    };
    let out = engine.exec_io(db.container, &io).await?;
    if !out.ok() {
        return Err(exec_failed(
            msg!("backup.error.query").arg("database", "postgres"),
            &out,
        ));
    }
    Ok(())
}

/// `pg_dump -Fc` of `db` into the host file `to`; `progress` gets the bytes written so far.
pub async fn dump(engine: &dyn Engine, db: &Db<'_>, to: &Path, progress: &(dyn Fn(u64) + Send + Sync)) -> Result<u64> {
    let io = ExecIo {
        cmd: strings(&["pg_dump", "-U", db.user, "-d", db.name, "-Fc", "--no-password"]),
        env: app_env(),
        stdin: None,
        stdout: ExecStdout::File(to),
        progress: Some(progress),
    };
    let out = engine.exec_io(db.container, &io).await?;
    if !out.ok() {
        return Err(
            exec_failed(msg!("backup.error.dump").arg("database", db.name), &out).hint(msg!("backup.hint.dump"))
        );
    }
    Ok(out.stdout_bytes)
}

/// `pg_restore` of the host file `dump` into `db` (which exists and is empty). Objects are
/// owned by `db.user`, whoever owned them where the dump was made.
pub async fn restore(engine: &dyn Engine, db: &Db<'_>, dump: &Path) -> Result<()> {
    let io = ExecIo {
        cmd: strings(&[
            "pg_restore",
            "-U",
            db.user,
            "-d",
            db.name,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--no-password",
        ]),
        env: app_env(),
        stdin: Some(dump),
        stdout: ExecStdout::Capture,
        progress: None,
    };
    let out = engine.exec_io(db.container, &io).await?;
    if !out.ok() {
        return Err(exec_failed(msg!("backup.error.restore").arg("database", db.name), &out));
    }
    Ok(())
}

/// The rows of each table in the dump, counted from its data (`pg_restore --data-only` to
/// SQL, streamed through: one line per row between `COPY … FROM stdin;` and `\.`).
pub async fn count_in_dump(engine: &dyn Engine, container: &str, dump: &Path) -> Result<BTreeMap<String, u64>> {
    let counter = Mutex::new(CopyCounter::default());
    let feed = |chunk: &[u8]| {
        if let Ok(mut c) = counter.lock() {
            c.feed(chunk);
        }
    };
    let io = ExecIo {
        cmd: strings(&["pg_restore", "--data-only", "-f", "-"]),
        env: Vec::new(),
        stdin: Some(dump),
        stdout: ExecStdout::Chunks(&feed),
        progress: None,
    };
    let out = engine.exec_io(container, &io).await?;
    if !out.ok() {
        return Err(exec_failed(msg!("backup.error.count"), &out));
    }
    let counts = counter.into_inner().map(|c| c.counts).unwrap_or_default();
    Ok(counts
        .into_iter()
        .filter(|(t, _)| COUNTED_TABLES.contains(&t.as_str()))
        .collect())
}

/// The rows of each of `tables` in `db`, by `count(*)`: a missing table counts as absent.
pub async fn count_in_db(engine: &dyn Engine, db: &Db<'_>, tables: &[&str]) -> Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for t in tables.iter().filter(|t| COUNTED_TABLES.contains(t)) {
        let exists = query(engine, db, &format!("SELECT to_regclass('public.\"{t}\"') IS NOT NULL")).await?;
        if exists != "t" {
            continue;
        }
        let n = query(engine, db, &format!("SELECT count(*) FROM public.\"{t}\"")).await?;
        if let Ok(n) = n.parse::<u64>() {
            counts.insert(t.to_string(), n);
        }
    }
    Ok(counts)
}

/// The server's version: (`16.8`, 16).
pub async fn server_version(engine: &dyn Engine, db: &Db<'_>) -> Result<(String, Option<u32>)> {
    let version = query(engine, db, "SHOW server_version").await?;
    let num = query(engine, db, "SHOW server_version_num").await?;
    let major = num.parse::<u32>().ok().map(|n| n / 10000);
    Ok((version.split_whitespace().next().unwrap_or_default().to_string(), major))
}

/// Where the database records its applied migrations, with what makes a row applied: Prisma's
/// ledger (the official image), then the ledger of the test image's migrator, which honours the
/// same names.
pub const MIGRATION_LEDGERS: [(&str, &str); 2] = [
    (
        "_prisma_migrations",
        " WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    ),
    ("_litellm_image_migrations", ""),
];

/// `SELECT {what}` over the applied migrations of one of [`MIGRATION_LEDGERS`]; `None` when
/// the database has no such table.
pub async fn from_ledger(
    engine: &dyn Engine,
    db: &Db<'_>,
    (table, applied): (&str, &str),
    what: &str,
) -> Result<Option<String>> {
    let exists = query(
        engine,
        db,
        &format!("SELECT to_regclass('public.\"{table}\"') IS NOT NULL"),
    )
    .await?;
    if exists != "t" {
        return Ok(None);
    }
    let out = query(engine, db, &format!("SELECT {what} FROM public.\"{table}\"{applied}")).await?;
    Ok(Some(out))
}

/// The newest migration applied, from the first ledger that has one.
pub async fn newest_migration(engine: &dyn Engine, db: &Db<'_>) -> Result<Option<String>> {
    for ledger in MIGRATION_LEDGERS {
        if let Some(newest) = from_ledger(engine, db, ledger, "max(migration_name)").await? {
            if !newest.is_empty() {
                return Ok(Some(newest));
            }
        }
    }
    Ok(None)
}

/// The rows of each table in `pg_restore -f -` output, fed in chunks of any size. Only the
/// first bytes of a line are kept: a row can be long, its start says all that is needed.
#[derive(Debug, Default)]
pub struct CopyCounter {
    pub counts: BTreeMap<String, u64>,
    table: Option<String>,
    line: Vec<u8>,
}

const LINE_HEAD: usize = 512;

impl CopyCounter {
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            self.push(&rest[..i]);
            self.end_line();
            rest = &rest[i + 1..];
        }
        self.push(rest);
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = LINE_HEAD.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        match &self.table {
            Some(_) if line == b"\\." => self.table = None,
            Some(t) => *self.counts.entry(t.clone()).or_default() += 1,
            None => {
                if let Some(t) = copy_table(&line) {
                    self.counts.entry(t.clone()).or_default();
                    self.table = Some(t);
                }
            }
        }
    }
}

/// `COPY public."LiteLLM_SpendLogs" (…) FROM stdin;` → `LiteLLM_SpendLogs`.
fn copy_table(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let rest = text.strip_prefix("COPY ")?;
    let name = rest.split(" (").next()?.split(' ').next()?;
    let name = name.rsplit_once("\".\"").map_or(name, |(_, t)| t);
    let name = name.strip_prefix("public.").unwrap_or(name);
    Some(name.trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_between_copy_and_its_end_in_chunks_of_any_size() {
        let sql = "SET x = 1;\n\
            COPY public.\"LiteLLM_SpendLogs\" (request_id, messages) FROM stdin;\n\
            a\t{\"long\": \"row\"}\nb\t\\\\.not the end\n\\.\n\
            COPY public.\"LiteLLM_TeamTable\" (team_id) FROM stdin;\n\\.\n\
            COPY public.other (x) FROM stdin;\n1\n\\.\n";
        for size in [1, 3, 7, 1000] {
            let mut c = CopyCounter::default();
            for chunk in sql.as_bytes().chunks(size) {
                c.feed(chunk);
            }
            assert_eq!(c.counts.get("LiteLLM_SpendLogs"), Some(&2), "chunk {size}");
            assert_eq!(c.counts.get("LiteLLM_TeamTable"), Some(&0), "chunk {size}");
            assert_eq!(c.counts.get("other"), Some(&1), "chunk {size}");
        }
    }

    #[test]
    fn only_plain_names_reach_sql() {
        assert!(check_identifier("POSTGRES_DB", "litellm").is_ok());
        assert!(check_identifier("POSTGRES_USER", "llm-proxy_1").is_ok());
        for bad in ["", "a\"b", "x; DROP", "名前"] {
            assert!(check_identifier("POSTGRES_DB", bad).is_err(), "{bad}");
        }
    }
}
