//! `sources.orchestrator[].triggers`: watching triggers for runs that never happen
//! (`{"grace": "10m", "refresh": "15m"}`; see `poll/triggers.rs`).

use std::time::Duration;

use serde::Deserialize;

use crate::client::orchestrator::config::TriggerWatch;
use crate::problem::Problems;

const DEFAULT_TRIGGER_GRACE: Duration = Duration::from_secs(600);
const DEFAULT_TRIGGER_REFRESH: Duration = Duration::from_secs(900);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTriggers {
    #[serde(default)]
    grace: Option<String>,
    #[serde(default)]
    refresh: Option<String>,
}

/// `triggers`: a grace of 1 minute to a day, a refresh of 1 minute to a day.
pub(super) fn read(t: RawTriggers, path: &str, p: &mut Problems) -> TriggerWatch {
    let mut span = |text: Option<String>, key: &str, default: Duration| {
        let Some(text) = text else { return default };
        match crate::time::parse_span(&text) {
            Ok(d) if d >= Duration::from_secs(60) && d <= Duration::from_secs(86_400) => d,
            _ => {
                p.push(
                    format!("{path}.triggers.{key}"),
                    format!("{text:?} is not a span from 1m to 1d (\"10m\")"),
                );
                default
            }
        }
    };
    TriggerWatch {
        grace: span(t.grace, "grace", DEFAULT_TRIGGER_GRACE),
        refresh: span(t.refresh, "refresh", DEFAULT_TRIGGER_REFRESH),
    }
}
