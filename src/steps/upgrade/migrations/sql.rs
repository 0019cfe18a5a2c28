//! Pure: whether a migration's SQL only adds to the schema, so that the previous LiteLLM version
//! can keep serving on it for the minute a blue/green switch takes.
//!
//! Additive: `CREATE TABLE`, `CREATE [UNIQUE] INDEX` (unique only on a table or columns the same
//! pending migrations create), `CREATE TYPE`, `CREATE SEQUENCE`, `ADD COLUMN` that is nullable or
//! has a default, `ADD CONSTRAINT` / `SET NOT NULL` / `ALTER COLUMN TYPE` on a table or column the
//! pending migrations create, `SET DEFAULT`, `COMMENT ON`, `INSERT` into a new table, and
//! `SET [LOCAL] lock_timeout` / `statement_timeout` (the migration's own transaction).
//! Anything else is not: `DROP …`, `RENAME`, a type change or `SET NOT NULL` on an existing
//! column, `UPDATE` / `DELETE` / `INSERT` into existing tables, `ALTER TYPE … ADD VALUE` (the old
//! version cannot read the new value), `DO` blocks, and every statement this module does not know.

use std::collections::HashSet;

/// One token of SQL outside comments.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An unquoted word, upper-cased.
    Word(String),
    /// A quoted identifier, as written.
    Name(String),
    /// A string literal, a dollar-quoted body or a number.
    Lit,
    Sym(char),
}

/// What the pending migrations create, so that later statements on it count as additive.
#[derive(Debug, Default)]
pub(crate) struct NewObjects {
    tables: HashSet<String>,
    columns: HashSet<(String, String)>,
    /// New columns of existing tables that have a default: the old version's inserts, which
    /// leave them out, still pass a `NOT NULL` on them.
    defaults: HashSet<(String, String)>,
    types: HashSet<String>,
}

/// A statement that is not additive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsafe {
    /// Its kind in SQL words, e.g. `DROP COLUMN`, `ALTER COLUMN TYPE`, `UPDATE`.
    pub kind: String,
    /// The statement's start, for the report.
    pub excerpt: String,
}

/// Classifies every statement of one migration file, in order; `objects` carries what earlier
/// statements (and earlier pending migrations) created. The first non-additive one is returned.
pub(crate) fn check(sql: &str, objects: &mut NewObjects) -> Result<Vec<&'static str>, Unsafe> {
    let mut kinds = Vec::new();
    for (text, toks) in statements(sql) {
        match classify(&toks, objects) {
            Ok(Some(kind)) => kinds.push(kind),
            Ok(None) => {}
            Err(kind) => {
                return Err(Unsafe {
                    kind,
                    excerpt: excerpt(&text),
                });
            }
        }
    }
    Ok(kinds)
}

fn excerpt(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// Splits on `;` outside quotes, dollar quotes and comments: (the statement's text, its tokens).
fn statements(sql: &str) -> Vec<(String, Vec<Tok>)> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut toks = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let end_stmt = |toks: &mut Vec<Tok>, text: &mut String, out: &mut Vec<(String, Vec<Tok>)>| {
        if !toks.is_empty() {
            out.push((text.trim().to_string(), std::mem::take(toks)));
        }
        text.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i = (i + 2).min(chars.len());
            text.push(' ');
            continue;
        }
        if c == ';' {
            i += 1;
            end_stmt(&mut toks, &mut text, &mut out);
            continue;
        }
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            i += 1;
            let mut s = String::new();
            while i < chars.len() {
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        s.push(c);
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            i = (i + 1).min(chars.len());
            toks.push(if c == '"' { Tok::Name(s) } else { Tok::Lit });
        } else if c == '$' && dollar_tag(&chars, i).is_some() {
            let tag = dollar_tag(&chars, i).unwrap_or_default();
            i += tag.len();
            while i < chars.len() && !chars[i..].starts_with(&tag) {
                i += 1;
            }
            i = (i + tag.len()).min(chars.len());
            toks.push(Tok::Lit);
        } else if c.is_alphabetic() || c == '_' {
            let mut w = String::new();
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                w.push(chars[i]);
                i += 1;
            }
            toks.push(Tok::Word(w.to_uppercase()));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            toks.push(Tok::Lit);
        } else {
            i += 1;
            toks.push(Tok::Sym(c));
        }
        text.extend(&chars[start..i]);
    }
    end_stmt(&mut toks, &mut text, &mut out);
    out
}

