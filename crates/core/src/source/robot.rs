//! Orchestrator's `robot.status`: each session's `State` (Available, Busy, Disconnected,
//! Unresponsive) and `IsUnresponsive`. A robot that stops answering leaves every job queued
//! for it Pending, and nothing ends. A session that is unresponsive or disconnected is an
//! [`State::Offline`] report, one that is Available or Busy an [`State::Online`] report;
//! the fan-out's presence stage (`fanout/presence.rs`) turns them into an alarm only when the
//! robot stays away past the grace period, and into one recovery when it comes back.
//! Shape: UiPath's "Types of Events" example (`samplejson/uipath-webhook-robot-status.json`).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::uipath::UipathContext;
use super::{Inbound, ParseError};
use crate::event::{Event, EventKey, Source, State, Via};
use crate::time::parse_utc;

pub const STATUS: &str = "robot.status";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Status {
    #[serde(default)]
    event_id: Option<Value>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    sessions: Vec<Session>,
    #[serde(default)]
    tenant_id: Option<i64>,
    #[serde(default)]
    organization_unit_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Session {
    robot_id: i64,
    #[serde(default)]
    host_machine_name: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    reporting_time: Option<String>,
    #[serde(default)]
    is_unresponsive: bool,
}

/// Whether a session is away (`Some(true)`), here (`Some(false)`), or neither.
fn away(s: &Session) -> Option<bool> {
    match s.state.as_deref() {
        _ if s.is_unresponsive => Some(true),
        Some("Disconnected" | "Unresponsive") => Some(true),
        Some("Available" | "Busy") => Some(false),
        _ => None,
    }
}

/// One report per session whose state says away or here; `Ignored` when none does.
pub fn parse(body: &[u8], ctx: &UipathContext) -> Result<Inbound, ParseError> {
    let hook: Status = ParseError::from_json(body)?;
    let at = (hook.timestamp.as_deref())
        .and_then(parse_utc)
        .unwrap_or(ctx.received_at);
    let origin = super::event_id(hook.event_id);
    let events: Vec<Event> = (hook.sessions.iter())
        .filter_map(|s| Some((s, away(s)?)))
        .map(|(s, away)| {
            let reported = (s.reporting_time.as_deref())
                .and_then(parse_utc)
                .unwrap_or(at);
            let mut e = report(s.robot_id, away, reported);
            e.process = s
                .host_machine_name
                .clone()
                .unwrap_or_else(|| format!("robot {}", s.robot_id));
            e.machine = s.host_machine_name.clone();
            e.tenant = hook
                .tenant_id
                .map(|t| t.to_string())
                .or_else(|| ctx.tenant.clone());
            e.folder = hook.organization_unit_id.map(|f| f.to_string());
            e.origin_id = origin.clone();
            e
        })
        .collect();
    if events.is_empty() {
        return Ok(Inbound::Ignored {
            kind: STATUS.into(),
        });
    }
    Ok(Inbound::Events(events))
}

/// A report of robot `id` at `reported`: its key names the robot and the time, so a
/// redelivered webhook is the same report.
fn report(id: i64, away: bool, reported: DateTime<Utc>) -> Event {
    let state = if away { State::Offline } else { State::Online };
    let subject = format!("robot-{id}-{}", reported.timestamp_millis());
    let mut e = Event::new(Source::Uipath, "", &subject, state, "", reported);
    e.key = EventKey::new(Source::Uipath, "", &subject, state);
    e.robot = Some(id.to_string());
    e.via = Some(Via::Webhook);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_become_away_and_here_reports_and_anything_else_is_ignored() {
        let body = |state: &str, unresponsive: bool| {
            serde_json::json!({"Type": "robot.status", "EventId": "e1", "Timestamp": "2018-11-26T14:12:30.7943064Z",
                "Sessions": [{"SessionId": 1, "RobotId": 4778, "HostMachineName": "PC-DOC", "State": state,
                    "ReportingTime": "2018-11-26T14:12:30.7463063Z", "IsUnresponsive": unresponsive}],
                "TenantId": 1, "OrganizationUnitId": 1})
            .to_string()
        };
        let ctx = UipathContext::default();
        let state = |b: String| match parse(b.as_bytes(), &ctx).unwrap() {
            Inbound::Events(e) => Some((e[0].state, e[0].key.to_string(), e[0].process.clone())),
            Inbound::Ignored { .. } => None,
        };
        let busy = state(body("Busy", false)).unwrap();
        assert_eq!(busy.0, State::Online);
        assert_eq!(busy.1, "uipath::robot-4778-1543241550746:online");
        assert_eq!(busy.2, "PC-DOC");
        assert_eq!(state(body("Busy", true)).unwrap().0, State::Offline);
        assert_eq!(
            state(body("Disconnected", false)).unwrap().0,
            State::Offline
        );
        assert_eq!(
            state(body("Unresponsive", false)).unwrap().0,
            State::Offline
        );
        assert_eq!(state(body("Available", false)).unwrap().0, State::Online);
        assert_eq!(state(body("Unknown", false)), None);
    }
}

#[cfg(test)]
mod sample {
    use super::*;

    #[test]
    fn the_documented_sample_is_a_here_report_of_its_robot() {
        let path = format!(
            "{}/../../samplejson/uipath-webhook-robot-status.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(path).unwrap();
        let Inbound::Events(events) = parse(&body, &UipathContext::default()).unwrap() else {
            panic!("a report")
        };
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!((e.state, e.robot.as_deref()), (State::Online, Some("4778")));
        assert_eq!(
            (e.tenant.as_deref(), e.folder.as_deref()),
            (Some("1"), Some("1"))
        );
    }
}
