//! `sources.kamonohashi[].long`: how long a job may stay Pending or Running before it is
//! announced stuck, per source and per tenant (`{"pending": "6h", "running": "off",
//! "tenants": {"3": {"running": "12h"}}}`). Pending defaults to 6 hours (no free GPU that
//! long is news), Running to no limit (training runs for days).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::client::kamonohashi::config::LongLimits;
use crate::problem::Problems;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLong {
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    running: Option<String>,
    #[serde(default)]
    tenants: BTreeMap<String, RawLong>,
}

/// A job Pending this long (no free GPU for six hours) is announced; Running has no limit.
const DEFAULT_LONG_PENDING: Duration = Duration::from_secs(6 * 3600);

/// `long`: spans ("6h") or "off", per tenant over the source's.
pub(super) fn read(raw: Option<RawLong>, path: &str, p: &mut Problems) -> LongLimits {
    let raw = raw.unwrap_or_default();
    let span =
        |text: Option<&String>, at: String, default: Option<Duration>, p: &mut Problems| match text
        {
            None => default,
            Some(t) if t.trim().eq_ignore_ascii_case("off") => None,
            Some(t) => match crate::time::parse_span(t) {
                Ok(d) if d >= Duration::from_secs(60) => Some(d),
                _ => {
                    p.push(
                        at,
                        format!("{t:?} is neither a span of 1m or more (\"6h\") nor \"off\""),
                    );
                    default
                }
            },
        };
    let pending = span(
        raw.pending.as_ref(),
        format!("{path}.long.pending"),
        Some(DEFAULT_LONG_PENDING),
        p,
    );
    let running = span(
        raw.running.as_ref(),
        format!("{path}.long.running"),
        None,
        p,
    );
    let mut tenants = BTreeMap::new();
    for (id, t) in &raw.tenants {
        let at = format!("{path}.long.tenants.{id}");
        let Ok(id) = id.parse::<i64>() else {
            p.push(at, "tenant ids are numbers");
            continue;
        };
        let own_pending = span(t.pending.as_ref(), format!("{at}.pending"), pending, p);
        let own_running = span(t.running.as_ref(), format!("{at}.running"), running, p);
        tenants.insert(id, (own_pending, own_running));
    }
    LongLimits {
        pending,
        running,
        tenants,
    }
}
