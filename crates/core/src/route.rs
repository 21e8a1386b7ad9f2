//! Routing: which channels hear an event, and which of them must not hear it now.
//!
//! A route is a set of [`Matchers`] (every given list must match; an empty one matches
//! everything), the channels it sends to, and the named time intervals when it is active or
//! muted (Alertmanager's `active_time_intervals` and `mute_time_intervals`; see
//! [`intervals`]). Silences use the same matchers.

pub mod intervals;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Event, Severity, Source, State, Via};
pub use intervals::TimeInterval;

/// What an event must be: every non-empty list must contain (or, for names, have a glob that
/// matches) the event's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matchers {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<State>,
    /// How bad the state is (`critical`, `warning`, `good`, `info`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    /// Process names; `*` matches any run of characters (`Invoice*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
    /// Folders, as globs: the UiPath folder id (`OrganizationUnitId`, the `fid` in an
    /// Orchestrator URL) or a CloudWatch alarm's region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<String>,
    /// Tenants, as globs: the UiPath tenant, the KAMONOHASHI tenant, or an alarm's AWS account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// CloudWatch alarm names, as globs; when given, only alarms match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_names: Vec<String>,
    /// The paths a UiPath job event may come by (`webhook`, `poll`); empty = any. Events that
    /// come by no such path (alarms, KAMONOHASHI) are not filtered by it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<Via>,
}

fn any_glob(patterns: &[String], value: Option<&str>) -> bool {
    patterns.is_empty() || value.is_some_and(|v| patterns.iter().any(|p| glob_match(p, v)))
}

impl Matchers {
    pub fn matches(&self, event: &Event) -> bool {
        let alarm = (event.source == Source::Cloudwatch).then_some(event.process.as_str());
        (self.sources.is_empty() || self.sources.contains(&event.source))
            && (self.states.is_empty() || self.states.contains(&event.state))
            && (self.severity.is_empty() || self.severity.contains(&event.state.severity()))
            && any_glob(&self.processes, Some(&event.process))
            && any_glob(&self.folders, event.folder.as_deref())
            && any_glob(&self.tenants, event.tenant.as_deref())
            && any_glob(&self.alarm_names, alarm)
            && (self.via.is_empty() || event.via.is_none_or(|v| self.via.contains(&v)))
    }

    /// `state=faulted process=Invoice*`, for lists and logs; `everything` when empty.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut push = |key: &str, values: Vec<&str>| {
            if !values.is_empty() {
                parts.push(format!("{key}={}", values.join(",")));
            }
        };
        push("source", self.sources.iter().map(|s| s.as_str()).collect());
        push("state", self.states.iter().map(|s| s.as_str()).collect());
        push(
            "severity",
            self.severity.iter().map(|s| s.as_str()).collect(),
        );
        push(
            "process",
            self.processes.iter().map(String::as_str).collect(),
        );
        push("folder", self.folders.iter().map(String::as_str).collect());
        push("tenant", self.tenants.iter().map(String::as_str).collect());
        push(
            "alarm",
            self.alarm_names.iter().map(String::as_str).collect(),
        );
        let via: Vec<&str> = self
            .via
            .iter()
            .map(|v| match v {
                Via::Webhook => "webhook",
                Via::Poll => "poll",
            })
            .collect();
        push("via", via);
        match parts.is_empty() {
            true => "everything".into(),
            false => parts.join(" "),
        }
    }
}

/// Sends events that match to `channels`, except while muted.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub name: String,
    pub channels: Vec<String>,
    pub matchers: Matchers,
    /// Names of time intervals outside which the route sends nothing.
    pub active_time_intervals: Vec<String>,
    /// Names of time intervals during which the route sends nothing.
    pub mute_time_intervals: Vec<String>,
}

/// A route as written: its matchers inline, next to its name, channels and intervals.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    #[serde(default)]
    name: String,
    channels: Vec<String>,
    #[serde(default)]
    sources: Vec<Source>,
    #[serde(default)]
    states: Vec<State>,
    #[serde(default)]
    severity: Vec<Severity>,
    #[serde(default)]
    processes: Vec<String>,
    #[serde(default)]
    folders: Vec<String>,
    #[serde(default)]
    tenants: Vec<String>,
    #[serde(default)]
    alarm_names: Vec<String>,
    #[serde(default)]
    via: Vec<Via>,
    #[serde(default)]
    active_time_intervals: Vec<String>,
    #[serde(default)]
    mute_time_intervals: Vec<String>,
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Route, D::Error> {
        let f = RouteFile::deserialize(d)?;
        Ok(Route {
            name: f.name,
            channels: f.channels,
            matchers: Matchers {
                sources: f.sources,
                states: f.states,
                severity: f.severity,
                processes: f.processes,
                folders: f.folders,
                tenants: f.tenants,
                alarm_names: f.alarm_names,
                via: f.via,
            },
            active_time_intervals: f.active_time_intervals,
            mute_time_intervals: f.mute_time_intervals,
        })
    }
}

impl Route {
    /// The implicit route of a channel no route names.
    pub fn to(channel: &str, states: Vec<State>) -> Route {
        Route {
            name: format!("default:{channel}"),
            channels: vec![channel.to_string()],
            matchers: Matchers {
                states,
                ..Matchers::default()
            },
            active_time_intervals: Vec::new(),
            mute_time_intervals: Vec::new(),
        }
    }

    pub fn matches(&self, event: &Event) -> bool {
        self.matchers.matches(event)
    }

    /// Why this route sends nothing at `now`: a mute interval it is in, or the active intervals
    /// it is outside of. `None`: it sends.
    pub fn muted(
        &self,
        intervals: &BTreeMap<String, TimeInterval>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let within = |name: &String| intervals.get(name).is_some_and(|i| i.contains(now));
        if let Some(name) = self.mute_time_intervals.iter().find(|n| within(n)) {
            return Some(format!("muted by time interval {name}"));
        }
        let active = &self.active_time_intervals;
        (!active.is_empty() && !active.iter().any(within))
            .then(|| format!("outside active time interval {}", active.join(", ")))
    }
}

/// The channels that should hear `event`, each once, in route order (and only those the event
/// is restricted to, when it is).
pub fn targets<'a>(routes: &'a [Route], event: &Event) -> Vec<&'a str> {
    decide(routes, &BTreeMap::new(), event, DateTime::UNIX_EPOCH)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Every channel `event` is routed to, each once, in route order, with why it must not hear it
/// now (`Some(reason)`) when every route that takes it there is muted at `now`.
pub fn decide<'a>(
    routes: &'a [Route],
    intervals: &BTreeMap<String, TimeInterval>,
    event: &Event,
    now: DateTime<Utc>,
) -> Vec<(&'a str, Option<String>)> {
    let mut out: Vec<(&str, Option<String>)> = Vec::new();
    for route in routes.iter().filter(|r| r.matches(event)) {
        let muted = route.muted(intervals, now);
        for channel in &route.channels {
            if !(event.only_channels.is_empty() || event.only_channels.contains(channel)) {
                continue;
            }
            match out.iter_mut().find(|(c, _)| *c == channel.as_str()) {
                Some((_, seen)) => {
                    if muted.is_none() {
                        *seen = None;
                    }
                }
                None => out.push((channel, muted.clone())),
            }
        }
    }
    out
}

/// `*`-only glob, case-sensitive.
fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests;
