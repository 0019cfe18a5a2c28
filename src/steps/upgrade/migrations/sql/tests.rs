//! The classifier's unit tests (a file of their own, so that `sql.rs` stays under 600 lines):
//! one verdict per statement kind, and the real migrations of LiteLLM 1.108.7.

use super::*;

fn verdict(files: &[&str]) -> Result<(), Unsafe> {
    let mut objects = NewObjects::default();
    for f in files {
        check(f, &mut objects)?;
    }
    Ok(())
}

fn unsafe_kind(sql: &str) -> String {
    match verdict(&[sql]) {
        Err(u) => u.kind,
        Ok(()) => panic!("taken as additive: {sql}"),
    }
}

#[test]
fn statements_split_outside_quotes_comments_and_dollar_bodies() {
    let s = statements(
        "-- CreateTable; not a statement\nCREATE TABLE \"a;b\" (\"x\" TEXT DEFAULT 'c;d');\n/* ; */ DO $x$ BEGIN; END $x$;\nCOMMIT",
    );
    assert_eq!(s.len(), 3, "{s:#?}");
    assert_eq!(s[0].1[2], Tok::Name("a;b".into()));
    assert_eq!(s[1].1, vec![Tok::Word("DO".into()), Tok::Lit]);
}

#[test]
fn prisma_additive_statements_are_safe() {
    let sql = r#"
-- CreateTable
CREATE TABLE "LiteLLM_NewThing" (
    "id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "LiteLLM_NewThing_pkey" PRIMARY KEY ("id")
);
-- CreateIndex
CREATE UNIQUE INDEX "LiteLLM_NewThing_team_id_key" ON "LiteLLM_NewThing"("team_id");
-- AddForeignKey
ALTER TABLE "LiteLLM_NewThing" ADD CONSTRAINT "LiteLLM_NewThing_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "LiteLLM_TeamTable"("team_id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- AlterTable
ALTER TABLE "LiteLLM_VerificationToken" ADD COLUMN     "object_permission_id" TEXT,
ADD COLUMN     "rotation_count" INTEGER DEFAULT 0,
ADD COLUMN     "auto_rotate" BOOLEAN NOT NULL DEFAULT false;
-- CreateIndex
CREATE INDEX "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs"("startTime");
CREATE INDEX CONCURRENTLY IF NOT EXISTS "x_idx" ON "LiteLLM_SpendLogs" USING btree ("user" DESC);
-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('ACTIVE', 'INACTIVE');
ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN "status" "JobStatus";
ALTER TABLE "LiteLLM_TeamTable" ALTER COLUMN "budget" SET DEFAULT 0.0;
ALTER TABLE "LiteLLM_VerificationToken" ADD CONSTRAINT "tok_perm_fkey" FOREIGN KEY ("object_permission_id") REFERENCES "LiteLLM_NewThing"("id") ON DELETE SET NULL ON UPDATE CASCADE;
"#;
    let mut objects = NewObjects::default();
    let kinds = check(sql, &mut objects).expect("additive");
    assert_eq!(kinds.len(), 10, "{kinds:?}");
}

/// The 8 newest migrations LiteLLM 1.108.7 ships (litellm-proxy-extras 0.4.110), as its image
/// has them: the 7 an upgrade from 1.106.12 applies, and `20261009000000_add_credential_display_name`
/// between them, which 1.106.12 ships already.
const REAL: &str = include_str!("../litellm_1_108_7_newest.sql");

#[test]
fn the_migrations_from_1_106_12_to_1_108_7_are_additive() {
    let files: Vec<(&str, &str)> = REAL
        .split("-- === ")
        .filter(|f| !f.trim().is_empty())
        .map(|f| f.split_once('\n').expect("a name line"))
        .collect();
    assert_eq!(files.len(), 8);
    let mut objects = NewObjects::default();
    let mut all = Vec::new();
    for (name, sql) in &files {
        let kinds = check(sql, &mut objects).unwrap_or_else(|u| panic!("{name}: {u:?}"));
        assert!(!kinds.is_empty(), "{name}: no statement");
        all.extend(kinds);
    }
    for kind in ["CREATE TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX", "ADD COLUMN"] {
        assert!(all.contains(&kind), "{kind} in {all:?}");
    }
    // Each file alone too (the database may have any prefix of them).
    for (name, sql) in &files {
        assert!(check(sql, &mut NewObjects::default()).is_ok(), "{name}");
    }
}

