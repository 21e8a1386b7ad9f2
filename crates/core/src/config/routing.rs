//! The routing half of a configuration as written: its named time intervals, the recovery
//! routes a channel implies, and the silences it plans (maintenance windows).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Channel, Problems};
use crate::route::Route;
use crate::route::intervals::{NamedInterval, TimeInterval};

/// `time_intervals`: each name once; periods without a `location` take the file's time zone.
pub(super) fn read_intervals(
    raw: Option<Value>,
    zone: chrono_tz::Tz,
    p: &mut Problems,
) -> BTreeMap<String, TimeInterval> {
    let Some(raw) = raw else {
        return BTreeMap::new();
    };
    let named: Vec<NamedInterval> = p.parse("time_intervals", raw).unwrap_or_default();
    let mut out = BTreeMap::new();
    for (i, mut n) in named.into_iter().enumerate() {
        for period in &mut n.time_intervals {
            period.locate(zone);
        }
        let interval = TimeInterval {
            periods: n.time_intervals,
        };
        if out.insert(n.name.clone(), interval).is_some() {
            p.push(
                format!("time_intervals[{i}].name"),
                format!("time interval {:?} is defined twice", n.name),
            );
        }
    }
    out
}

/// A Backlog channel that closes issues on recovery must hear the recoveries of what its routes
/// send it: each route that gives it problem states but no recovery state gets a twin for the
/// recovery states (a successful run for a faulted, stopped or hung one, OK for ALARM), with the same
/// matchers. Without it, `close_on_recovery` on a routed channel would silently do nothing.
pub(super) fn recovery_routes(
    explicit: &[Route],
    channels: &BTreeMap<String, Channel>,
) -> Vec<Route> {
    use crate::event::State;
    let closes = |name: &String| matches!(channels.get(name), Some(Channel::Backlog(c)) if c.close_on_recovery);
    let mut twins = Vec::new();
    for route in explicit {
        let mut states: Vec<State> = Vec::new();
        for s in &route.matchers.states {
            let recovery = match s {
                State::Faulted | State::Stopped | State::Hung => State::Successful,
                State::Alarm => State::Ok,
                _ => continue,
            };
            if !route.matchers.states.contains(&recovery) && !states.contains(&recovery) {
                states.push(recovery);
            }
        }
        if states.is_empty() {
            continue;
        }
        for name in route.channels.iter().filter(|n| closes(n)) {
            let mut twin = route.clone();
            twin.name = format!("recovery:{}:{name}", route.name);
            twin.channels = vec![name.clone()];
            twin.matchers.states = states.clone();
            twins.push(twin);
        }
    }
    twins
}

/// A maintenance window planned in the file: `{"name": "db-upgrade", "matchers": "process=Invoice*
/// folder=12", "starts_at": "2026-12-05T22:00:00+09:00", "ends_at": "2026-12-06T02:00:00+09:00",
/// "comment": "…"}`, the matchers written as in chat.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceFile {
    name: String,
    matchers: String,
    starts_at: chrono::DateTime<chrono::FixedOffset>,
    ends_at: chrono::DateTime<chrono::FixedOffset>,
    #[serde(default)]
    comment: String,
}

pub(super) fn read_silences(raw: Option<Value>, p: &mut Problems) -> Vec<crate::silence::Silence> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let files: Vec<SilenceFile> = p.parse("silences", raw).unwrap_or_default();
    let mut out: Vec<crate::silence::Silence> = Vec::new();
    for (i, f) in files.into_iter().enumerate() {
        let path = format!("silences[{i}]");
        let words = crate::silence::words(&f.matchers);
        let (matchers, channels) = match crate::silence::matchers(&words) {
            Ok(m) => m,
            Err(e) => {
                p.push(format!("{path}.matchers"), e);
                continue;
            }
        };
        if f.ends_at <= f.starts_at {
            p.push(format!("{path}.ends_at"), "ends before it starts");
            continue;
        }
        if out.iter().any(|s| s.id == f.name) {
            p.push(
                format!("{path}.name"),
                format!("silence {:?} is defined twice", f.name),
            );
            continue;
        }
        out.push(crate::silence::Silence {
            id: f.name,
            matchers,
            channels,
            starts_at: f.starts_at.to_utc(),
            ends_at: f.ends_at.to_utc(),
            created_by: "config".into(),
            comment: f.comment,
        });
    }
    out
}
