//! Issue 11, class by class, through the real binary on temp dirs (no Docker engine): answers
//! that would break the stack are refused with exit 2 naming the field and nothing written;
//! `.env` and `config.yaml` read back exactly by the parsers the stack really uses (Compose
//! v2 and dotenvy; the PyYAML of the LiteLLM venv); writes never lose a backup, leave no temp
//! file and serialize on a lock.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, ci_env};
use litellm_stack::answers::{Answers, STACK_ENV_KEYS, reserved_env_var};
use litellm_stack::platform::Os;
use litellm_stack::render::{RenderedFile, write};
use litellm_stack::secrets::ExistingEnv;
use litellm_stack::stack::{EnvValue, Stack};
use litellm_stack::workspace::{LOCK_FILE, stamp_now};

// ---------------------------------------------------------------------------------------------
// Helpers

/// `{dir}` in `yaml` stands for the install dir.
fn answers_in(tmp: &Path, yaml: &str, install_dir: &Path) -> PathBuf {
    let f = tmp.join("answers.in.yaml");
    std::fs::write(&f, yaml.replace("{dir}", &install_dir.display().to_string())).expect("write answers");
    f
}

/// What `.env` holds, as dotenvy reads it.
fn env_of(dir: &Path) -> BTreeMap<String, String> {
    let raw = std::fs::read(dir.join(".env")).expect(".env");
    ExistingEnv::parse(&dir.join(".env"), &raw)
        .expect("dotenvy reads .env")
        .entries
        .into_iter()
        .map(|(k, v)| (k, v.expose().to_string()))
        .collect()
}

/// Every file under `dir` with its bytes (to show that a refused run changed nothing).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != LOCK_FILE) {
                // The lock file is the run's, not the install's: it is taken before .env is read.
                out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

struct Bad {
    what: &'static str,
    yaml: &'static str,
    /// The field (or variable) the message must name.
    names: &'static str,
    /// Text the message must never show (a pasted key).
    hides: Option<&'static str>,
}

