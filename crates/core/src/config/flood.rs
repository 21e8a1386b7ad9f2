//! A channel's `flood` setting: how many events it posts in a window before the rest wait for
//! one digest (the fan-out's flood control, `fanout/flood.rs`).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::problem::Problems;

/// How a channel holds a flood back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodPolicy {
    /// Events posted one by one in a window before the rest are held.
    pub burst: u32,
    pub window: Duration,
    /// Held events the digest lists one per line.
    pub lines: usize,
}

impl Default for FloodPolicy {
    fn default() -> Self {
        FloodPolicy {
            burst: 5,
            window: Duration::from_secs(60),
            lines: 10,
        }
    }
}

/// The longest window: a digest waits on SQS `DelaySeconds`, at most 15 minutes.
const WINDOW_MAX: Duration = Duration::from_secs(900);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    burst: Option<u32>,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    lines: Option<usize>,
}

impl FloodPolicy {
    /// A channel's `flood`: `false` (off), `true` (the defaults), or
    /// `{"burst": 5, "window": "60s", "lines": 10}`. `None` when off.
    pub fn parse(value: Value, path: &str, p: &mut Problems) -> Option<FloodPolicy> {
        let path = format!("{path}.flood");
        match value {
            Value::Bool(false) => return None,
            Value::Bool(true) => return Some(FloodPolicy::default()),
            _ => {}
        }
        let file: PolicyFile = p.parse(&path, value)?;
        let mut policy = FloodPolicy::default();
        policy.burst = file.burst.unwrap_or(policy.burst);
        policy.lines = file.lines.unwrap_or(policy.lines);
        if let Some(w) = file.window {
            match crate::time::parse_span(&w) {
                Ok(w) if !w.is_zero() && w <= WINDOW_MAX => policy.window = w,
                Ok(_) => p.push(format!("{path}.window"), "a window from 1s to 15m"),
                Err(e) => p.push(format!("{path}.window"), e),
            }
        }
        if policy.burst == 0 {
            p.push(format!("{path}.burst"), "at least 1 (or \"flood\": false)");
        }
        Some(policy)
    }

    /// `5 events per 1m, then one digest per window`, for `opsbell check`.
    pub fn describe(&self) -> String {
        format!(
            "{} event(s) per {}, then one digest per window",
            self.burst,
            humantime::format_duration(self.window)
        )
    }
}
