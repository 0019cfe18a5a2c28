//! Failed rows of Prisma's `_prisma_migrations` (what the official image's `prisma migrate
//! deploy` records): a migration started and never finished nor rolled back stops every later
//! start with P3009. Asked in the Postgres container over its socket, as the `.env` user.

use super::{Containers, Context, Finding};
use crate::engine::Engine;

pub const ID: &str = "db.migrations";

const TABLE_SQL: &str = "SELECT to_regclass('_prisma_migrations') IS NOT NULL";
const FAILED_SQL: &str = "SELECT migration_name FROM _prisma_migrations \
     WHERE finished_at IS NULL AND rolled_back_at IS NULL ORDER BY started_at";

/// `table`: whether the table exists; `failed`: the names of its failed rows.
pub fn judge(table: bool, failed: &[String], logs_cmd: &str) -> Finding {
    if !table {
        return Finding::pass(ID, msg!("doctor.migrations.ok"))
            .seen("_prisma_migrations: absent (no Prisma migration recorded)");
    }
    if failed.is_empty() {
        return Finding::pass(ID, msg!("doctor.migrations.ok")).seen("_prisma_migrations: no failed row");
    }
    let mut f = Finding::fail(
        ID,
        msg!("doctor.migrations.failed")
            .arg("count", failed.len())
            .arg("names", failed.join(", ")),
        msg!("engine.diag.db_migration"),
    );
    f = f.seen(format!("see `{logs_cmd}`"));
    f
}

pub async fn check(engine: &dyn Engine, ctx: &Context, containers: &Containers) -> Finding {
    let Some(c) = containers.get("postgres").filter(|_| containers.running("postgres")) else {
        return Finding::skip(ID, msg!("doctor.skip.see").arg("id", super::containers::id("postgres")));
    };
    let user = ctx.env_value("POSTGRES_USER");
    let db = ctx.env_value("POSTGRES_DB");
    let psql = |sql: &str| -> Vec<String> {
        ["psql", "-X", "-A", "-t", "-U", &user, "-d", &db, "-c", sql]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let ask = |sql: &'static str| {
        let cmd = psql(sql);
        async move { engine.exec_output(&c.id, &cmd, &[]).await }
    };
    let table = match ask(TABLE_SQL).await {
        Ok(out) if out.exit_code == Some(0) => out.stdout.trim() == "t",
        Ok(out) => {
            return Finding::warn(
                ID,
                msg!("doctor.migrations.unknown"),
                msg!("doctor.fix.see_logs").arg("cmd", ctx.follow_up("logs postgres")),
            )
            .seen(ctx.mask(out.stderr.trim()));
        }
        Err(e) => {
            return Finding::warn(ID, msg!("doctor.migrations.unknown"), msg!("doctor.fix.engine_error"))
                .seen(ctx.mask(&e.to_string()));
        }
    };
    let failed = if table {
        match ask(FAILED_SQL).await {
            Ok(out) => out
                .stdout
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    judge(table, &failed, &ctx.follow_up("logs litellm"))
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    #[test]
    fn a_migration_neither_finished_nor_rolled_back_fails() {
        assert_eq!(judge(false, &[], "x").verdict, Verdict::Pass);
        assert_eq!(judge(true, &[], "x").verdict, Verdict::Pass);
        let f = judge(true, &["20260301_add_budget".to_string()], "litellm-stack logs litellm");
        assert_eq!(f.verdict, Verdict::Fail);
        assert!(
            f.summary.text(crate::i18n::Lang::En).contains("20260301_add_budget"),
            "{:?}",
            f.summary
        );
    }
}