/// Each case: `render` and `plan` exit 2, the message names the field, hides what it must,
/// and the install dir is not created.
fn assert_refused(cases: &[Bad]) {
    for case in cases {
        for command in ["render", "plan"] {
            let tmp = tempfile::tempdir().expect("tempdir");
            let d = tmp.path().join("litellm");
            let f = answers_in(tmp.path(), case.yaml, &d);
            let out = bin().args([command, "--answers"]).arg(&f).output().expect("runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let all = format!("{stderr}{}", String::from_utf8_lossy(&out.stdout));
            assert_eq!(out.status.code(), Some(2), "{}: {command}: {all}", case.what);
            assert!(
                stderr.contains(case.names),
                "{}: {command} must name {}: {stderr}",
                case.what,
                case.names
            );
            if let Some(secret) = case.hides {
                assert!(
                    !all.contains(secret),
                    "{}: {command} echoed the pasted key: {all}",
                    case.what
                );
            }
            assert!(!d.exists(), "{}: {command} wrote {}", case.what, d.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A (1): reserved api_key_env names

#[test]
fn a_provider_key_cannot_take_a_name_the_stack_or_a_process_needs() {
    let mut cases = Vec::new();
    for name in [
        "LITELLM_MASTER_KEY",
        "LITELLM_SALT_KEY",
        "DATABASE_URL",
        "POSTGRES_PASSWORD",
        "POSTGRES_HOST",
        "REDIS_URL",
        "COMPOSE_PROJECT_NAME",
        "COMPOSE_FILE",
        "DOCKER_HOST",
        "STORE_MODEL_IN_DB",
        "PATH",
        "HOME",
        "LD_PRELOAD",
        "PYTHONPATH",
        "HTTPS_PROXY",
    ] {
        let yaml: &'static str = Box::leak(
            format!("dir: {{dir}}\nmodels:\n  - {{name: m, model: openai/m, api_key_env: {name}}}\n").into_boxed_str(),
        );
        cases.push(Bad {
            what: name,
            yaml,
            names: "models[0].api_key_env",
            hides: None,
        });
    }
    assert_refused(&cases);
}

#[test]
fn a_key_pasted_as_api_key_env_is_refused_without_being_echoed() {
    assert_refused(&[
        Bad {
            what: "an OpenAI key",
            yaml: "dir: {dir}\nmodels:\n  - {name: m, model: openai/m, api_key_env: sk-proj-Abc123SECRETsecret456}\n",
            names: "models[0].api_key_env",
            hides: Some("Abc123SECRETsecret456"),
        },
        Bad {
            what: "an upper-case key with a dash",
            yaml: "dir: {dir}\nmodels:\n  - {name: m, model: openai/m, api_key_env: AKIA-SECRETVALUE99}\n",
            names: "models[0].api_key_env",
            hides: Some("SECRETVALUE99"),
        },
    ]);
}

/// One source of truth: `.env` holds exactly the reserved stack keys (then the provider keys),
/// and every variable the stack sets in a container is reserved.
#[test]
fn the_reserved_list_is_what_the_stack_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    let env = env_of(&d);
    let mut ours: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "OPENAI_API_KEY")
        .collect();
    ours.sort_unstable();
    let mut want = STACK_ENV_KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(ours, want);
    let a = Answers::defaults_for(Os::Linux);
    for s in Stack::from_answers(&a, Os::Linux).services {
        for (name, value) in &s.environment {
            let provider = matches!(value, EnvValue::FromDotenv(_)) && a.provider_key_vars().contains(name);
            assert!(
                provider || reserved_env_var(name).is_some(),
                "{}: {name} is set by the stack but not reserved",
                s.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// B (11): DATABASE_URL

fn url_parts(url: &str) -> (String, String, String) {
    let u = url::Url::parse(url).expect("DATABASE_URL parses as a URL");
    let dec = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .expect("utf-8")
            .into_owned()
    };
    assert_eq!(u.host_str(), Some("postgres"), "{url}");
    assert_eq!(u.port(), Some(5432));
    (
        dec(u.username()),
        dec(u.password().unwrap_or_default()),
        dec(u.path().trim_start_matches('/')),
    )
}

#[test]
fn a_hand_set_postgres_password_with_url_characters_reaches_the_database_url_intact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    std::fs::create_dir_all(&d).expect("mkdir");
    let password = "p@ss:/#?w%rd $x 'q\" \\ é";
    std::fs::write(
        d.join(".env"),
        format!(
            "POSTGRES_USER=\"us@er:x\"\nPOSTGRES_PASSWORD=\"{}\"\nPOSTGRES_DB=\"my db\"\n",
            password.replace('\\', "\\\\").replace('"', "\\\"").replace('$', "\\$")
        ),
    )
    .expect("write .env");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    let env = env_of(&d);
    assert_eq!(env["POSTGRES_PASSWORD"], password, "the hand-set password is kept");
    assert_eq!(
        url_parts(&env["DATABASE_URL"]),
        ("us@er:x".into(), password.into(), "my db".into())
    );

    // Changed by hand later: the stack's URL follows; an old unencoded one is repaired.
    let text = std::fs::read_to_string(d.join(".env")).expect(".env");
    let text = text
        .lines()
        .map(|l| match l.split_once('=') {
            Some(("POSTGRES_PASSWORD", _)) => "POSTGRES_PASSWORD=\"new@pw#\"".to_string(),
            Some(("DATABASE_URL", _)) => "DATABASE_URL=\"postgresql://us@er:x:old@pw@postgres:5432/my db\"".to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(d.join(".env"), text).expect("write");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    assert_eq!(url_parts(&env_of(&d)["DATABASE_URL"]).1, "new@pw#");
}

#[test]
fn a_database_url_of_the_users_own_is_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    std::fs::create_dir_all(&d).expect("mkdir");
    let own = "postgresql://u:p@db.example.com:5432/litellm?sslmode=require";
    std::fs::write(d.join(".env"), format!("DATABASE_URL={own}\n")).expect("write");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    assert_eq!(env_of(&d)["DATABASE_URL"], own);
}

// ---------------------------------------------------------------------------------------------
// C (5): .env as Compose v2 and dotenvy read it

const TRICKY: &[&str] = &[
    "it's",
    r#"say "hi""#,
    "$HOME",
    "${HOME}",
    "$$",
    "cost: 5$",
    "a #not a comment",
    " leading and trailing ",
    r"back\slash",
    r"trailing\",
    r"\'",
    r#"\""#,
    r"\n is not a line break",
    "模型 é ü",
    "=starts with equals",
    "'single'",
    "\"double\"",
    "sk-plain_value.1",
    "",
];

/// The variables of `.env` as `docker compose config` reads them (through a compose file that
/// passes each to a service), with Compose's own `$$` escaping of its output undone.
fn compose_reads(env_file: &Path, keys: &[String]) -> BTreeMap<String, String> {
    let project = tempfile::tempdir().expect("tempdir");
    std::fs::copy(env_file, project.path().join(".env")).expect("copy .env");
    let mut yaml = String::from("services:\n  x:\n    image: busybox:1\n    environment:\n");
    for k in keys {
        yaml.push_str(&format!("      {k}: ${{{k}}}\n"));
    }
    std::fs::write(project.path().join("compose.yml"), yaml).expect("compose.yml");
    let mut cmd = Command::new("docker");
    cmd.args(["compose", "--project-directory"])
        .arg(project.path())
        .args(["-f"])
        .arg(project.path().join("compose.yml"))
        .args(["config", "--format", "json"]);
    for k in keys {
        cmd.env_remove(k);
    }
    let out = cmd
        .output()
        .expect("`docker compose` runs (Compose v2: ci/setup.sh installs it)");
    assert!(
        out.status.success(),
        "docker compose config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["services"]["x"]["environment"]
        .as_object()
        .expect("environment")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().replace("$$", "$")))
        .collect()
}

#[test]
fn every_value_reads_back_exactly_in_compose_v2_and_dotenvy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let mut yaml = String::from("dir: {dir}\nmodels:\n");
    let mut want = BTreeMap::new();
    for (i, v) in TRICKY.iter().enumerate() {
        yaml.push_str(&format!(
            "  - {{name: m{i}, model: openai/m{i}, api_key_env: TRICKY_{i}}}\n"
        ));
        want.insert(format!("TRICKY_{i}"), v.to_string());
    }
    // A value the user added by hand over several lines is kept, and reads back so.
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(d.join(".env"), "CERT=\"-----BEGIN-----\nline two $x\n-----END-----\"\n").expect("write");
    want.insert("CERT".into(), "-----BEGIN-----\nline two \n-----END-----".into());
    let f = answers_in(tmp.path(), &yaml, &d);
    let mut cmd = bin();
    cmd.args(["render", "--answers"]).arg(&f);
    for (k, v) in &want {
        cmd.env(k, v);
    }
    cmd.assert().success();
    let dotenvy = env_of(&d);
    let keys: Vec<String> = dotenvy.keys().cloned().collect();
    let compose = compose_reads(&d.join(".env"), &keys);
    for (k, v) in &want {
        assert_eq!(dotenvy.get(k), Some(v), "dotenvy reads {k} back");
        assert_eq!(compose.get(k), Some(v), "Compose v2 reads {k} back");
    }
    // And every other value of the file, the generated secrets included, reads the same in both.
    assert_eq!(compose, dotenvy);
    // A second run keeps every byte.
    let before = std::fs::read(d.join(".env")).expect(".env");
    bin().args(["render", "--answers"]).arg(&f).assert().success();
    assert_eq!(std::fs::read(d.join(".env")).expect(".env"), before);
}

#[test]
fn a_control_character_in_a_value_is_refused_naming_the_variable() {
    for (var, value, via_env_file) in [
        ("OPENAI_API_KEY", "sk-pasted-with-newline\n", false),
        ("OPENAI_API_KEY", "sk-with\rreturn", false),
        ("OPENAI_API_KEY", "sk-with\ttab", false),
        // A key not ours may hold anything Compose reads: its line is never rewritten
        // (lines_the_installer_does_not_own_stay_byte_for_byte).
        ("LITELLM_MASTER_KEY", "sk-two\nlines", true),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path().join("litellm");
        std::fs::create_dir_all(&d).expect("mkdir");
        let mut cmd = bin();
        if via_env_file {
            std::fs::write(d.join(".env"), format!("{var}=\"{}\"\n", value.replace('\n', "\\n"))).expect("write");
        } else {
            cmd.env(var, value);
        }
        let before = snapshot(&d);
        let out = cmd.args(["render", "--dir"]).arg(&d).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value:?}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
        assert!(!stderr.contains(value.trim()), "{var}: the value was shown: {stderr}");
        assert_eq!(snapshot(&d), before, "{var}: something was written");
    }
}

// ---------------------------------------------------------------------------------------------
// D (6): config.yaml as PyYAML reads it

/// The PyYAML the proxy itself reads config.yaml with: the LiteLLM venv's python.
fn pyyaml_load(path: &Path) -> serde_json::Value {
    let litellm = ci_env("LST_LITELLM_BIN");
    let python = Path::new(&litellm)
        .parent()
        .expect("LST_LITELLM_BIN has a folder")
        .join("python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), default=str))",
        ])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e} (ci/setup.sh builds the LiteLLM venv)", python.display()));
    assert!(
        out.status.success(),
        "PyYAML ({}) cannot read config.yaml (is PyYAML installed in the LiteLLM venv?): {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn every_string_of_config_yaml_reads_back_the_same_in_pyyaml() {
    let names = [
        "yes",
        "on",
        "No",
        "OFF",
        "y",
        "n",
        "true",
        "1_000",
        "12:30",
        "2024-10-21",
        "=",
        "<<",
        "~",
        "null",
        "NULL",
        "0x1F",
        "1e3",
        ".inf",
        ".nan",
        "-",
        "- dash",
        "a: b",
        "#hash",
        "x #y",
        "[list]",
        "{map}",
        "&anchor",
        "*alias",
        "!tag",
        "%dir",
        "@at",
        "`tick",
        "'single",
        "\"double",
        "back\\slash",
        "模型",
        "é",
        "a\u{85}b",
        "a\u{2028}b",
        "tab\tin",
    ];
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let mut yaml = String::from("dir: {dir}\nmodels:\n");
    let mut expected = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if n.contains(char::is_control) {
            continue; // refused by the validator (below)
        }
        let quoted = serde_json::to_string(n).expect("json");
        yaml.push_str(&format!(
            "  - {{name: {quoted}, model: azure/m{i}, api_key_env: AZURE_API_KEY, api_base: \"https://x.openai.azure.com\", api_version: \"2024-10-{:02}{}\"}}\n",
            i % 28 + 1,
            if i % 2 == 0 { "-preview" } else { "" }
        ));
        expected.push((
            n.to_string(),
            format!("2024-10-{:02}{}", i % 28 + 1, if i % 2 == 0 { "-preview" } else { "" }),
        ));
    }
    // Spaces around a name are not part of it.
    yaml.push_str("  - {name: \"  spaced  \", model: \" openai/spaced \", api_key_env: \" OPENAI_API_KEY \"}\n");
    let f = answers_in(tmp.path(), &yaml, &d);
    bin().args(["render", "--answers"]).arg(&f).assert().success();
    let cfg = pyyaml_load(&d.join("config.yaml"));
    let list = cfg["model_list"].as_array().expect("model_list");
    for (i, (name, version)) in expected.iter().enumerate() {
        assert_eq!(
            list[i]["model_name"].as_str(),
            Some(name.as_str()),
            "model_name {name:?}"
        );
        assert_eq!(
            list[i]["litellm_params"]["api_version"].as_str(),
            Some(version.as_str()),
            "{name}"
        );
    }
    let spaced = &list[expected.len()];
    assert_eq!(spaced["model_name"].as_str(), Some("spaced"));
    assert_eq!(spaced["litellm_params"]["model"].as_str(), Some("openai/spaced"));
    assert_eq!(
        spaced["litellm_params"]["api_key"].as_str(),
        Some("os.environ/OPENAI_API_KEY")
    );
    // Nothing was added: the settings are the stack's.
    assert_eq!(
        cfg["general_settings"]["master_key"].as_str(),
        Some("os.environ/LITELLM_MASTER_KEY")
    );
    assert_eq!(cfg.as_object().map(|o| o.len()), Some(3), "{cfg}");
}