#[test]
fn destructive_or_unknown_statements_are_not() {
    for (sql, kind) in [
        (r#"ALTER TABLE "LiteLLM_SpendLogs" DROP COLUMN "old";"#, "DROP COLUMN"),
        (r#"DROP TABLE "LiteLLM_Old";"#, "DROP TABLE"),
        (r#"DROP INDEX "LiteLLM_SpendLogs_startTime_idx";"#, "DROP INDEX"),
        (r#"ALTER TABLE "LiteLLM_TeamTable" RENAME COLUMN "a" TO "b";"#, "RENAME"),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" RENAME TO "LiteLLM_Teams";"#,
            "RENAME",
        ),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" ALTER COLUMN "spend" SET DATA TYPE DOUBLE PRECISION;"#,
            "ALTER COLUMN TYPE",
        ),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" ALTER COLUMN "spend" TYPE BIGINT USING "spend"::bigint;"#,
            "ALTER COLUMN TYPE",
        ),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" ALTER COLUMN "team_alias" SET NOT NULL;"#,
            "SET NOT NULL",
        ),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" ALTER COLUMN "models" DROP DEFAULT;"#,
            "DROP DEFAULT",
        ),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN "tier" TEXT NOT NULL;"#,
            "ADD COLUMN NOT NULL without a default",
        ),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" DROP CONSTRAINT "LiteLLM_TeamTable_pkey";"#,
            "DROP CONSTRAINT",
        ),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" ADD CONSTRAINT "u" UNIQUE ("team_alias");"#,
            "ADD CONSTRAINT UNIQUE on existing columns",
        ),
        (
            r#"CREATE UNIQUE INDEX "t_alias_key" ON "LiteLLM_TeamTable"("team_alias");"#,
            "CREATE UNIQUE INDEX on existing columns",
        ),
        (
            r#"UPDATE "LiteLLM_VerificationToken" SET "spend" = 0 WHERE "spend" IS NULL;"#,
            "UPDATE",
        ),
        (r#"DELETE FROM "LiteLLM_SpendLogs";"#, "DELETE"),
        (r#"INSERT INTO "LiteLLM_TeamTable" ("team_id") VALUES ('x');"#, "INSERT"),
        (r#"ALTER TYPE "JobStatus" ADD VALUE 'PAUSED';"#, "ALTER TYPE ADD VALUE"),
        ("DO $$ BEGIN PERFORM 1; END $$;", "DO"),
        ("CREATE OR REPLACE VIEW \"v\" AS SELECT 1;", "CREATE OR REPLACE VIEW"),
        ("CREATE EXTENSION IF NOT EXISTS pg_trgm;", "CREATE EXTENSION"),
        ("VACUUM FULL;", "unknown statement (VACUUM)"),
        ("SET search_path = other;", "SET"),
        (
            r#"ALTER TABLE "LiteLLM_AccessGroupTable" ALTER COLUMN "access_skill_names" DROP NOT NULL;"#,
            "DROP NOT NULL",
        ),
        (
            r#"ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN "a" TEXT, DROP COLUMN "b";"#,
            "DROP COLUMN",
        ),
    ] {
        assert_eq!(unsafe_kind(sql), kind, "{sql}");
    }
}

#[test]
fn the_first_unsafe_statement_is_reported_with_its_excerpt() {
    let sql = "CREATE TABLE \"N\" (\"id\" TEXT);\nALTER TABLE \"LiteLLM_SpendLogs\"\n    DROP COLUMN \"old\";";
    let e = verdict(&[sql]).expect_err("unsafe");
    assert_eq!(e.kind, "DROP COLUMN");
    assert_eq!(e.excerpt, "ALTER TABLE \"LiteLLM_SpendLogs\" DROP COLUMN \"old\"");
}

#[test]
fn objects_created_by_an_earlier_pending_migration_are_new() {
    let first = r#"ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN "router_settings" JSONB DEFAULT '{}';"#;
    let second = r#"ALTER TABLE "LiteLLM_TeamTable" ALTER COLUMN "router_settings" SET NOT NULL;"#;
    let typed = r#"ALTER TABLE "LiteLLM_TeamTable" ALTER COLUMN "router_settings" SET DATA TYPE TEXT;"#;
    assert!(verdict(&[first, second, typed]).is_ok());
    assert!(verdict(&[second]).is_err(), "an existing column");
    assert!(verdict(&[typed]).is_err(), "an existing column");
    let no_default = r#"ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN "router_settings" JSONB;"#;
    assert_eq!(
        verdict(&[no_default, second])
            .expect_err("the old version inserts without it")
            .kind,
        "SET NOT NULL"
    );
    let new_table = r#"CREATE TABLE "N" ("id" TEXT);"#;
    let n_not_null = r#"ALTER TABLE "N" ALTER COLUMN "id" SET NOT NULL, ADD COLUMN "v" INT NOT NULL;"#;
    assert!(
        verdict(&[new_table, n_not_null]).is_ok(),
        "the old version never writes it"
    );
}