/// `$tag$` starting at `i` (the tag may be empty: `$$`).
fn dollar_tag(chars: &[char], i: usize) -> Option<Vec<char>> {
    let mut j = i + 1;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        j += 1;
    }
    (chars.get(j) == Some(&'$')).then(|| chars[i..=j].to_vec())
}

/// A cursor over one statement's tokens.
struct Cur<'a> {
    t: &'a [Tok],
    i: usize,
}

impl Cur<'_> {
    fn word(&self, w: &str) -> bool {
        matches!(self.t.get(self.i), Some(Tok::Word(x)) if x == w)
    }
    /// Consumes the words when they come next, in order.
    fn eat(&mut self, words: &[&str]) -> bool {
        let ok = words
            .iter()
            .enumerate()
            .all(|(k, w)| matches!(self.t.get(self.i + k), Some(Tok::Word(x)) if x == w));
        if ok {
            self.i += words.len();
        }
        ok
    }
    fn next_word(&mut self) -> Option<String> {
        match self.t.get(self.i) {
            Some(Tok::Word(w)) => {
                self.i += 1;
                Some(w.clone())
            }
            _ => None,
        }
    }
    /// A possibly schema-qualified name: its last part (unquoted names folded to lower case).
    fn name(&mut self) -> Option<String> {
        let mut last = None;
        loop {
            let part = match self.t.get(self.i) {
                Some(Tok::Name(n)) => n.clone(),
                Some(Tok::Word(w)) => w.to_lowercase(),
                _ => return last,
            };
            self.i += 1;
            last = Some(part);
            if self.t.get(self.i) != Some(&Tok::Sym('.')) {
                return last;
            }
            self.i += 1;
        }
    }
    /// The names in the parenthesised list that comes next, e.g. `("a", "b")`.
    fn name_list(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if self.t.get(self.i) != Some(&Tok::Sym('(')) {
            return out;
        }
        let mut depth = 0;
        while let Some(t) = self.t.get(self.i) {
            self.i += 1;
            match t {
                Tok::Sym('(') => depth += 1,
                Tok::Sym(')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Tok::Name(n) if depth == 1 => out.push(n.clone()),
                Tok::Word(w) if depth == 1 && !matches!(w.as_str(), "ASC" | "DESC" | "NULLS" | "FIRST" | "LAST") => {
                    out.push(w.to_lowercase())
                }
                _ => {}
            }
        }
        out
    }
    fn rest(&self) -> &[Tok] {
        &self.t[self.i.min(self.t.len())..]
    }
}

fn has_word(toks: &[Tok], w: &str) -> bool {
    toks.iter().any(|t| matches!(t, Tok::Word(x) if x == w))
}