#[test]
fn text_that_could_add_keys_to_config_yaml_is_refused() {
    assert_refused(&[
        Bad {
            what: "an api_version with a key after a line break",
            yaml: "dir: {dir}\nmodels:\n  - {name: m, model: azure/m, api_base: \"https://x.openai.azure.com\", api_version: \"2024-10-21\\nmaster_key: x\"}\n",
            names: "models[0].api_version",
            hides: None,
        },
        Bad {
            what: "an api_version that is no date",
            yaml: "dir: {dir}\nmodels:\n  - {name: m, model: azure/m, api_version: latest}\n",
            names: "models[0].api_version",
            hides: None,
        },
        Bad {
            what: "an api_version with month 13",
            yaml: "dir: {dir}\nmodels:\n  - {name: m, model: azure/m, api_version: 2024-13-01}\n",
            names: "models[0].api_version",
            hides: None,
        },
        Bad {
            what: "a model name over two lines",
            yaml: "dir: {dir}\nmodels:\n  - {name: \"a\\nmaster_key: x\", model: openai/m}\n",
            names: "models[0].name",
            hides: None,
        },
        Bad {
            what: "a provider model with a line break",
            yaml: "dir: {dir}\nmodels:\n  - {name: m, model: \"openai/m\\nx: y\"}\n",
            names: "models[0].model",
            hides: None,
        },
    ]);
}

// ---------------------------------------------------------------------------------------------
// E (12): validation gaps

#[test]
fn image_references_must_be_pinned_and_plain() {
    assert_refused(&[
        Bad {
            what: "interpolation",
            yaml: "dir: {dir}\nimages:\n  redis: \"redis:${TAG}\"\n",
            names: "images.redis",
            hides: None,
        },
        Bad {
            what: "a trailing space",
            yaml: "dir: {dir}\nimages:\n  redis: \"redis:7 \"\n",
            names: "images.redis",
            hides: None,
        },
        Bad {
            what: "a line break",
            yaml: "dir: {dir}\nimages:\n  nginx: \"nginx:1\\n\"\n",
            names: "images.nginx",
            hides: None,
        },
        Bad {
            what: "a short digest",
            yaml: "dir: {dir}\nimages:\n  postgres: \"postgres@sha256:abc123\"\n",
            names: "images.postgres",
            hides: None,
        },
        Bad {
            what: "another digest algorithm",
            yaml: "dir: {dir}\nimages:\n  postgres: \"postgres@md5:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\n",
            names: "images.postgres",
            hides: None,
        },
        Bad {
            what: "no tag and no digest",
            yaml: "dir: {dir}\nimages:\n  prometheus: prom/prometheus\n",
            names: "images.prometheus",
            hides: None,
        },
        Bad {
            what: "a mirror with a space",
            yaml: "dir: {dir}\nimages:\n  mirror: \"my mirror\"\n",
            names: "images.mirror",
            hides: None,
        },
        Bad {
            what: "a mirror with interpolation",
            yaml: "dir: {dir}\nimages:\n  mirror: \"${REGISTRY}/hub\"\n",
            names: "images.mirror",
            hides: None,
        },
    ]);
}

#[test]
fn a_pinned_digest_is_accepted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let f = answers_in(
        tmp.path(),
        "dir: {dir}\nimages:\n  redis: \"redis:7@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\n  postgres: \"postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\n",
        &d,
    );
    bin().args(["plan", "--answers"]).arg(&f).assert().success();
}

#[test]
fn system_folders_and_the_home_folder_are_refused() {
    for dir in [
        "/",
        "/etc",
        "/etc/",
        "/usr",
        "/usr/local/litellm",
        "/proc/self",
        "/var",
        "/tmp",
        "/home/../etc",
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let f = tmp.path().join("a.yaml");
        std::fs::write(&f, format!("dir: {dir}\n")).expect("write");
        let out = bin().args(["render", "--answers"]).arg(&f).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{dir}: {stderr}");
        assert!(stderr.contains("dir"), "{dir}: {stderr}");
        assert!(
            !Path::new(dir).join(".litellm-stack.lock").exists(),
            "{dir}: a lock file was made"
        );
    }
    // The home folder itself, however it is written; a folder in it is fine.
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    for dir in [
        "~",
        "~/",
        &home.display().to_string(),
        &format!("{}/x/..", home.display()),
    ] {
        let f = tmp.path().join("a.yaml");
        std::fs::write(&f, format!("dir: \"{dir}\"\n")).expect("write");
        let out = bin()
            .env("HOME", &home)
            .args(["render", "--answers"])
            .arg(&f)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_dir(&home).expect("home").count(),
            0,
            "{dir}: written into home"
        );
    }
    let f = tmp.path().join("a.yaml");
    std::fs::write(&f, "dir: ~/litellm\n").expect("write");
    bin()
        .env("HOME", &home)
        .args(["plan", "--answers"])
        .arg(&f)
        .assert()
        .success();
}

#[test]
fn an_api_base_needs_a_host() {
    let mut cases = Vec::new();
    for base in [
        "http://",
        "https://",
        "http:///v1",
        "ftp://example.com",
        "http://exa mple.com",
        "example.com",
    ] {
        let yaml: &'static str = Box::leak(
            format!("dir: {{dir}}\nmodels:\n  - {{name: m, model: openai/m, api_base: \"{base}\"}}\n").into_boxed_str(),
        );
        cases.push(Bad {
            what: base,
            yaml,
            names: "models[0].api_base",
            hides: None,
        });
    }
    cases.push(Bad {
        what: "a line break",
        yaml: "dir: {dir}\nmodels:\n  - {name: m, model: openai/m, api_base: \"http://exa\\nmple.com\"}\n",
        names: "models[0].api_base",
        hides: None,
    });
    assert_refused(&cases);
}

#[test]
fn one_port_on_two_addresses_is_fine_on_one_address_or_a_wildcard_it_is_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let f = answers_in(
        tmp.path(),
        "dir: {dir}\nports: {nginx: 8080, prometheus: 8080}\nbind: {nginx: 127.0.0.1, prometheus: 127.0.0.2}\n",
        &d,
    );
    bin().args(["plan", "--answers"]).arg(&f).assert().success();
    assert_refused(&[
        Bad {
            what: "the IPv4 wildcard",
            yaml: "dir: {dir}\nports: {nginx: 8080, prometheus: 8080}\nbind: {nginx: 0.0.0.0, prometheus: 127.0.0.2}\n",
            names: "ports.prometheus",
            hides: None,
        },
        Bad {
            what: "the IPv6 wildcard, which takes IPv4 too",
            yaml: "dir: {dir}\nports: {nginx: 8080, litellm: 8080}\nbind: {nginx: \"::\", litellm: 127.0.0.1}\n",
            names: "ports.litellm",
            hides: None,
        },
        Bad {
            what: "the same address",
            yaml: "dir: {dir}\nports: {litellm: 9090}\n",
            names: "ports.prometheus",
            hides: None,
        },
    ]);
}

