//! The predecessor's `webhook` and `scheduled` sections (uipath-job-status-listener-on-aws,
//! layout 2 and HEAD): `webhook.orchestrator.secret`, and per target
//! `{slack,google_hangouts}.incomming_webhook_url` (sic; `teams` too), `chatwork.{api_token, room_id}`,
//! `backlog.{api_key, space_key, project_id, issue_type_id, priority_id}`, `available_state`;
//! the `scheduled.<target>` sections add `interval` (minutes) and `schedule` (a CloudWatch
//! expression). A section left empty (the predecessor's template) is not a channel.
//!
//! The predecessor ran a webhook function and a scheduled function per target. Here each target
//! is a channel: `webhook.<t>` hears the webhook path, `scheduled.<t>` the poll path. When both
//! name the same destination (URL, room, or space and project) they are one channel hearing both,
//! so a job seen by both is posted once; otherwise the scheduled one is `<name>_scheduled`. When
//! no `scheduled.<t>` target exists, the webhook channels hear the poll too (the safety net).

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Channel, OrchestratorWebhook};
use crate::event::{State, Via};
use crate::problem::{Problems, de_id};

mod sections;
use sections::{identity, sections};

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Section {
    // orchestrator
    secret: String,
    secrets: Vec<String>,
    allow_unsigned: Option<Value>,
    url: Option<String>,
    // chat webhooks; the misspelling is the predecessor's, kept so its files load unchanged
    #[serde(alias = "incoming_webhook_url")]
    incomming_webhook_url: String,
    // chatwork
    api_token: String,
    api_base: Option<String>,
    #[serde(deserialize_with = "de_id")]
    room_id: String,
    // backlog
    api_key: String,
    space_key: String,
    base_url: Option<String>,
    #[serde(deserialize_with = "de_id")]
    project_id: String,
    #[serde(deserialize_with = "de_id")]
    issue_type_id: String,
    #[serde(deserialize_with = "de_id")]
    priority_id: String,
    /// HEAD: `"Successful,Faulted,Stopped"`.
    available_state: String,
    // scheduled.<target> only
    /// Minutes between polls (the predecessor's window length).
    interval: Option<Value>,
    /// The CloudWatch schedule expression, e.g. `rate(10 minutes)`.
    schedule: String,
}

/// The targets opsbell delivers to: (section name, channel name, channel kind).
/// Teams was never a predecessor target; its section takes the chat webhooks' convention
/// (`webhook.teams.incomming_webhook_url`, `scheduled.teams.*`), for teams that keep the
/// predecessor's layout.
const TARGETS: [(&str, &str, &str); 5] = [
    ("slack", "slack", "slack"),
    ("google_hangouts", "google_chat", "google_chat"),
    ("teams", "teams", "teams"),
    ("chatwork", "chatwork", "chatwork"),
    ("backlog", "backlog", "backlog"),
];

/// A `scheduled.<target>` as the poller sees it: the channel it feeds and how often.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ScheduledTarget {
    pub channel: String,
    pub path: String,
    /// `interval`, in minutes, when set and not 0.
    pub interval_minutes: Option<u64>,
    /// `schedule`, when set.
    pub expression: Option<String>,
}

/// What the two sections become.
#[derive(Default)]
pub(super) struct Legacy {
    pub orchestrator: OrchestratorWebhook,
    pub channels: BTreeMap<String, Channel>,
    /// The implicit routes of the channels: (channel, states or `None` for the kind's default,
    /// the path it hears or `None` for every path).
    pub routes: Vec<(String, Option<Vec<State>>, Option<Via>)>,
    pub scheduled: Vec<ScheduledTarget>,
}

