//! The API test's temporary virtual key leaves nothing in the database. `/key/delete` removes
//! the key, but LiteLLM keeps an archive row of every deleted key
//! (`LiteLLM_DeletedVerificationToken`: its hash, alias and last four characters). For the
//! installer's own test key that row is noise in the team's audit trail, so it is removed here,
//! in the Postgres container, by the key's alias (random, `litellm-stack-api-test-<hex>`), and
//! the key is checked gone from the live table in the same statement.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::health::KEY_ALIAS_PREFIX;

/// What the Postgres container's `psql` needs: the database user and name from `.env`.
pub struct Database<'a> {
    pub project: &'a str,
    pub user: &'a str,
    pub name: &'a str,
}

/// Removes LiteLLM's archive row of the test key `alias` and fails when the key itself is
/// still in `LiteLLM_VerificationToken`. `Ok(false)`: no Postgres container to ask.
pub async fn purge(engine: &dyn Engine, db: &Database<'_>, alias: &str) -> Result<bool> {
    let Some(sql) = purge_sql(alias) else {
        return Err(Error::failed(msg!("testkey.error.alias").arg("alias", alias)));
    };
    let containers = engine.containers(Some(db.project)).await.map_err(Error::from)?;
    let Some(postgres) = containers.iter().find(|c| c.service() == Some("postgres")) else {
        return Ok(false);
    };
    let cmd: Vec<String> = [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        db.user,
        "-d",
        db.name,
        "-c",
        &sql,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match engine.exec(&postgres.id, &cmd).await.map_err(Error::from)? {
        Some(0) => Ok(true),
        code => Err(Error::failed(msg!("testkey.error.purge").arg("alias", alias))
            .detail(format!("psql exit code {code:?}"))
            .hint(msg!("health.api.hint.key_left").arg("alias", alias))),
    }
}

/// The statement, for an alias the API test made (nothing else is ever interpolated).
fn purge_sql(alias: &str) -> Option<String> {
    let suffix = alias.strip_prefix(KEY_ALIAS_PREFIX)?;
    if suffix.is_empty() || !suffix.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!(
        "DO $$ BEGIN \
           IF to_regclass('\"LiteLLM_DeletedVerificationToken\"') IS NOT NULL THEN \
             DELETE FROM \"LiteLLM_DeletedVerificationToken\" WHERE key_alias = '{alias}'; \
           END IF; \
           IF EXISTS (SELECT 1 FROM \"LiteLLM_VerificationToken\" WHERE key_alias = '{alias}') THEN \
             RAISE EXCEPTION 'the API test key is still in LiteLLM_VerificationToken'; \
           END IF; \
         END $$;"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_tests_own_aliases_reach_sql() {
        assert!(
            purge_sql("litellm-stack-api-test-0a1b2c3d")
                .is_some_and(|s| s.contains("'litellm-stack-api-test-0a1b2c3d'"))
        );
        for bad in [
            "team-key",
            "litellm-stack-api-test-",
            "litellm-stack-api-test-x'; DROP TABLE y; --",
        ] {
            assert!(purge_sql(bad).is_none(), "{bad}");
        }
    }
}