#[test]
fn validation_is_linear_in_the_number_of_models() {
    let mut a = Answers::defaults_for(Os::Linux);
    a.dir = PathBuf::from("/srv/litellm");
    a.models = (0..40_000)
        .map(|i| litellm_stack::answers::Model {
            name: Some(format!("model-{i}")),
            model: Some(format!("openai/model-{i}")),
            api_key_env: Some(format!("KEY_{}", i % 1000)),
            api_base: None,
            api_version: None,
        })
        .collect();
    let start = std::time::Instant::now();
    a.validate(Os::Linux).expect("valid");
    let _ = a.provider_key_vars();
    let took = start.elapsed();
    // Quadratic checks took tens of seconds here; a debug build of the linear ones, well under one.
    assert!(took.as_secs_f64() < 2.0, "40k models validated in {took:?}");
    let mut dup = a.clone();
    dup.models[39_999].name = Some("model-0".into());
    let e = dup.validate(Os::Linux).expect_err("duplicate");
    assert!(e.render(litellm_stack::i18n::Lang::En).contains("models[39999].name"));
}

// ---------------------------------------------------------------------------------------------
// F (8, 9, 10): backups, temp files, the lock, all-or-nothing writes

fn one_file(contents: &str) -> Vec<RenderedFile> {
    vec![RenderedFile {
        path: "config.yaml".into(),
        contents: contents.into(),
        raw: None,
        private: false,
    }]
}

fn write_all(dir: &Path, files: &[RenderedFile], stamp: &str) -> litellm_stack::render::write::Applied {
    let changes = write::plan(dir, files, &[]).expect("plan");
    write::apply(dir, files, &changes, stamp).expect("apply")
}

#[test]
fn backups_made_in_one_instant_never_overwrite_each_other() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    write_all(d, &one_file("v1\n"), "S");
    let a = write_all(d, &one_file("v2\n"), "S");
    let b = write_all(d, &one_file("v3\n"), "S");
    assert_eq!(a.backups, ["backups/files/config.yaml.S"]);
    assert_eq!(b.backups, ["backups/files/config.yaml.S-1"]);
    let read = |rel: &str| std::fs::read_to_string(d.join(rel)).expect("backup");
    assert_eq!(read("backups/files/config.yaml.S"), "v1\n");
    assert_eq!(read("backups/files/config.yaml.S-1"), "v2\n");
    assert_eq!(read("config.yaml"), "v3\n");
    // The real stamps are distinct to the microsecond and sort by time.
    let (x, y) = (stamp_now(), stamp_now());
    assert!(x <= y && x.len() == "20261127T103000.123456Z".len(), "{x} {y}");
}

#[cfg(unix)]
#[test]
fn a_backup_keeps_the_mode_of_its_file_or_a_tighter_one() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    std::fs::set_permissions(d.join("config.yaml"), std::fs::Permissions::from_mode(0o640)).expect("chmod");
    std::fs::set_permissions(d.join(".env"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(d.join("config.yaml"), "changed by hand\n").expect("write");
    let text = std::fs::read_to_string(d.join(".env")).expect(".env");
    std::fs::write(d.join(".env"), format!("{text}HAND_ADDED=1\n# a note\n")).expect("write");
    // The empty provider key is filled from the environment: .env changes, so it is backed up.
    bin()
        .args(["render", "--dir"])
        .arg(&d)
        .env("OPENAI_API_KEY", "sk-now-set")
        .assert()
        .success();
    let backups: Vec<PathBuf> = std::fs::read_dir(d.join("backups/files"))
        .expect("backups")
        .flatten()
        .map(|e| e.path())
        .collect();
    let find = |prefix: &str| {
        backups
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
            .unwrap_or_else(|| panic!("no backup of {prefix} in {backups:?}"))
    };
    assert_eq!(
        mode(find("config.yaml.")),
        0o640,
        "the backup of config.yaml keeps its mode"
    );
    assert_eq!(
        mode(find(".env.")),
        0o600,
        "the backup of .env is private, however loose .env was"
    );
    assert_eq!(mode(&d.join(".env")), 0o600);
}

#[test]
fn temp_files_of_a_killed_run_are_removed_by_the_next_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    let stale = [
        ".env.litellm-stack-tmp-Ab12Cd",
        "config.yaml.litellm-stack-tmp-x1",
        "nginx/nginx.conf.litellm-stack-tmp-y2",
        "backups/files/.env.S.litellm-stack-tmp-z3",
        ".litellm-stack-Q1w2E3",
    ];
    for s in stale {
        std::fs::create_dir_all(d.join(s).parent().expect("parent")).expect("mkdir");
        std::fs::write(d.join(s), "LITELLM_MASTER_KEY=sk-half-written").expect("write");
    }
    std::fs::write(d.join("notes.litellm-stack.txt"), "mine").expect("write");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    for s in stale {
        assert!(!d.join(s).exists(), "{s} is still there");
    }
    assert!(
        d.join("notes.litellm-stack.txt").exists(),
        "a file of the user's was removed"
    );
    // What a run leaves: no temp file, in any folder.
    let left: Vec<_> = snapshot(&d)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains("litellm-stack-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_run_waits_for_the_lock_then_names_who_holds_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    let before = snapshot(&d);
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(d.join(LOCK_FILE))
        .expect("lock file");
    fs4::FileExt::try_lock(&lock).expect("the test takes the lock");
    std::fs::write(d.join(LOCK_FILE), "4242\n").expect("write pid");
    let start = std::time::Instant::now();
    std::fs::write(d.join("config.yaml"), "changed\n").expect("write");
    let out = bin().args(["render", "--dir"]).arg(&d).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("4242") && stderr.contains(&d.display().to_string()),
        "{stderr}"
    );
    assert!(start.elapsed() >= std::time::Duration::from_secs(5), "it did not wait");
    assert_eq!(
        std::fs::read_to_string(d.join("config.yaml")).expect("config"),
        "changed\n",
        "written without the lock"
    );
    drop(lock);
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    assert_ne!(snapshot(&d), before);
}

#[test]
fn a_failure_before_the_renames_changes_no_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    // The next run changes config.yaml and answers.yaml, which need backups; the backup
    // folder cannot be made (a file is in its place).
    std::fs::create_dir_all(d.join("backups")).expect("mkdir");
    let _ = std::fs::remove_dir_all(d.join("backups/files"));
    std::fs::write(d.join("backups/files"), "in the way").expect("write");
    let f = answers_in(
        tmp.path(),
        "dir: {dir}\nmodels:\n  - {name: other, model: openai/other, api_key_env: OPENAI_API_KEY}\n",
        &d,
    );
    let before = snapshot(&d);
    let out = bin().args(["render", "--answers"]).arg(&f).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("backups"), "{stderr}");
    assert!(
        !stderr.contains("disk is not full"),
        "the hint fits the error: {stderr}"
    );
    assert_eq!(snapshot(&d), before, "a file changed although the run failed");
}