/// Reads `webhook` and `scheduled` (whose `orchestrator` the sources read).
pub(super) fn read(webhook: Value, scheduled: Option<&Value>, p: &mut Problems) -> Legacy {
    let mut webhook = sections(webhook, "webhook", p);
    let mut scheduled = sections(scheduled.cloned().unwrap_or(Value::Null), "scheduled", p);
    scheduled.remove("orchestrator");
    let orch = webhook.remove("orchestrator").unwrap_or_default();
    let mut legacy = Legacy {
        orchestrator: orchestrator(orch, p),
        ..Legacy::default()
    };
    let mut webhook_channels = Vec::new();
    let mut scheduled_channels = Vec::new();
    for (section_name, name, kind) in TARGETS {
        for (prefix, sections, out) in [
            ("webhook", &mut webhook, &mut webhook_channels),
            ("scheduled", &mut scheduled, &mut scheduled_channels),
        ] {
            let Some(section) = sections.remove(section_name) else {
                continue;
            };
            let path = format!("{prefix}.{section_name}");
            if prefix == "webhook" && (section.interval.is_some() || !section.schedule.is_empty()) {
                p.push(
                    &path,
                    "interval and schedule belong in the scheduled section",
                );
            }
            let Some(value) = upgrade(kind, &section) else {
                continue;
            };
            let before = p.0.len();
            let channel = Channel::parse(value.clone(), &path, p);
            for problem in &mut p.0[before..] {
                problem.path = problem
                    .path
                    .replace(".webhook_url", ".incomming_webhook_url");
            }
            let states = (!section.available_state.is_empty())
                .then(|| parse_states(&section.available_state, &path, p));
            if let Some(channel) = channel {
                out.push((name, path, channel, identity(&value), states, section));
            }
        }
    }
    for prefix in ["webhook", "scheduled"] {
        let unknown = match prefix {
            "webhook" => &webhook,
            _ => &scheduled,
        };
        for name in unknown.keys() {
            let known: Vec<&str> = TARGETS.iter().map(|t| t.0).collect();
            p.push(
                format!("{prefix}.{name}"),
                format!(
                    "opsbell cannot deliver to this target (known: orchestrator, {})",
                    known.join(", ")
                ),
            );
        }
    }
    let split = !scheduled_channels.is_empty();
    let webhook_via = split.then_some(Via::Webhook);
    for (name, _, channel, _, states, _) in &webhook_channels {
        legacy.channels.insert(name.to_string(), channel.clone());
        legacy
            .routes
            .push((name.to_string(), states.clone(), webhook_via));
    }
    for (name, path, channel, id, states, section) in scheduled_channels {
        let same = webhook_channels.iter().find(|w| w.0 == name && w.3 == id);
        let channel_name = match (same, legacy.channels.contains_key(name)) {
            (Some(_), _) | (None, false) => name.to_string(),
            (None, true) => format!("{name}_scheduled"),
        };
        legacy
            .channels
            .entry(channel_name.clone())
            .or_insert(channel);
        legacy
            .routes
            .push((channel_name.clone(), states, Some(Via::Poll)));
        let interval_minutes = match &section.interval {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()) {
                Some(0) => None,
                Some(m) => Some(m),
                None => {
                    p.push(
                        format!("{path}.interval"),
                        format!("expected minutes, got {v}"),
                    );
                    None
                }
            },
        };
        let expression = Some(section.schedule.trim().to_string()).filter(|s| !s.is_empty());
        legacy.scheduled.push(ScheduledTarget {
            channel: channel_name,
            path,
            interval_minutes,
            expression,
        });
    }
    legacy
}

fn orchestrator(orch: Section, p: &mut Problems) -> OrchestratorWebhook {
    let mut secrets: Vec<SecretString> = Vec::new();
    for s in std::iter::once(orch.secret)
        .chain(orch.secrets)
        .filter(|s| !s.is_empty())
    {
        secrets.push(SecretString::from(s));
    }
    let allow_unsigned = match orch.allow_unsigned {
        None | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(other) => {
            p.push(
                "webhook.orchestrator.allow_unsigned",
                format!("expected true or false, got {other}"),
            );
            false
        }
    };
    OrchestratorWebhook {
        secrets,
        allow_unsigned,
        url: orch.url.filter(|u| !u.is_empty()),
    }
}

/// The channel a section describes, in the channels' own shape; `None` for a section left empty.
fn upgrade(kind: &str, s: &Section) -> Option<Value> {
    let opt = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let channel = match kind {
        "slack" | "google_chat" | "teams" if !s.incomming_webhook_url.is_empty() => {
            json!({ "type": kind, "webhook_url": s.incomming_webhook_url })
        }
        "chatwork" if !s.api_token.is_empty() || !s.room_id.is_empty() => {
            let mut c = json!({ "type": kind, "api_token": s.api_token, "room_id": s.room_id });
            if let Some(base) = opt(&s.api_base) {
                c["api_base"] = json!(base);
            }
            c
        }
        // The predecessor opened an issue per event, and its users work that way: its section
        // keeps doing so. A channel under `channels` gets the lifecycle (an issue per problem).
        "backlog" if !s.api_key.is_empty() || !s.space_key.is_empty() => {
            let mut c = json!({
                "type": kind, "api_key": s.api_key, "space_key": s.space_key,
                "project_id": s.project_id, "issue_type_id": s.issue_type_id,
                "ticket_per": "event",
            });
            if let Some(base) = opt(&s.base_url) {
                c["base_url"] = json!(base);
            }
            if !s.priority_id.is_empty() {
                c["priority_id"] = json!(s.priority_id);
            }
            c
        }
        _ => return None,
    };
    Some(channel)
}

fn parse_states(list: &str, path: &str, p: &mut Problems) -> Vec<State> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let state = State::parse(s);
            if state.is_none() {
                p.push(
                    format!("{path}.available_state"),
                    format!("unknown state {s:?}"),
                );
            }
            state
        })
        .collect()
}
