//! The signals of what never ends: `robots` (how long a robot may stay unresponsive or
//! disconnected before it is announced offline, `{"robots": {"grace": "5m"}}`, so that a
//! reboot is not an alarm) and `self_ping` (opsbell's own dead man's switch,
//! `{"self_ping": {"url": "https://hc-ping.com/<uuid>"}}`, pinged after every poll cycle).

use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use crate::problem::Problems;

/// The default grace: a robot's reboot takes a minute or two.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(300);
/// The longest: the report waits on the queue (SQS `DelaySeconds` is at most 900).
pub const MAX_GRACE: Duration = Duration::from_secs(900);

/// The grace period at `robots.grace`, or the default; a problem when it is not a span of 1 s
/// to 15 min.
pub(super) fn read(raw: Option<Value>, p: &mut Problems) -> Duration {
    let Some(raw) = raw else {
        return DEFAULT_GRACE;
    };
    let Some(grace) = raw.get("grace") else {
        return DEFAULT_GRACE;
    };
    let span = grace.as_str().map(crate::time::parse_span);
    match span {
        Some(Ok(d)) if d >= Duration::from_secs(1) && d <= MAX_GRACE => d,
        _ => {
            p.push(
                "robots.grace",
                format!("{grace} is not a span from 1s to 15m (\"5m\")"),
            );
            DEFAULT_GRACE
        }
    }
}

/// The URL pinged after every poll cycle (`self_ping.url`), a secret like a webhook URL.
pub(super) fn self_ping(raw: Option<Value>, p: &mut Problems) -> Option<SecretString> {
    let url = raw?.get("url")?.as_str()?.to_string();
    p.url(&url, "self_ping.url");
    Some(SecretString::from(url))
}