/// 20 pairs of `render` at once on one new dir: the lock makes them one after the other, so
/// the first one's secrets are the ones every later run keeps.
#[test]
fn parallel_runs_on_one_dir_keep_one_set_of_secrets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let exe = assert_cmd::cargo::cargo_bin("litellm-stack");
    let children: Vec<_> = (0..40)
        .map(|_| {
            Command::new(&exe)
                .args(["render", "--dir"])
                .arg(&d)
                .env("LANG", "en_US.UTF-8")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let env = env_of(&d);
    // No run wrote a copy of the master key for Prometheus: its key is a metrics-only virtual
    // key, made by the install once the proxy runs.
    assert!(!d.join("prometheus/litellm_metrics_key").exists());
    assert!(!d.join("prometheus/secrets/litellm_metrics_key").exists());
    assert!(env["LITELLM_MASTER_KEY"].starts_with("sk-"));
    // Only the first run made .env; no later one replaced it (no backup of .env exists).
    let env_backups = std::fs::read_dir(d.join("backups/files"))
        .map(|r| {
            r.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".env"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(env_backups, 0, "later runs replaced .env");
    let fingerprint = std::fs::read_to_string(d.join("salt-key.fingerprint")).expect("fingerprint");
    assert!(
        fingerprint.contains(&litellm_stack::steps::guards::fingerprint(
            &litellm_stack::secrets::Secret::new(env["LITELLM_SALT_KEY"].clone())
        )),
        "the recorded salt key is the one in .env"
    );
}

#[cfg(unix)]
/// The files a `render` writes, relative to the install dir.
const RENDERED: &[&str] = &[
    ".env",
    "config.yaml",
    "docker-compose.yml",
    "nginx/nginx.conf",
    "prometheus/prometheus.yml",
    "answers.yaml",
    "salt-key.fingerprint",
];

#[cfg(unix)]
fn rendered(dir: &Path) -> BTreeMap<&'static str, Option<Vec<u8>>> {
    RENDERED.iter().map(|r| (*r, std::fs::read(dir.join(r)).ok())).collect()
}

#[cfg(unix)]
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().expect("type").is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

#[cfg(unix)]
/// Temp files of this program under `dir` (the lock file is not one).
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_keys()
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.contains(".litellm-stack-") || name.contains("litellm-stack-tmp")
        })
        .collect()
}

/// SIGKILL at random points, 100 runs of the real binary on one install dir, two epochs that
/// each start with first renders, then re-renders switching between two sets of answers
/// (another model and its key, another port). After each kill every generated file is the
/// old version or the new one as a whole (the new one as the same run, not killed, makes it
/// from the same state in a copy of the dir, its secrets being the ones on disk); the salt
/// key is the first one ever written; no run leaves a copy of the master key for Prometheus
/// (its key is a virtual key made through the API, never by render); after a run that
/// finished, no temp file is left. `LST_KILL_SEED=<n>` replays a run (the seed is printed).
#[cfg(unix)]
#[test]
fn a_render_killed_at_any_point_leaves_whole_files_and_the_first_salt_key() {
    use rand::{Rng, SeedableRng};
    let seed: u64 = std::env::var("LST_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("kill test seed: {seed} (replay with LST_KILL_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let exe = env!("CARGO_BIN_EXE_litellm-stack");
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let variants = [
        "dir: {dir}\nmodels:\n  - {name: m, model: openai/m, api_key_env: OPENAI_API_KEY}\n",
        "dir: {dir}\nports:\n  litellm: 4001\nmodels:\n  - {name: m, model: openai/m, api_key_env: OPENAI_API_KEY}\n  - {name: c, model: anthropic/c, api_key_env: ANTHROPIC_API_KEY}\n",
    ];
    let answers_for = |variant: usize, dir: &Path, name: &str| {
        let f = tmp.path().join(format!("{name}-{variant}.yaml"));
        std::fs::write(&f, variants[variant].replace("{dir}", &dir.display().to_string())).expect("answers");
        f
    };
    let render = |answers: &Path| {
        Command::new(exe)
            .args(["render", "--answers"])
            .arg(answers)
            .env("LANG", "en_US.UTF-8")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    // How long a whole run takes here (the median of five): kills fall anywhere in it.
    let probe = tmp.path().join("probe");
    let mut times: Vec<u128> = (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            assert!(render(&answers_for(0, &probe, "probe")).wait().expect("wait").success());
            start.elapsed().as_micros()
        })
        .collect();
    times.sort_unstable();
    let span_us = (times[2] * 12 / 10).max(1000) as u64;
    let (mut killed, mut finished, mut first_renders, mut halfway) = (0, 0, 0, 0);
    let mut first_salt: Option<String> = None;
    let mut variant = 0;
    for run in 0..100 {
        if run == 50 {
            // A second epoch: a new install in the same place, starting with first renders.
            std::fs::remove_dir_all(&d).expect("rm");
            first_salt = None;
        }
        if rng.random_bool(0.3) {
            variant = 1 - variant;
        }
        let old = rendered(&d);
        if old[".env"].is_none() {
            first_renders += 1;
        }
        // The new version: the same run from the same state, in a copy, to the end.
        // Same name (the project is named after the dir), another parent.
        let r = tmp.path().join("reference").join("litellm");
        let _ = std::fs::remove_dir_all(&r);
        if d.exists() {
            copy_tree(&d, &r);
        }
        let out = render(&answers_for(variant, &r, "reference"))
            .wait_with_output()
            .expect("wait");
        assert!(
            out.status.success(),
            "seed {seed}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reference = rendered(&r);
        let mut child = render(&answers_for(variant, &d, "kill"));
        std::thread::sleep(std::time::Duration::from_micros(rng.random_range(0..span_us)));
        let _ = child.kill();
        let out = child.wait_with_output().expect("wait");
        let ok = out.status.success();
        if ok {
            finished += 1
        } else {
            killed += 1
        }
        assert!(
            ok || out.status.code().is_none(),
            "seed {seed}, run {run}: failed by itself: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let now = rendered(&d);
        // Killed between two renames: some files new, others still old.
        let changing: Vec<&&str> = RENDERED.iter().filter(|p| old[**p] != reference[**p]).collect();
        if changing.iter().any(|p| now[**p] == old[**p]) && changing.iter().any(|p| now[**p] != old[**p]) {
            halfway += 1;
        }
        let env = now[".env"].as_ref().map(|_| env_of(&d));
        let ref_env = env_of(&r);
        for path in RENDERED {
            let Some(bytes) = &now[path] else {
                assert!(old[path].is_none(), "seed {seed}, run {run}: {path} disappeared");
                continue;
            };
            if old[path].as_ref() == Some(bytes) {
                continue;
            }
            // The reference made its own secrets where this dir had none yet: compare with
            // this dir's (on disk by then, or the file would not be new).
            let mut want = String::from_utf8(reference[path].clone().expect("the reference wrote it")).expect("utf-8");
            want = want.replace(&r.display().to_string(), &d.display().to_string());
            if let Some(env) = &env {
                for (k, v) in &ref_env {
                    if v.len() >= 16 {
                        if let Some(ours) = env.get(k) {
                            want = want.replace(v.as_str(), ours);
                        }
                    }
                }
            }
            let got = String::from_utf8_lossy(bytes);
            if *path == "salt-key.fingerprint" {
                let salt = &env.as_ref().expect(".env is written before the fingerprint")["LITELLM_SALT_KEY"];
                assert!(
                    got.contains(&litellm_stack::steps::guards::fingerprint(
                        &litellm_stack::secrets::Secret::new(salt.clone())
                    )),
                    "seed {seed}, run {run}: the fingerprint is not of the salt key in .env"
                );
                continue;
            }
            assert_eq!(
                got, want,
                "seed {seed}, run {run}: {path} is neither the old nor the new version"
            );
        }
        if let Some(env) = &env {
            let salt = env["LITELLM_SALT_KEY"].clone();
            assert_eq!(
                first_salt.get_or_insert(salt.clone()),
                &salt,
                "seed {seed}, run {run}: the salt key changed"
            );
            for old_or_new in [
                "prometheus/litellm_metrics_key",
                "prometheus/secrets/litellm_metrics_key",
            ] {
                assert!(
                    !d.join(old_or_new).exists(),
                    "seed {seed}, run {run}: render wrote {old_or_new}"
                );
            }
        }
        if ok {
            let left = temp_files(&d);
            assert!(left.is_empty(), "seed {seed}, run {run}: a finished run left {left:?}");
        }
    }
    // The next run after the last kill cleans up what the kills left.
    assert!(
        render(&answers_for(variant, &d, "kill"))
            .wait()
            .expect("wait")
            .success()
    );
    let left = temp_files(&d);
    assert!(left.is_empty(), "seed {seed}: after a finished run: {left:?}");
    eprintln!(
        "kill test: {killed} killed ({halfway} with some files renamed and others not), {finished} finished, \
         {first_renders} first renders"
    );
    assert!(
        killed >= 20 && first_renders >= 2,
        "seed {seed}: the kills did not spread ({killed} killed, {first_renders} first renders)"
    );
}

/// The wizard's "save answers" writes where the user stands; when that is the install dir,
/// it waits for a run that holds the dir's lock, as the commands do. Elsewhere it does not.
#[test]
fn the_wizard_saves_answers_in_the_install_dir_under_its_lock() {
    use litellm_stack::tui::{Cmd, Effects, Msg, SystemEffects};
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    bin().args(["render", "--dir"]).arg(&d).assert().success();
    let mut a = Answers::defaults_for(Os::Linux);
    a.dir = d.clone();
    let save = |save_dir: &Path| {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (feed, _feed_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut fx =
            SystemEffects::new(tx, feed, Os::Linux).with_env(std::sync::Arc::new(|_| None), save_dir.to_path_buf());
        let start = std::time::Instant::now();
        fx.run(Cmd::SaveAnswers(a.clone()));
        let waited = start.elapsed();
        match rx.try_recv() {
            Ok(Msg::AnswersSaved(Ok(path))) => (path, waited),
            Ok(Msg::AnswersSaved(Err(e))) => panic!("not saved: {}", e.render(litellm_stack::i18n::Lang::En)),
            _ => panic!("no AnswersSaved"),
        }
    };
    let hold = |secs: u64| {
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(d.join(LOCK_FILE))
            .expect("lock file");
        fs4::FileExt::try_lock(&lock).expect("the test takes the lock");
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(secs));
            drop(lock);
        })
    };
    let release = hold(1);
    let (path, waited) = save(&d);
    release.join().expect("join");
    assert!(path.starts_with(&d) && path.is_file(), "{}", path.display());
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "saved in {waited:?} while another run held the install dir"
    );
    // Saved elsewhere: the install dir's lock is not needed, nor waited for.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let release = hold(2);
    let (path, waited) = save(elsewhere.path());
    assert!(path.starts_with(elsewhere.path()) && path.is_file());
    assert!(waited < std::time::Duration::from_millis(1500), "{waited:?}");
    release.join().expect("join");
}

// ---------------------------------------------------------------------------------------------
// G (13): messages

#[test]
fn a_broken_env_is_reported_by_its_line_number_without_its_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(
        d.join(".env"),
        "A=1\n# a comment\nB=\"two\nlines\"\nC=\"sk-secret value-with-space\nD=2\n",
    )
    .expect("write");
    let before = snapshot(&d);
    for command in ["render", "plan"] {
        let out = bin().args([command, "--dir"]).arg(&d).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("line 5"), "{command}: {stderr}");
        assert!(
            !stderr.contains("sk-secret") && !stderr.contains("value-with-space"),
            "{stderr}"
        );
    }
    assert_eq!(snapshot(&d), before);
}

