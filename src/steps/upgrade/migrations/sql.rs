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
mod tests;