/// `Ok(Some(kind))`: additive; `Ok(None)`: nothing to the schema (`BEGIN`); `Err(kind)`: not.
fn classify(toks: &[Tok], objects: &mut NewObjects) -> Result<Option<&'static str>, String> {
    let mut c = Cur { t: toks, i: 0 };
    let first = c.next_word().ok_or_else(|| "unknown statement".to_string())?;
    match first.as_str() {
        "BEGIN" | "COMMIT" | "END" if c.rest().is_empty() || c.eat(&["TRANSACTION"]) || c.eat(&["WORK"]) => Ok(None),
        "CREATE" => create(&mut c, objects),
        "ALTER" if c.eat(&["TABLE"]) => alter_table(&mut c, objects),
        "ALTER" if c.eat(&["TYPE"]) => {
            let ty = c.name().unwrap_or_default();
            match objects.types.contains(&ty) {
                true => Ok(Some("ALTER TYPE")),
                false if c.eat(&["ADD", "VALUE"]) => Err("ALTER TYPE ADD VALUE".into()),
                false if c.eat(&["RENAME"]) => Err("RENAME".into()),
                false => Err("ALTER TYPE".into()),
            }
        }
        "COMMENT" if c.eat(&["ON"]) => Ok(Some("COMMENT ON")),
        // A timeout for the migration's own transaction (LiteLLM's migrations start so).
        "SET"
            if {
                let _ = c.eat(&["LOCAL"]) || c.eat(&["SESSION"]);
                c.eat(&["LOCK_TIMEOUT"]) || c.eat(&["STATEMENT_TIMEOUT"])
            } =>
        {
            Ok(None)
        }
        "INSERT" if c.eat(&["INTO"]) => match c.name() {
            Some(t) if objects.tables.contains(&t) => Ok(Some("INSERT into a new table")),
            _ => Err("INSERT".into()),
        },
        "DROP" => Err(format!("DROP {}", c.next_word().unwrap_or_default()).trim().to_string()),
        "ALTER" => {
            let what = c.next_word().unwrap_or_default();
            match has_word(c.rest(), "RENAME") {
                true => Err("RENAME".into()),
                false => Err(format!("ALTER {what}").trim().to_string()),
            }
        }
        "UPDATE" | "DELETE" | "TRUNCATE" | "MERGE" | "DO" | "GRANT" | "REVOKE" | "SET" | "SELECT" => Err(first),
        _ => Err(format!("unknown statement ({first})")),
    }
}