#[test]
fn a_folder_where_a_file_belongs_gets_a_hint_that_fits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    std::fs::create_dir_all(d.join("config.yaml")).expect("mkdir");
    let out = bin().args(["render", "--dir"]).arg(&d).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("config.yaml") && stderr.contains("is a folder where a file belongs"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// H (2): links in the install dir, as root

#[cfg(unix)]
#[test]
fn as_root_a_link_in_the_install_dir_is_refused_by_name() {
    assert!(
        litellm_stack::platform::is_root(),
        "this test checks what root does: run the suite as root (ci/test-all.sh does)"
    );
    let victim = tempfile::tempdir().expect("tempdir");
    std::fs::write(victim.path().join("shadow"), "root:SECRET-HASH:19000::::::\n").expect("write");
    let before = snapshot(victim.path());
    for (link, to) in [
        ("nginx", victim.path().to_path_buf()),
        ("prometheus_data", victim.path().to_path_buf()),
        ("config.yaml", victim.path().join("shadow")),
        ("prometheus/secrets", victim.path().to_path_buf()),
        (LOCK_FILE, victim.path().join("shadow")),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path().join("litellm");
        bin().args(["render", "--dir"]).arg(&d).assert().success();
        let at = d.join(link);
        if at.is_dir() {
            std::fs::remove_dir_all(&at).expect("rm");
        } else {
            std::fs::remove_file(&at).expect("rm");
        }
        std::os::unix::fs::symlink(&to, &at).expect("symlink");
        for command in ["plan", "render"] {
            let out = bin().args([command, "--dir"]).arg(&d).output().expect("runs");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(2), "{link}: {command}: {all}");
            assert!(
                all.contains(&at.display().to_string()),
                "{link}: {command} must name the link: {all}"
            );
            assert!(
                !all.contains("SECRET-HASH"),
                "{link}: {command} showed the target: {all}"
            );
        }
        assert_eq!(snapshot(victim.path()), before, "{link}: the link's target was changed");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            std::fs::metadata(victim.path()).expect("meta").uid(),
            0,
            "{link}: chowned"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// I (4): .env read as Compose reads it, and kept byte for byte

/// Values as written in `.env` (hand edits, other tools' output), each read by the installer
/// as `docker compose config` reads it. Only unset variables are referred to, so the two runs'
/// environments cannot differ.
const AS_WRITTEN: &[&str] = &[
    r"a\nb",
    r"a\\b",
    r"a\ b",
    r"trailing\",
    r#"a"b"#,
    "a'b",
    "$$x",
    "a#b",
    "a #b",
    "a\t#b",
    "a   ",
    "${LST_TEST_UNSET_1:-dflt}",
    "${LST_TEST_UNSET_1-dflt}",
    "${LST_TEST_UNSET_1:+alt}",
    "x${LST_TEST_UNSET_1}y",
    "$LST_TEST_UNSET_1/z",
    "${K0}+${K1}",
    "cost 5$",
    "$ alone",
    r#""a\nb""#,
    r#""a\\b""#,
    r#""a\$b""#,
    r#""a\"b""#,
    r#""a\'b""#,
    r#""a$$b""#,
    r#""a\tb\rc""#,
    r#""a\qb""#,
    r#""\0101\0""#,
    r#""x" # note"#,
    r#""two
lines""#,
    r"'a\nb'",
    r"'a$K0 b'",
    r"'a\'b'",
    r"'a\\b'",
    "'two\nlines # not a comment'",
    "\"\"",
    "''",
    "",
    " # only a comment",
    "模型 é ü",
    "=starts with equals",
];

#[test]
fn env_values_read_as_compose_reads_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let env = tmp.path().join("written.env");
    let mut text = String::from("# a comment\n\n");
    let keys: Vec<String> = (0..AS_WRITTEN.len()).map(|i| format!("K{i}")).collect();
    for (k, v) in keys.iter().zip(AS_WRITTEN) {
        text.push_str(&format!("{k}={v}\n"));
    }
    text.push_str("export EXPORTED=yes\nYAML_STYLE: also\n");
    std::fs::write(&env, &text).expect("write");
    let mut keys = keys;
    keys.extend(["EXPORTED".to_string(), "YAML_STYLE".to_string()]);
    let compose = compose_reads(&env, &keys);
    let ours: BTreeMap<String, String> = ExistingEnv::parse_with(&env, text.as_bytes(), &|_| None)
        .expect("Compose reads it, so must we")
        .entries
        .into_iter()
        .map(|(k, v)| (k, v.expose().to_string()))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        let written = AS_WRITTEN.get(i).copied().unwrap_or("");
        assert_eq!(ours.get(k), compose.get(k), "{k}={written}: ours, then Compose's");
    }
}

