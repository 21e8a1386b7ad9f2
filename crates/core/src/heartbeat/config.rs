//! `heartbeats`: the checks, as people write them.
//!
//! ```json
//! "heartbeats": [
//!   { "name": "nightly-batch", "key": "ssm:/opsbell/${stage}/hb-nightly", "period": "1d", "grace": "1h" },
//!   { "name": "ml-pipeline", "key": "3f0c1a52-7d4e-4b8a-9c61-2d5e8f7a9b10",
//!     "cron": "30 2 * * *", "timezone": "Asia/Tokyo", "grace": "30m" }
//! ]
//! ```

use serde::Deserialize;
use serde_json::Value;

use super::{Every, Heartbeat};
use crate::problem::Problems;

/// The longest ping body kept: a script's log tail, as healthchecks.io keeps it (the end, where
/// the error is, when it is longer).
pub const MAX_BODY: usize = 10_000;
/// Without `grace`: an hour, as healthchecks.io's default.
const DEFAULT_GRACE: &str = "1h";
/// The shortest key: a ping URL is as secret as its key is long.
const MIN_KEY: usize = 16;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: String,
    key: String,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    cron: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    grace: Option<String>,
    #[serde(default)]
    paused: bool,
}

/// The checks at `heartbeats`, each problem reported at its path (never with its key).
pub fn read(raw: Option<Value>, timezone: chrono_tz::Tz, p: &mut Problems) -> Vec<Heartbeat> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let Some(list) = p.parse::<Vec<Value>>("heartbeats", raw) else {
        return Vec::new();
    };
    let mut checks: Vec<Heartbeat> = Vec::new();
    for (i, value) in list.into_iter().enumerate() {
        let path = format!("heartbeats[{i}]");
        let Some(raw) = p.parse::<RawCheck>(&path, value) else {
            continue;
        };
        if let Some(check) = check(raw, &path, timezone, p) {
            if checks.iter().any(|c| c.name == check.name) {
                p.push(
                    format!("{path}.name"),
                    format!("{:?} is used twice", check.name),
                );
            } else if checks
                .iter()
                .any(|c| c.owns(secrecy::ExposeSecret::expose_secret(&check.key)))
            {
                p.push(format!("{path}.key"), "is another check's key");
            } else {
                checks.push(check);
            }
        }
    }
    checks
}

fn check(raw: RawCheck, path: &str, zone: chrono_tz::Tz, p: &mut Problems) -> Option<Heartbeat> {
    let before = p.0.len();
    let name = raw.name.trim().to_string();
    if name.is_empty() || name.contains(['/', '#', ':']) {
        p.push(
            format!("{path}.name"),
            "must be a name without '/', '#' or ':'",
        );
    }
    let key_ok = raw.key.len() >= MIN_KEY
        && (raw.key.chars()).all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !key_ok {
        p.push(
            format!("{path}.key"),
            format!("must be at least {MIN_KEY} letters, digits, '-' or '_' (a UUID)"),
        );
    }
    let span = |text: &str, at: &str, p: &mut Problems| match crate::time::parse_span(text) {
        Ok(d) if d >= std::time::Duration::from_secs(1) => chrono::Duration::from_std(d).ok(),
        Ok(_) => {
            p.push(format!("{path}.{at}"), "must be at least 1s");
            None
        }
        Err(e) => {
            p.push(format!("{path}.{at}"), e);
            None
        }
    };
    let grace = span(raw.grace.as_deref().unwrap_or(DEFAULT_GRACE), "grace", p);
    let timezone = match raw.timezone.as_deref() {
        None => zone,
        Some(name) => name.parse().unwrap_or_else(|_| {
            p.push(
                format!("{path}.timezone"),
                format!("unknown time zone {name:?}"),
            );
            zone
        }),
    };
    let every = match (raw.period, raw.cron) {
        (Some(period), None) => span(&period, "period", p).map(Every::Period),
        (None, Some(text)) => match cron(&text) {
            Ok(cron) => Some(Every::Cron {
                cron: Box::new(cron),
                text,
                timezone,
            }),
            Err(e) => {
                p.push(format!("{path}.cron"), format!("{text:?}: {e}"));
                None
            }
        },
        _ => {
            p.push(
                path,
                "needs one of period (\"1d\") or cron (\"30 2 * * *\")",
            );
            None
        }
    };
    let (Some(grace), Some(every)) = (grace, every) else {
        return None;
    };
    (p.0.len() == before).then(|| Heartbeat {
        name,
        key: raw.key.into(),
        every,
        grace,
        paused: raw.paused,
        timezone,
    })
}

/// A crontab line: five fields, or six with seconds first (`croner`, which also reads `L`,
/// `W`, `#` and `?`).
fn cron(text: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .build()
        .parse(text)
}
