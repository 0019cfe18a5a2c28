//! The final results of `backup`, `restore` and `upgrade` as JSON lines (`--json`): the
//! `backed_up`, `restored` and `upgraded` events of `docs/events.schema.json`, each the last line
//! of its run, with the message the text output shows beside its catalog key.

use std::path::Path;

use serde_json::{Value, json};

use super::millis;
use crate::i18n::{Lang, Msg};
use crate::steps::backup::{BackupReport, Manifest};
use crate::steps::restore::RestoreReport;
use crate::steps::upgrade::{ImageChange, UpgradeReport};

fn manifest(m: &Manifest) -> Value {
    json!({
        "created": m.created,
        "litellm_version": m.litellm_version,
        "postgres_major": m.postgres_major,
        "newest_migration": m.newest_migration,
        "counts": m.counts,
    })
}

fn changes(c: &[ImageChange]) -> Value {
    c.iter()
        .map(|c| json!({"service": c.service, "from": c.from, "to": c.to}))
        .collect()
}

/// `backup`: where the archive is (it holds the secrets), its size, what retention removed.
pub fn backed_up(r: &BackupReport, summary: &Msg, lang: Lang) -> Value {
    json!({
        "event": "backed_up",
        "code": summary.key,
        "message": summary.text(lang),
        "file": r.path,
        "size_bytes": r.size,
        "holds_secrets": true,
        "pruned": r.pruned,
        "manifest": manifest(&r.manifest),
    })
}

/// `restore`: the install restored, the archive's facts, the backup of the data it replaced.
pub fn restored(r: &RestoreReport, archive: &Path, summary: &Msg, lang: Lang) -> Value {
    json!({
        "event": "restored",
        "code": summary.key,
        "message": summary.text(lang),
        "dir": r.dir,
        "file": archive,
        "previous": r.previous,
        "manifest": manifest(&r.manifest),
    })
}

/// `upgrade`: both versions, what changed, the pre-upgrade backup; `up_to_date` when there was
/// nothing to do (a second upgrade).
pub fn upgraded(r: Option<&UpgradeReport>, summary: &Msg, lang: Lang) -> Value {
    json!({
        "event": "upgraded",
        "code": summary.key,
        "message": summary.text(lang),
        "up_to_date": r.is_none(),
        "from_version": r.and_then(|r| r.from_version.clone()),
        "to_version": r.and_then(|r| r.to_version.clone()),
        "changes": r.map_or(json!([]), |r| changes(&r.changes)),
        "backup": r.map(|r| &r.backup),
        "migrations_before": r.and_then(|r| r.migrations_before.clone()),
        "migrations_after": r.and_then(|r| r.migrations_after.clone()),
        "log": r.and_then(|r| r.log_path.clone()),
        "elapsed_ms": r.map_or(0, |r| millis(r.elapsed)),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn schema() -> jsonschema::Validator {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/events.schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .expect("a valid schema")
    }

    fn valid(v: &Value) {
        let errors: Vec<String> = schema().iter_errors(v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{v} breaks the schema: {errors:?}");
    }

    fn a_manifest() -> Manifest {
        Manifest {
            format: 1,
            created: "2026-12-03T08:30:00Z".into(),
            project: "p".into(),
            litellm_version: Some("1.108.7".into()),
            litellm_image: "litellm:1.108.7".into(),
            postgres_image: "postgres:16".into(),
            postgres_major: Some(16),
            postgres_version: Some("16.8".into()),
            database_user: "u".into(),
            database_name: "d".into(),
            newest_migration: Some("20261015000000_x".into()),
            counts: [("LiteLLM_VerificationToken".to_string(), 3u64)].into(),
            salt_key_fingerprint: Some("hmac-sha256:ab".into()),
            members: Default::default(),
        }
    }

    #[test]
    fn the_final_lines_of_backup_restore_and_upgrade_fit_the_schema_in_both_languages() {
        let backup = BackupReport {
            path: PathBuf::from("/b/litellm-backup-x.tar.gz"),
            size: 1234,
            manifest: a_manifest(),
            pruned: vec![PathBuf::from("/b/old.tar.gz")],
        };
        let restore = RestoreReport {
            dir: PathBuf::from("/x"),
            previous: None,
            manifest: a_manifest(),
        };
        let upgrade = UpgradeReport {
            changes: vec![ImageChange {
                service: "litellm".into(),
                from: "a:1".into(),
                to: "a:2".into(),
            }],
            backup: PathBuf::from("/b/y.tar.gz"),
            from_version: Some("1.106.12".into()),
            to_version: Some("1.108.7".into()),
            migrations_before: None,
            migrations_after: Some("m".into()),
            log_path: None,
            elapsed: Duration::from_millis(1500),
        };
        for lang in [Lang::En, Lang::ZhTw] {
            let v = backed_up(&backup, &msg!("backup.saved").arg("file", "f").arg("size", "1.0"), lang);
            assert_eq!(v["manifest"]["counts"]["LiteLLM_VerificationToken"], 3);
            valid(&v);
            let done = msg!("restore.finished")
                .arg("created", "c")
                .arg("dir", "/x")
                .arg("cmd", "status");
            valid(&restored(&restore, Path::new("/b/x.tar.gz"), &done, lang));
            let done = msg!("upgrade.noop").arg("dir", "/x").arg("image", "i");
            let v = upgraded(None, &done, lang);
            assert_eq!(v["up_to_date"], true);
            valid(&v);
            let v = upgraded(Some(&upgrade), &done, lang);
            assert_eq!(
                (v["up_to_date"].clone(), v["elapsed_ms"].clone()),
                (json!(false), json!(1500))
            );
            valid(&v);
        }
    }
}