/// Unowned lines (any bytes Compose accepts: comments, quotes, backslashes, `${…}`, bytes that
/// are not UTF-8) and a provider key written as a reference stay exactly as they were through
/// renders that change the answers; only the stack's own lines may be rewritten.
#[test]
fn lines_the_installer_does_not_own_stay_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    let f1 = answers_in(
        tmp.path(),
        "dir: {dir}\nmodels:\n  - {name: m, model: openai/m, api_key_env: OPENAI_API_KEY}\n",
        &d,
    );
    bin().args(["render", "--answers"]).arg(&f1).assert().success();
    let first = std::fs::read(d.join(".env")).expect(".env");
    let text = String::from_utf8(first.clone()).expect("utf-8");
    // The provider key the first run left empty becomes a reference to a vault variable.
    assert!(text.contains("\nOPENAI_API_KEY=\n"), "{text}");
    let mut edited = text
        .replace("\nOPENAI_API_KEY=\n", "\nOPENAI_API_KEY=${MY_VAULT_KEY}\n")
        .into_bytes();
    let hand: Vec<&[u8]> = vec![
        b"# my notes: keep ${THIS} \\n as it is\n",
        b"   # indented comment\n",
        b"PLAIN=a\\nb\\\\c\\$d\\ e\n",
        b"QUOTES=\"it's \\\"quoted\\\" $HOME\"\n",
        b"SINGLE='x\\'y $z'\n",
        b"INNER=say \"hi\" 'there'\n",
        b"REF=${HOME}/x\n",
        b"BYTES=caf\xe9 \xff\xfe\n",
        b"MULTI=\"one\ntwo\n# three\"\n",
        b"export EXPORTED=1 # trailing comment\n",
        b"\n",
        b"LAST=no final newline",
    ];
    for h in &hand {
        edited.extend_from_slice(h);
    }
    std::fs::write(d.join(".env"), &edited).expect("write");
    // A second run with another model (a new provider key) and the vault variable set.
    let f2 = answers_in(
        tmp.path(),
        "dir: {dir}\nmodels:\n  - {name: m, model: openai/m, api_key_env: OPENAI_API_KEY}\n  - {name: c, model: anthropic/c, api_key_env: ANTHROPIC_API_KEY}\n",
        &d,
    );
    bin()
        .args(["render", "--answers"])
        .arg(&f2)
        .env("MY_VAULT_KEY", "sk-from-the-vault")
        .env("OPENAI_API_KEY", "sk-from-the-shell")
        .env("ANTHROPIC_API_KEY", "sk-ant-new")
        .assert()
        .success();
    let after = std::fs::read(d.join(".env")).expect(".env");
    assert!(
        after.starts_with(&edited),
        "every byte of the old .env is kept, in place:\n{}",
        String::from_utf8_lossy(&after)
    );
    let added = String::from_utf8_lossy(&after[edited.len()..]).into_owned();
    assert!(
        added.starts_with('\n') && added.contains("ANTHROPIC_API_KEY=sk-ant-new\n"),
        "{added:?}"
    );
    assert!(
        !added.contains("OPENAI_API_KEY") && !added.contains("vault"),
        "{added:?}"
    );
    // And a run that changes nothing leaves every byte.
    bin()
        .args(["render", "--answers"])
        .arg(&f2)
        .env("MY_VAULT_KEY", "sk-other")
        .assert()
        .success();
    assert_eq!(std::fs::read(d.join(".env")).expect(".env"), after);
}

