//! `sources.orchestrator[].hung`: jobs that stay too long in one state (see `poll/hung.rs`).
//!
//! ```json
//! "hung": { "running": "6h", "learn": { "k": 3, "runs": 20, "floor": "15m" },
//!           "pending": "1h", "suspended": "24h", "stopping": "30m",
//!           "max_running": { "InvoiceBot": "2h" } }
//! ```
//! Every key is optional (`"hung": {}` takes the defaults); a limit of `"off"` is off, and
//! `"learn": false` never learns.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::client::orchestrator::config::{HungWatch, Learn};
use crate::problem::Problems;

const HOUR: u64 = 3600;
/// Until a process has runs learned (or when learning is off).
const DEFAULT_RUNNING: Duration = Duration::from_secs(6 * HOUR);
/// No robot took the job: an hour is long for unattended work.
const DEFAULT_PENDING: Duration = Duration::from_secs(HOUR);
/// Waiting for a person in Action Center: a working day and a night.
const DEFAULT_SUSPENDED: Duration = Duration::from_secs(24 * HOUR);
/// A stop or kill that does not finish.
const DEFAULT_STOPPING: Duration = Duration::from_secs(30 * 60);
const DEFAULT_LEARN: Learn = Learn {
    k: 3.0,
    runs: 20,
    floor: Duration::from_secs(15 * 60),
};
/// Limits from a minute to 30 days.
const SPAN_MIN: Duration = Duration::from_secs(60);
const SPAN_MAX: Duration = Duration::from_secs(30 * 24 * HOUR);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHung {
    #[serde(default)]
    running: Option<String>,
    #[serde(default)]
    learn: Option<Value>,
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    suspended: Option<String>,
    #[serde(default)]
    stopping: Option<String>,
    #[serde(default)]
    max_running: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLearn {
    #[serde(default)]
    k: Option<f64>,
    #[serde(default)]
    runs: Option<usize>,
    #[serde(default)]
    floor: Option<String>,
}

/// A limit: a span from 1m to 30d, or `"off"`.
fn limit(text: Option<&str>, at: String, default: Duration, p: &mut Problems) -> Option<Duration> {
    let Some(text) = text else {
        return Some(default);
    };
    if text.trim().eq_ignore_ascii_case("off") {
        return None;
    }
    match crate::time::parse_span(text) {
        Ok(d) if (SPAN_MIN..=SPAN_MAX).contains(&d) => Some(d),
        _ => {
            p.push(
                at,
                format!("{text:?} is not a span from 1m to 30d (\"2h\"), or \"off\""),
            );
            Some(default)
        }
    }
}

fn learn(raw: Option<Value>, path: &str, p: &mut Problems) -> Option<Learn> {
    let at = format!("{path}.hung.learn");
    let raw = match raw {
        None | Some(Value::Bool(true)) => return Some(DEFAULT_LEARN),
        Some(Value::Bool(false)) => return None,
        Some(v) => p.parse::<RawLearn>(&at, v)?,
    };
    let mut l = DEFAULT_LEARN;
    match raw.k {
        Some(k) if (1.0..=100.0).contains(&k) => l.k = k,
        Some(k) => p.push(format!("{at}.k"), format!("{k} is not from 1 to 100")),
        None => {}
    }
    match raw.runs {
        Some(n) if (Learn::MIN_RUNS..=1000).contains(&n) => l.runs = n,
        Some(n) => p.push(
            format!("{at}.runs"),
            format!("{n} is not from {} to 1000", Learn::MIN_RUNS),
        ),
        None => {}
    }
    let floor = limit(raw.floor.as_deref(), format!("{at}.floor"), l.floor, p);
    l.floor = floor.unwrap_or(Duration::ZERO);
    Some(l)
}

/// `hung`, with its defaults.
pub(super) fn read(h: RawHung, path: &str, p: &mut Problems) -> HungWatch {
    let at = |key: &str| format!("{path}.hung.{key}");
    let max_running = (h.max_running.iter())
        .filter_map(|(process, text)| {
            let d = limit(
                Some(text),
                at(&format!("max_running.{process}")),
                DEFAULT_RUNNING,
                p,
            )?;
            Some((process.clone(), d))
        })
        .collect();
    HungWatch {
        running: limit(h.running.as_deref(), at("running"), DEFAULT_RUNNING, p),
        learn: learn(h.learn, path, p),
        pending: limit(h.pending.as_deref(), at("pending"), DEFAULT_PENDING, p),
        suspended: limit(
            h.suspended.as_deref(),
            at("suspended"),
            DEFAULT_SUSPENDED,
            p,
        ),
        stopping: limit(h.stopping.as_deref(), at("stopping"), DEFAULT_STOPPING, p),
        max_running,
    }
}
