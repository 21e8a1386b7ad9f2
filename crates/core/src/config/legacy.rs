//! The predecessor's `webhook` section (uipath-job-status-listener-on-aws, layout 2 and HEAD):
//! `webhook.orchestrator.secret`, `webhook.{slack,google_hangouts}.incomming_webhook_url` (sic),
//! `webhook.chatwork.{api_token, room_id}`, `webhook.backlog.{api_key, space_key, project_id,
//! issue_type_id, priority_id}`, per-target `available_state`. A section left empty is not a channel.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::raw::{BACKLOG_NORMAL_PRIORITY, CHATWORK_API, Problems, de_id, required, url_secret};
use super::{BacklogChannel, Channel, OrchestratorWebhook};
use crate::event::State;

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

    let mut channels = BTreeMap::new();
    let mut states = BTreeMap::new();
    let mut add = |name: &str, section: &Section, channel: Channel, p: &mut Problems| {
        if !section.available_state.is_empty() {
            let key = if name == "google_chat" {
                "google_hangouts"
            } else {
                name
            };
            states.insert(
                name.to_string(),
                parse_states(&section.available_state, key, p),
            );
        }
        channels.insert(name.to_string(), channel);
    };
    if !slack.incomming_webhook_url.is_empty() {
        let url = url_secret(
            slack.incomming_webhook_url.clone(),
            "webhook.slack.incomming_webhook_url",
            p,
        );
        add("slack", &slack, Channel::Slack { webhook_url: url }, p);
    }
    if !hangouts.incomming_webhook_url.is_empty() {
        let path = "webhook.google_hangouts.incomming_webhook_url";
        let url = url_secret(hangouts.incomming_webhook_url.clone(), path, p);
        add(
            "google_chat",
            &hangouts,
            Channel::GoogleChat { webhook_url: url },
            p,
        );
    }
    if !chatwork.api_token.is_empty() || !chatwork.room_id.is_empty() {
        let channel = Channel::Chatwork {
            api_token: SecretString::from(required(
                chatwork.api_token.clone(),
                "webhook.chatwork.api_token",
                p,
            )),
            room_id: required(chatwork.room_id.clone(), "webhook.chatwork.room_id", p),
            api_base: chatwork
                .api_base
                .clone()
                .unwrap_or_else(|| CHATWORK_API.to_string()),
        };
        add("chatwork", &chatwork, channel, p);
    }
    if !backlog.api_key.is_empty() || !backlog.space_key.is_empty() {
        let base_url = backlog.base_url.clone().unwrap_or_else(|| {
            format!(
                "https://{}.backlog.jp",
                required(backlog.space_key.clone(), "webhook.backlog.space_key", p)
            )
        });
        let priority = Some(backlog.priority_id.clone()).filter(|s| !s.is_empty());
        let channel = Channel::Backlog(BacklogChannel {
            api_key: SecretString::from(required(
                backlog.api_key.clone(),
                "webhook.backlog.api_key",
                p,
            )),
            base_url,
            project_id: required(backlog.project_id.clone(), "webhook.backlog.project_id", p),
            issue_type_id: required(
                backlog.issue_type_id.clone(),
                "webhook.backlog.issue_type_id",
                p,
            ),
            priority_id: priority.unwrap_or_else(|| BACKLOG_NORMAL_PRIORITY.to_string()),
        });
        add("backlog", &backlog, channel, p);
    }
    for name in unknown {
        p.push(
            format!("webhook.{name}"),
            "unknown section (known: orchestrator, slack, google_hangouts, chatwork, backlog)",
        );
    }
    (orchestrator, channels, states)
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