/// What the installer cannot know or write back is exit 2 naming the file and line, with
/// nothing changed: the stack's own keys written as references (the installer must know
/// them), a `${…}` form it does not follow, a value of ours that is not UTF-8, and what
/// Compose itself refuses.
#[test]
fn a_value_the_installer_cannot_represent_is_refused_by_line() {
    for (what, line, says) in [
        ("LITELLM_SALT_KEY=${MY_SALT}", 5, "LITELLM_SALT_KEY"),
        ("POSTGRES_PASSWORD=$PGPASS", 5, "POSTGRES_PASSWORD"),
        ("DATABASE_URL=\"postgresql://u:${PW}@db/x\"", 5, "DATABASE_URL"),
        ("LITELLM_MASTER_KEY", 5, "LITELLM_MASTER_KEY"),
        ("OPENAI_API_KEY=${A:-${B}}", 5, "OPENAI_API_KEY"),
        ("OPENAI_API_KEY=sk-\u{fffd}", 5, "UTF-8"),
        ("BAD KEY=1", 5, "line 5"),
        ("QUOTE=\"never closed\nX=1", 5, "line 5"),
        ("WEIRD$=1", 5, "line 5"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path().join("litellm");
        std::fs::create_dir_all(&d).expect("mkdir");
        let mut text = b"# kept\nA=1\n\nB='2'\n".to_vec();
        // U+FFFD stands for a byte that is not UTF-8.
        text.extend(
            what.replace('\u{fffd}', "\u{1}")
                .bytes()
                .map(|b| if b == 1 { 0xff } else { b }),
        );
        text.extend_from_slice(b"\nC=3\n");
        std::fs::write(d.join(".env"), &text).expect("write");
        let before = snapshot(&d);
        for command in ["render", "plan"] {
            let out = bin()
                .args([command, "--dir"])
                .arg(&d)
                .env("MY_SALT", "sk-salt-from-env")
                .env("OPENAI_API_KEY", "sk-from-env")
                .output()
                .expect("runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what}: {command}: {stderr}");
            assert!(
                stderr.contains(&format!("line {line}")) && stderr.contains(says),
                "{what}: {command} names line {line} and {says}: {stderr}"
            );
            assert!(
                stderr.contains(&d.join(".env").display().to_string()),
                "{what}: names the file: {stderr}"
            );
            assert!(
                !stderr.contains("sk-salt-from-env") && !stderr.contains("never closed"),
                "{stderr}"
            );
        }
        assert_eq!(snapshot(&d), before, "{what}: something was written");
    }
}

// ---------------------------------------------------------------------------------------------
// C (5), as properties: any value without control characters reads back exactly

mod round_trip {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    use litellm_stack::render::env::quote;

    /// Text heavy in what `.env` parsers treat specially, and any other non-control text.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z'\"$#{}=\\\\ `!*@%:;,.|<>?~\\[\\]()/-]{0,24}",
            "[^\\x00-\\x1f\\x7f-\\x9f]{0,24}",
        ]
    }

    fn dotenvy_reads(text: &str) -> Vec<(String, String)> {
        dotenvy::from_read_iter(text.as_bytes())
            .map(|r| r.expect("dotenvy parses what was written"))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn dotenvy_reads_back_every_value(v in value(), multi in "[a-z $\"\\\\]{0,8}") {
            // An entry the user added over several lines is written with `\n`.
            let lines = format!("{v}\n{multi}");
            let text = format!("A={}\nB={}\nC=after\n", quote(&v), quote(&lines));
            let read = dotenvy_reads(&text);
            prop_assert_eq!(read, vec![("A".into(), v.clone()), ("B".into(), lines), ("C".into(), "after".into())]);
        }
    }

    /// A byte of a value as people and tools write them: what `.env` readers treat specially,
    /// lower-case text, and bytes that are not UTF-8 (no upper case: no line of a generated
    /// value can pass for a key of ours).
    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            proptest::sample::select(b"\\$${}\"'#= :a-z0.\t".to_vec()),
            0x80u8..=0xff,
            b'a'..=b'z',
        ]
    }

    fn bytes(n: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(byte(), 0..n)
    }

    /// Inside quotes `q`: no bare `q` nor a lone `\` (an escape pair is fine), line breaks too.
    fn quoted(q: u8) -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            byte()
                .prop_filter("not the quote nor a backslash", move |b| *b != q && *b != b'\\')
                .prop_map(|b| vec![b]),
            byte()
                .prop_filter("escapes no line break", |b| *b != b'\n')
                .prop_map(|b| vec![b'\\', b]),
            Just(vec![b'\n']),
        ];
        proptest::collection::vec(token, 0..12).prop_map(move |parts| {
            let mut v = vec![q];
            v.extend(parts.into_iter().flatten());
            v.push(q);
            v
        })
    }

    /// One line (or quoted statement) of `.env` that Compose reads, with a key not ours.
    fn unowned_line() -> impl Strategy<Value = Vec<u8>> {
        let key = "U_[A-Z0-9_]{0,6}".prop_map(String::into_bytes);
        let unquoted = bytes(24).prop_map(|mut v| {
            // The first byte decides how it is read: not a quote nor a blank.
            if v.first().is_some_and(|b| b"\"' \t".contains(b)) {
                v.insert(0, b'x');
            }
            v
        });
        let value = prop_oneof![unquoted, quoted(b'"'), quoted(b'\'')];
        prop_oneof![
            bytes(24).prop_map(|c| [b"#".to_vec(), c].concat()),
            Just(Vec::new()),
            (any::<bool>(), key, value, proptest::option::of(bytes(8))).prop_map(|(export, k, v, comment)| {
                let mut line = if export { b"export ".to_vec() } else { Vec::new() };
                line.extend(k);
                line.push(b'=');
                let quoted = v.first().is_some_and(|b| b"\"'".contains(b));
                line.extend(v);
                if let (true, Some(c)) = (quoted, comment) {
                    line.extend(b" # ");
                    line.extend(c);
                }
                line
            }),
        ]
    }

    fn dotenv_file(files: &[litellm_stack::render::RenderedFile]) -> Vec<u8> {
        files.iter().find(|f| f.path == ".env").expect(".env").bytes().to_vec()
    }

    /// The lines of `text` that are not a statement of a key of ours.
    fn not_ours(text: &[u8], ours: &[String]) -> Vec<Vec<u8>> {
        text.split(|b| *b == b'\n')
            .filter(|l| !ours.iter().any(|k| l.starts_with(format!("{k}=").as_bytes())))
            .map(<[u8]>::to_vec)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Random lines a user added (anywhere) survive a render byte for byte, whether it
        /// fills a key of ours in place or adds one, and read the same before and after.
        #[test]
        fn unowned_lines_survive_a_render_byte_for_byte(
            inserts in proptest::collection::vec((0usize..30, unowned_line()), 0..10),
            fill in any::<bool>(),
            add_model in any::<bool>(),
        ) {
            use litellm_stack::answers::Answers;
            use litellm_stack::platform::Os;
            use litellm_stack::secrets::ExistingEnv;
            use litellm_stack::workspace::Workspace;
            let mut a = Answers::defaults_for(Os::Linux);
            a.dir = std::path::PathBuf::from("/srv/litellm");
            let first = Workspace::prepare_with_env(a.clone(), Os::Linux, ExistingEnv::default(), &|_| None)
                .expect("prepare");
            let mut lines: Vec<Vec<u8>> = dotenv_file(&first.files).split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            for (at, line) in &inserts {
                let at = (*at).min(lines.len().saturating_sub(1));
                lines.insert(at, line.clone());
            }
            let text = lines.join(&b'\n');
            let path = std::path::Path::new(".env");
            let before = ExistingEnv::parse_with(path, &text, &|_| None).expect("Compose reads every generated line");
            if add_model {
                let yaml = "models:\n  - {name: m, model: openai/m, api_key_env: OPENAI_API_KEY}\n  - {name: c, model: anthropic/c, api_key_env: ANTHROPIC_API_KEY}\n";
                let more: Answers = serde_norway::from_str(yaml).expect("answers");
                a.models = more.models;
            }
            let ours: Vec<String> = litellm_stack::answers::STACK_ENV_KEYS
                .iter()
                .map(|k| k.to_string())
                .chain(a.provider_key_vars())
                .collect();
            let env = |k: &str| (fill && k == "OPENAI_API_KEY").then(|| "sk-filled".to_string());
            let second = Workspace::prepare_with_env(a, Os::Linux, before.clone(), &env).expect("prepare again");
            let out = dotenv_file(&second.files);
            let (old, new) = (not_ours(&text, &ours), not_ours(&out, &ours));
            prop_assert!(new.len() >= old.len() && new[..old.len()] == old[..], "a line not ours changed:\n{}", String::from_utf8_lossy(&out));
            prop_assert!(new[old.len()..].iter().all(|l| l.is_empty() || l.starts_with(b"#")));
            let after = ExistingEnv::parse_with(path, &out, &|_| None).expect("reads back");
            for (k, v) in &before.entries {
                if !ours.contains(k) {
                    prop_assert_eq!(after.get(k), Some(v), "{} reads back the same", k);
                }
            }
            if fill {
                prop_assert_eq!(after.get("OPENAI_API_KEY").map(|v| v.expose().to_string()), Some("sk-filled".to_string()));
            }
        }
    }

    /// The same for Compose v2, in one `docker compose config` over 300 generated values.
    #[test]
    fn compose_reads_back_generated_values() {
        let mut runner = TestRunner::deterministic();
        let values: Vec<String> = (0..300)
            .map(|_| value().new_tree(&mut runner).expect("generate").current())
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let env = dir.path().join("generated.env");
        let mut text = String::new();
        let keys: Vec<String> = (0..values.len()).map(|i| format!("V{i}")).collect();
        for (k, v) in keys.iter().zip(&values) {
            text.push_str(&format!("{k}={}\n", quote(v)));
        }
        std::fs::write(&env, &text).expect("write");
        let read = super::compose_reads(&env, &keys);
        for (k, v) in keys.iter().zip(&values) {
            assert_eq!(
                read.get(k),
                Some(v),
                "Compose v2 reads {k} = {v:?} back (written {})",
                quote(v)
            );
        }
    }
}

/// D (6), as a property: 300 generated model names (any text without control characters)
/// written by the config.yaml renderer, read back by the proxy's PyYAML, one run.
#[test]
fn pyyaml_reads_back_generated_model_names() {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::prop_oneof![
        "[a-zA-Z0-9 :#'\"{}\\[\\],&*!|>%@`~=<.?/\\\\-]{1,16}",
        "[^\\x00-\\x1f\\x7f-\\x9f]{1,16}",
    ];
    let mut seen = std::collections::HashSet::new();
    let names: Vec<String> = (0..300)
        .map(|_| strategy.new_tree(&mut runner).expect("generate").current())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && n != "smoke-test" && seen.insert(n.clone()))
        .collect();
    let mut a = Answers::defaults_for(Os::Linux);
    a.dir = PathBuf::from("/srv/litellm");
    a.models = names
        .iter()
        .enumerate()
        .map(|(i, n)| litellm_stack::answers::Model {
            name: Some(n.clone()),
            model: Some(format!("openai/m{i}")),
            api_key_env: None,
            api_base: None,
            api_version: None,
        })
        .collect();
    a.validate(Os::Linux).expect("generated names are valid");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, litellm_stack::render::config::render_config_yaml(&a)).expect("write");
    let cfg = pyyaml_load(&path);
    let read: Vec<&str> = cfg["model_list"]
        .as_array()
        .expect("model_list")
        .iter()
        .filter_map(|m| m["model_name"].as_str())
        .collect();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.push("smoke-test");
    assert_eq!(read, want);
}
