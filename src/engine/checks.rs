//! Pure checks over what the engine says about itself ([`EngineInfo`](super::EngineInfo)):
//! whether it runs Linux containers and has the memory the stack wants, in texts that fit the
//! engine the user actually has (Docker Desktop's VM or a Linux daemon).

use serde::Serialize;

use crate::error::Error;
use crate::i18n::Msg;
use crate::platform::Os;

/// The memory the stack wants in the engine: LiteLLM alone takes about 1 GiB under load,
/// Postgres, Redis, Nginx and Prometheus about 1 GiB together, and builds need headroom.
pub const RECOMMENDED_ENGINE_MEMORY: u64 = 4 << 30;

/// The least reported memory that counts as "4 GiB": a VM given 4 GB reports its total minus
/// what its kernel reserves (Docker Desktop's 4 GB WSL 2 VM shows about 3.8 GiB), so the check
/// allows 10 % below the recommendation rather than warning everyone who followed it.
const ENGINE_MEMORY_PASS: u64 = RECOMMENDED_ENGINE_MEMORY / 10 * 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// The install goes on, and the user is told why it may struggle and what to change.
    Warn,
}

/// One preflight finding: a line to show, and for a warning what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightCheck {
    pub verdict: Verdict,
    pub msg: Msg,
    pub hint: Option<Msg>,
}

/// Judges the memory the engine reports (`docker info`'s `MemTotal`, the Engine API's
/// `/info` `MemTotal`). On Docker Desktop that is the memory of its Linux VM (the WSL 2
/// limit), not the host's: the number that decides whether the containers fit.
pub fn engine_memory_check(os: Os, engine_mem_bytes: u64) -> PreflightCheck {
    let gib = format_gib(engine_mem_bytes);
    let recommended = format_gib(RECOMMENDED_ENGINE_MEMORY);
    let (pass_key, warn_key, hint_key) = match os {
        Os::Windows => (
            key!("platform.memory.desktop_ok"),
            key!("platform.memory.desktop_low"),
            key!("platform.memory.desktop_hint"),
        ),
        Os::Linux => (
            key!("platform.memory.engine_ok"),
            key!("platform.memory.engine_low"),
            key!("platform.memory.engine_hint"),
        ),
    };
    if engine_mem_bytes >= ENGINE_MEMORY_PASS {
        PreflightCheck {
            verdict: Verdict::Pass,
            msg: Msg::new(pass_key).arg("gib", &gib).arg("recommended", &recommended),
            hint: None,
        }
    } else {
        PreflightCheck {
            verdict: Verdict::Warn,
            msg: Msg::new(warn_key).arg("gib", &gib).arg("recommended", &recommended),
            hint: Some(Msg::new(hint_key).arg("recommended", &recommended)),
        }
    }
}

/// Bytes as GiB with one decimal: `3.8`.
fn format_gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 30) as f64)
}

/// Docker Desktop switched to Windows containers cannot run the stack's Linux images; the
/// engine reports that as its `OSType`. `None` when the engine runs Linux containers.
pub fn engine_os_type_check(os_type: &str) -> Option<Error> {
    if os_type.eq_ignore_ascii_case("linux") {
        return None;
    }
    Some(
        Error::environment(msg!("platform.engine.windows_containers").arg("os_type", os_type))
            .hint(msg!("platform.engine.switch_to_linux_hint")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;
    use crate::i18n::Lang;

    #[test]
    fn four_gib_engine_passes_and_two_warns() {
        let ok = engine_memory_check(Os::Windows, 8 << 30);
        assert_eq!(ok.verdict, Verdict::Pass);
        assert!(ok.hint.is_none());
        assert!(ok.msg.text(Lang::En).contains("8.0 GiB"), "{}", ok.msg.text(Lang::En));

        // What Docker Desktop's WSL 2 VM reports when given 4 GB.
        let given_four = engine_memory_check(Os::Windows, 4_080_000_000);
        assert_eq!(given_four.verdict, Verdict::Pass, "{}", given_four.msg.text(Lang::En));

        let low = engine_memory_check(Os::Windows, 2 << 30);
        assert_eq!(low.verdict, Verdict::Warn);
        let text = low.msg.text(Lang::En);
        assert!(text.contains("2.0 GiB") && text.contains("4.0 GiB"), "{text}");
        let hint = low.hint.expect("a low-memory warning says what to do").text(Lang::En);
        assert!(hint.contains(".wslconfig") && hint.contains("wsl --shutdown"), "{hint}");
    }

    #[test]
    fn linux_memory_warning_does_not_talk_about_wsl() {
        let low = engine_memory_check(Os::Linux, 1 << 30);
        assert_eq!(low.verdict, Verdict::Warn);
        for lang in Lang::ALL {
            let all = format!(
                "{} {}",
                low.msg.text(lang),
                low.hint.clone().map(|h| h.text(lang)).unwrap_or_default()
            );
            assert!(!all.contains("WSL") && !all.contains("Docker Desktop"), "{all}");
            assert!(all.contains("1.0"), "{all}");
        }
    }

    #[test]
    fn windows_containers_mode_is_refused_with_the_switch_to_make() {
        assert!(engine_os_type_check("linux").is_none());
        let e = engine_os_type_check("windows").expect("windows containers cannot run the stack");
        assert_eq!(e.exit, Exit::Environment);
        assert!(
            e.render(Lang::En).contains("Switch to Linux containers"),
            "{}",
            e.render(Lang::En)
        );
    }
}
