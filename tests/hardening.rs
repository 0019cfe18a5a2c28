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
        ("MY_EXTRA", "tab\tinside", true),
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
    bin().args(["render", "--dir"]).arg(&d).assert().success();
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

// ---------------------------------------------------------------------------------------------
// G (13): messages

#[test]
fn a_broken_env_is_reported_by_its_line_number_without_its_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("litellm");
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(
        d.join(".env"),
        "A=1\n# a comment\nB=\"two\nlines\"\nC=sk-secret value-with-space\nD=2\n",
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
