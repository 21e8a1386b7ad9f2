//! The predecessor's `webhook` section (uipath-job-status-listener-on-aws, layout 2 and HEAD):
//! `webhook.orchestrator.secret`, `webhook.{slack,google_hangouts}.incomming_webhook_url` (sic),
//! `webhook.chatwork.{api_token, room_id}`, `webhook.backlog.{api_key, space_key, project_id,
//! issue_type_id, priority_id}`, per-target `available_state`. A section left empty is not a channel.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Channel, OrchestratorWebhook};
use crate::event::State;
use crate::problem::{Problems, de_id};

#[derive(Deserialize, Default)]
#[serde(default)]
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
}

/// Channels named after the section: `slack`, `google_chat`, `chatwork`, `backlog`.
pub(super) fn read(
    webhook: Value,
    p: &mut Problems,
) -> (
    OrchestratorWebhook,
    BTreeMap<String, Channel>,
    BTreeMap<String, Vec<State>>,
) {
    let mut sections: BTreeMap<String, Value> = match webhook {
        Value::Null => BTreeMap::new(),
        other => p.parse("webhook", other).unwrap_or_default(),
    };
    let mut take = |name: &str| -> Section {
        let path = format!("webhook.{name}");
        sections
            .remove(name)
            .and_then(|v| p.parse(&path, v))
            .unwrap_or_default()
    };
    let orch = take("orchestrator");
    let slack = take("slack");
    let hangouts = take("google_hangouts");
    let chatwork = take("chatwork");
    let backlog = take("backlog");
    let unknown: Vec<String> = sections.into_keys().collect();

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
    let orchestrator = OrchestratorWebhook {
        secrets,
        allow_unsigned,
        url: orch.url.filter(|u| !u.is_empty()),
    };

    // Each section is upgraded into the channel it always meant, then read like any channel.
    let upgraded = [
        ("slack", "slack", &slack, "slack"),
        ("google_chat", "google_hangouts", &hangouts, "google_chat"),
        ("chatwork", "chatwork", &chatwork, "chatwork"),
        ("backlog", "backlog", &backlog, "backlog"),
    ];
    let mut channels = BTreeMap::new();
    let mut states = BTreeMap::new();
    for (name, section_name, section, kind) in upgraded {
        let Some(value) = upgrade(kind, section) else {
            continue;
        };
        let path = format!("webhook.{section_name}");
        let before = p.0.len();
        let channel = Channel::parse(value, &path, p);
        for problem in &mut p.0[before..] {
            problem.path = problem
                .path
                .replace(".webhook_url", ".incomming_webhook_url");
        }
        if !section.available_state.is_empty() {
            states.insert(
                name.to_string(),
                parse_states(&section.available_state, section_name, p),
            );
        }
        if let Some(channel) = channel {
            channels.insert(name.to_string(), channel);
        }
    }
    for name in unknown {
        p.push(
            format!("webhook.{name}"),
            "unknown section (known: orchestrator, slack, google_hangouts, chatwork, backlog)",
        );
    }
    (orchestrator, channels, states)
}

/// The channel a section describes, in the channels' own shape; `None` for a section left empty.
fn upgrade(kind: &str, s: &Section) -> Option<Value> {
    let opt = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let channel = match kind {
        "slack" | "google_chat" if !s.incomming_webhook_url.is_empty() => {
            json!({ "type": kind, "webhook_url": s.incomming_webhook_url })
        }
        "chatwork" if !s.api_token.is_empty() || !s.room_id.is_empty() => {
            let mut c = json!({ "type": kind, "api_token": s.api_token, "room_id": s.room_id });
            if let Some(base) = opt(&s.api_base) {
                c["api_base"] = json!(base);
            }
            c
        }
        "backlog" if !s.api_key.is_empty() || !s.space_key.is_empty() => {
            let mut c = json!({
                "type": kind, "api_key": s.api_key, "space_key": s.space_key,
                "project_id": s.project_id, "issue_type_id": s.issue_type_id,
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

fn parse_states(list: &str, name: &str, p: &mut Problems) -> Vec<State> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let state = State::parse(s);
            if state.is_none() {
                p.push(
                    format!("webhook.{name}.available_state"),
                    format!("unknown state {s:?}"),
                );
            }
            state
        })
        .collect()
}
