//! Readiness as a person follows it: the health check reports every few attempts, which in a
//! slow start is dozens of near-identical lines. Shown are one line per change of state and,
//! while nothing changes, a short heartbeat every [`HEARTBEAT`]; the raw error detail of a
//! state stays in the log file, which keeps every reported attempt (the session logs events
//! before any front end sees them). The text printer and the wizard both use this.

use std::time::{Duration, Instant};

use crate::i18n::{Arg, Msg};

/// While the state stays the same, one line this often says the wait goes on.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// What one readiness report becomes on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// A new state: its line.
    Changed(Msg),
    /// The same state for another `HEARTBEAT`: a short line.
    StillWaiting(Msg),
    Hidden,
}

/// The readiness lines of one run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadinessLines {
    last_state: Option<String>,
    last_line_at: Option<Instant>,
}

/// A state's identity: its message keys and values, without the details (an error's own
/// words) or the counters, which change at every attempt.
fn shape(m: &Msg) -> String {
    let mut out = m.key.to_string();
    for (name, value) in &m.args {
        match value {
            Arg::Msg(inner) => {
                out.push('(');
                out.push_str(&shape(inner));
                out.push(')');
            }
            Arg::Text(_) if matches!(*name, "detail" | "n" | "elapsed" | "error") => {}
            Arg::Text(t) => {
                out.push(' ');
                out.push_str(t);
            }
        }
    }
    out
}

/// The state without its raw detail: that is in the log file.
fn without_detail(m: &Msg) -> Msg {
    Msg {
        key: m.key,
        args: m
            .args
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    Arg::Msg(inner) => Arg::Msg(Box::new(without_detail(inner))),
                    Arg::Text(_) if *name == "detail" => Arg::Msg(Box::new(msg!("newcomer.readiness.detail_in_log"))),
                    other => other.clone(),
                };
                (*name, value)
            })
            .collect(),
    }
}

fn text_arg<'a>(m: &'a Msg, name: &str) -> Option<&'a str> {
    m.args.iter().find_map(|(n, v)| match v {
        Arg::Text(t) if *n == name => Some(t.as_str()),
        _ => None,
    })
}

impl ReadinessLines {
    /// What to show of `progress`, a readiness step's progress message, reported at `now`.
    /// Anything but a readiness attempt is shown as it is.
    pub fn filter(&mut self, progress: &Msg, now: Instant) -> Shown {
        if progress.key != "health.attempt" {
            return Shown::Changed(progress.clone());
        }
        let Some(state) = progress.args.iter().find_map(|(n, v)| match v {
            Arg::Msg(m) if *n == "state" => Some(m.as_ref()),
            _ => None,
        }) else {
            return Shown::Changed(progress.clone());
        };
        let elapsed = text_arg(progress, "elapsed").unwrap_or_default().to_string();
        let this = shape(state);
        if self.last_state.as_deref() != Some(this.as_str()) {
            self.last_state = Some(this);
            self.last_line_at = Some(now);
            return Shown::Changed(
                msg!("newcomer.readiness.changed")
                    .arg("elapsed", elapsed)
                    .nested("state", without_detail(state)),
            );
        }
        if self
            .last_line_at
            .is_none_or(|at| now.saturating_duration_since(at) >= HEARTBEAT)
        {
            self.last_line_at = Some(now);
            return Shown::StillWaiting(
                msg!("newcomer.readiness.still")
                    .arg("elapsed", elapsed)
                    .arg("n", text_arg(progress, "n").unwrap_or("?")),
            );
        }
        Shown::Hidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(n: u32, secs: u64, state: Msg) -> Msg {
        msg!("health.attempt")
            .arg("n", n)
            .arg("elapsed", format!("{secs}.0 s"))
            .nested("state", state)
    }

    #[test]
    fn a_long_wait_in_one_state_is_one_line_and_a_heartbeat_every_ten_seconds() {
        let start = Instant::now();
        let mut lines = ReadinessLines::default();
        let refused = || msg!("health.state.refused").arg("url", "http://127.0.0.1:80");
        let mut shown = Vec::new();
        // An attempt reported every 2 s for a minute, then ready.
        for i in 0..30u32 {
            let at = start + Duration::from_secs(u64::from(i) * 2);
            shown.push(lines.filter(&attempt(i + 1, u64::from(i) * 2, refused()), at));
        }
        let ready = msg!("health.state.ready").arg("url", "http://127.0.0.1:80");
        shown.push(lines.filter(&attempt(31, 60, ready), start + Duration::from_secs(60)));
        let changed = shown.iter().filter(|s| matches!(s, Shown::Changed(_))).count();
        let beats = shown.iter().filter(|s| matches!(s, Shown::StillWaiting(_))).count();
        assert_eq!(changed, 2, "{shown:?}");
        assert_eq!(beats, 5, "one per 10 s of the 58 s in one state: {shown:?}");
    }

    #[test]
    fn the_raw_detail_stays_out_of_the_line_and_does_not_count_as_a_change() {
        let mut lines = ReadinessLines::default();
        let no_answer = |d: &str| {
            msg!("health.state.no_answer")
                .arg("url", "http://127.0.0.1:80")
                .arg("detail", d)
        };
        let now = Instant::now();
        let Shown::Changed(first) = lines.filter(
            &attempt(1, 0, no_answer("connection reset by peer (os error 104)")),
            now,
        ) else {
            panic!("the first state is shown")
        };
        assert!(!first.text(crate::i18n::Lang::ZhTw).contains("os error"));
        let again = lines.filter(
            &attempt(2, 1, no_answer("unexpected EOF")),
            now + Duration::from_secs(1),
        );
        assert_eq!(again, Shown::Hidden);
    }
}
