//! What a Windows install gets, checked on any OS by passing `Os::Windows` as a value: data in
//! named volumes, Windows paths that survive a round trip through `answers.yaml` (also after
//! Notepad turned it into CRLF), LF-only files, and hand-check commands a PowerShell user can
//! paste. The real `.exe` under wine is `ci/windows-checks.sh`'s part.

use std::path::{Path, PathBuf};

use litellm_stack::answers::{Answers, SAVED_ANSWERS};
use litellm_stack::health::Endpoints;
use litellm_stack::howto::hand_checks;
use litellm_stack::platform::{DataStorage, Os, Shell};
use litellm_stack::render::RenderedFile;
use litellm_stack::secrets::ExistingEnv;
use litellm_stack::workspace::Workspace;

const WINDOWS_DIR: &str = r"C:\work\TW\litellm";

fn windows_files(a: Answers) -> Vec<RenderedFile> {
    Workspace::prepare_with_env(a, Os::Windows, ExistingEnv::default(), &|_| None)
        .expect("the Windows defaults are valid answers")
        .files
}

fn contents<'a>(files: &'a [RenderedFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is rendered"))
        .contents
}

fn compose(files: &[RenderedFile]) -> serde_norway::Value {
    serde_norway::from_str(contents(files, "docker-compose.yml")).expect("docker-compose.yml is YAML")
}

fn mounts(c: &serde_norway::Value, service: &str) -> Vec<String> {
    c["services"][service]["volumes"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{service} has volumes"))
        .iter()
        .map(|v| v.as_str().expect("short mount syntax").to_string())
        .collect()
}

#[test]
fn windows_defaults_are_the_sops_dir_and_named_volumes() {
    let a = Answers::defaults_for(Os::Windows);
    assert_eq!(a.dir, PathBuf::from(WINDOWS_DIR));
    assert_eq!(a.data, DataStorage::Volumes);
    assert_eq!(a.project_name(), "litellm");
}

#[test]
fn windows_data_never_sits_on_an_ntfs_bind_mount() {
    let files = windows_files(Answers::defaults_for(Os::Windows));
    let c = compose(&files);
    for (service, volume, target) in [
        ("postgres", "pg_data", "/var/lib/postgresql/data"),
        ("redis", "redis_data", "/data"),
        ("prometheus", "prometheus_data", "/prometheus"),
    ] {
        let m = mounts(&c, service);
        assert!(m.contains(&format!("{volume}:{target}")), "{service}: {m:?}");
        assert!(c["volumes"][volume].is_mapping(), "volume {volume} is declared");
        // The only files shared from the Windows disk are read-only configuration.
        for bind in m.iter().filter(|m| m.starts_with("./")) {
            assert!(
                bind.ends_with(":ro"),
                "{service} writes to the Windows disk through {bind}"
            );
        }
    }
}

#[test]
fn a_windows_answers_file_reads_back_the_same_even_with_crlf() {
    let a = Answers::defaults_for(Os::Windows);
    let files = windows_files(a.clone());
    let saved = contents(&files, SAVED_ANSWERS);
    assert!(saved.contains(WINDOWS_DIR), "{saved}");
    let path = Path::new(r"C:\work\TW\litellm\answers.yaml");
    let back = Answers::parse(path, saved).expect("the saved answers parse");
    assert_eq!(back.dir, a.dir);
    assert_eq!(back.data, DataStorage::Volumes);
    back.validate(Os::Windows)
        .expect("the saved answers are valid on Windows");

    // Notepad (and git with autocrlf) saves it with CRLF.
    let crlf = saved.replace('\n', "\r\n");
    let from_notepad = Answers::parse(path, &crlf).expect("CRLF answers parse");
    assert_eq!(from_notepad, back);
}

#[test]
fn files_for_windows_carry_no_carriage_return() {
    for f in windows_files(Answers::defaults_for(Os::Windows)) {
        assert!(!f.contents.contains('\r'), "{} has a CR", f.path);
    }
}

#[test]
fn an_install_dir_with_spaces_stays_one_compose_project() {
    let mut a = Answers::defaults_for(Os::Windows);
    a.dir = PathBuf::from(r"D:\Users\Mei Ling\LiteLLM Stack");
    a.validate(Os::Windows)
        .expect("a Windows path with spaces is a valid dir");
    assert_eq!(a.project_name(), "litellmstack");
    let files = windows_files(a);
    assert!(contents(&files, ".env").contains("COMPOSE_PROJECT_NAME=litellmstack\n"));
}

/// Every command printed for a PowerShell user, as they would paste it.
fn powershell_commands(a: &Answers) -> Vec<String> {
    hand_checks(
        &Endpoints::from_answers(a),
        Shell::PowerShell,
        &a.dir,
        a.smoke_test_model,
    )
    .into_iter()
    .map(|c| c.command)
    .collect()
}

#[test]
fn commands_for_windows_are_powershell_not_bash() {
    let a = Answers::defaults_for(Os::Windows);
    let cmds = powershell_commands(&a);
    assert!(cmds.len() >= 8, "{cmds:#?}");
    for c in &cmds {
        let words: Vec<&str> = c.split_whitespace().collect();
        for linux_only in ["curl", "sed", "grep", "tr", "export", "sudo", "cat"] {
            assert!(
                !words.contains(&linux_only),
                "`{linux_only}` in a PowerShell command: {c}"
            );
        }
        for bashism in ["/dev/null", "~/", "$(", "${", "\\\n"] {
            assert!(!c.contains(bashism), "`{bashism}` in a PowerShell command: {c}");
        }
        // A bash-style variable ($NAME without env:) would expand to nothing in PowerShell.
        assert!(!c.contains("$LITELLM_MASTER_KEY"), "{c}");
    }
    assert!(
        cmds[0].contains(r"'C:\work\TW\litellm\.env'"),
        "the key comes from the Windows path of .env: {}",
        cmds[0]
    );
}

#[test]
fn a_windows_path_with_a_quote_is_still_one_powershell_word() {
    let mut a = Answers::defaults_for(Os::Windows);
    a.dir = PathBuf::from(r"C:\Users\O'Brien\litellm");
    let cmds = powershell_commands(&a);
    assert!(
        cmds[0].contains(r"'C:\Users\O''Brien\litellm\.env'"),
        "single quotes are doubled inside a PowerShell string: {}",
        cmds[0]
    );
}