fn create(c: &mut Cur<'_>, objects: &mut NewObjects) -> Result<Option<&'static str>, String> {
    if c.eat(&["OR", "REPLACE"]) {
        return Err(format!("CREATE OR REPLACE {}", c.next_word().unwrap_or_default()));
    }
    let unique = c.eat(&["UNIQUE"]);
    if c.eat(&["INDEX"]) {
        c.eat(&["CONCURRENTLY"]);
        c.eat(&["IF", "NOT", "EXISTS"]);
        if !c.word("ON") {
            c.name();
        }
        if !c.eat(&["ON"]) {
            return Err("CREATE INDEX".into());
        }
        c.eat(&["ONLY"]);
        let table = c.name().unwrap_or_default();
        if c.eat(&["USING"]) {
            c.next_word();
        }
        let cols = c.name_list();
        if !unique || objects.tables.contains(&table) {
            return Ok(Some(if unique { "CREATE UNIQUE INDEX" } else { "CREATE INDEX" }));
        }
        let all_new = !cols.is_empty()
            && cols
                .iter()
                .all(|col| objects.columns.contains(&(table.clone(), col.clone())));
        return match all_new {
            true => Ok(Some("CREATE UNIQUE INDEX")),
            false => Err("CREATE UNIQUE INDEX on existing columns".into()),
        };
    }
    if unique {
        return Err("CREATE UNIQUE".into());
    }
    c.eat(&["UNLOGGED"]);
    if c.eat(&["TABLE"]) {
        c.eat(&["IF", "NOT", "EXISTS"]);
        let table = c.name().ok_or("CREATE TABLE")?;
        // A table made from a query reads other tables only.
        objects.tables.insert(table);
        return Ok(Some("CREATE TABLE"));
    }
    if c.eat(&["TYPE"]) {
        let ty = c.name().ok_or("CREATE TYPE")?;
        objects.types.insert(ty);
        return Ok(Some("CREATE TYPE"));
    }
    if c.eat(&["SEQUENCE"]) {
        return Ok(Some("CREATE SEQUENCE"));
    }
    Err(format!("CREATE {}", c.next_word().unwrap_or_default())
        .trim()
        .to_string())
}

/// The actions of `ALTER TABLE name a, b, …`, each checked.
fn alter_table(c: &mut Cur<'_>, objects: &mut NewObjects) -> Result<Option<&'static str>, String> {
    c.eat(&["IF", "EXISTS"]);
    c.eat(&["ONLY"]);
    let table = c.name().ok_or("ALTER TABLE")?;
    let new_table = objects.tables.contains(&table);
    let mut actions: Vec<Vec<Tok>> = vec![Vec::new()];
    let mut depth = 0i32;
    for t in c.rest() {
        match t {
            Tok::Sym('(') => depth += 1,
            Tok::Sym(')') => depth -= 1,
            Tok::Sym(',') if depth == 0 => {
                actions.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(a) = actions.last_mut() {
            a.push(t.clone());
        }
    }
    let mut kind = "ALTER TABLE";
    for a in &actions {
        kind = alter_action(&table, new_table, a, objects)?;
    }
    Ok(Some(kind))
}

fn alter_action(table: &str, new_table: bool, a: &[Tok], objects: &mut NewObjects) -> Result<&'static str, String> {
    let mut c = Cur { t: a, i: 0 };
    let is_new_col =
        |objects: &NewObjects, col: &str| new_table || objects.columns.contains(&(table.to_string(), col.to_string()));
    if c.eat(&["ADD"]) {
        if c.eat(&["CONSTRAINT"]) {
            c.name();
        }
        if c.word("FOREIGN") || c.word("UNIQUE") || c.word("PRIMARY") || c.word("CHECK") || c.word("EXCLUDE") {
            let what = c.next_word().unwrap_or_default();
            c.eat(&["KEY"]);
            let cols = c.name_list();
            let on_new = new_table
                || (what != "CHECK"
                    && what != "EXCLUDE"
                    && !cols.is_empty()
                    && cols.iter().all(|col| is_new_col(objects, col)));
            return match on_new {
                true => Ok("ADD CONSTRAINT"),
                false => Err(format!("ADD CONSTRAINT {what} on existing columns")),
            };
        }
        c.eat(&["COLUMN"]);
        c.eat(&["IF", "NOT", "EXISTS"]);
        let col = c.name().ok_or("ADD COLUMN")?;
        let rest = c.rest();
        let not_null = rest
            .windows(2)
            .any(|w| w[0] == Tok::Word("NOT".into()) && w[1] == Tok::Word("NULL".into()));
        if !new_table && not_null && !has_word(rest, "DEFAULT") {
            return Err("ADD COLUMN NOT NULL without a default".into());
        }
        if !new_table && (has_word(rest, "UNIQUE") || has_word(rest, "PRIMARY") || has_word(rest, "CHECK")) {
            return Err("ADD COLUMN with a constraint".into());
        }
        if has_word(rest, "DEFAULT") {
            objects.defaults.insert((table.to_string(), col.clone()));
        }
        objects.columns.insert((table.to_string(), col));
        return Ok("ADD COLUMN");
    }
    if c.eat(&["ALTER"]) {
        c.eat(&["COLUMN"]);
        let col = c.name().ok_or("ALTER COLUMN")?;
        let key = (table.to_string(), col.clone());
        let new_col = is_new_col(objects, &col);
        let (kind, additive) = if c.eat(&["SET", "DEFAULT"]) {
            if new_col {
                objects.defaults.insert(key);
            }
            ("SET DEFAULT", true)
        } else if c.eat(&["SET", "NOT", "NULL"]) {
            // On a new column of an existing table only with a default: the old version's
            // inserts leave it out.
            let ok = new_table || objects.defaults.contains(&key);
            return match ok {
                true => Ok("SET NOT NULL"),
                false => Err("SET NOT NULL".into()),
            };
        } else if c.eat(&["DROP", "NOT", "NULL"]) {
            ("DROP NOT NULL", false)
        } else if c.eat(&["DROP", "DEFAULT"]) {
            ("DROP DEFAULT", false)
        } else if c.eat(&["TYPE"]) || c.eat(&["SET", "DATA", "TYPE"]) {
            ("ALTER COLUMN TYPE", false)
        } else {
            ("ALTER COLUMN", false)
        };
        return match additive || new_col {
            true => Ok(kind),
            false => Err(kind.into()),
        };
    }
    if c.eat(&["DROP"]) {
        let what = c.next_word().unwrap_or_default();
        return Err(match what.as_str() {
            "CONSTRAINT" | "COLUMN" => format!("DROP {what}"),
            _ => "DROP COLUMN".into(),
        });
    }
    if has_word(a, "RENAME") {
        return Err("RENAME".into());
    }
    Err(format!("ALTER TABLE {}", c.next_word().unwrap_or_default())
        .trim()
        .to_string())
}

#[cfg(test)]
mod tests {
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
    const REAL: &str = include_str!("litellm_1_108_7_newest.sql");

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
}
