//! From JSON to a validated [`Config`], collecting every problem on the way.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::{BacklogChannel, Channel, ChatBotChannel, Config, ConfigError, Language, Problem};
use crate::notify::chat_api::{CHAT_API, ServiceAccountKey};
use crate::notify::chat_bot::DEFAULT_CONCURRENCY;
use crate::route::Route;

/// Collects problems while building.
#[derive(Default)]
pub(super) struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Deserializes `value` as `T`; on failure records the failing field under `path`.
    pub fn parse<T: serde::de::DeserializeOwned>(&mut self, path: &str, value: Value) -> Option<T> {
        serde_path_to_error::deserialize(value)
            .map_err(|e| {
                let inner = e.path().to_string();
                let at = match inner.as_str() {
                    "." => path.to_string(),
                    i if i.starts_with('[') => format!("{path}{i}"),
                    i => format!("{path}.{i}"),
                };
                self.push(at, e.into_inner().to_string());
            })
            .ok()
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawChannel {
    Slack {
        webhook_url: String,
    },
    GoogleChat {
        webhook_url: String,
    },
    GoogleChatBot {
        /// The key file's JSON, usually a `secretsmanager:` reference.
        service_account_key: String,
        #[serde(default)]
        bot: Option<String>,
        #[serde(default)]
        api_base: Option<String>,
        #[serde(default)]
        concurrency: Option<usize>,
    },
    Chatwork {
        api_token: String,
        #[serde(deserialize_with = "de_id")]
        room_id: String,
        #[serde(default)]
        api_base: Option<String>,
    },
    Backlog {
        api_key: String,
        #[serde(default)]
        space_key: Option<String>,
        #[serde(default)]
        base_url: Option<String>,
        #[serde(deserialize_with = "de_id")]
        project_id: String,
        #[serde(deserialize_with = "de_id")]
        issue_type_id: String,
        #[serde(default, deserialize_with = "de_opt_id")]
        priority_id: Option<String>,
    },
    Console {},
    Oncall {},
}

/// Ids arrive as numbers or strings (the predecessor's files have both).
pub fn de_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, got {other}"
        ))),
    }
}

fn de_opt_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    de_id(d).map(Some)
}

pub(super) const CHATWORK_API: &str = "https://api.chatwork.com";
/// Backlog's normal priority; the predecessor hard-coded it.
pub(super) const BACKLOG_NORMAL_PRIORITY: &str = "3";

pub(super) fn build(mut value: Value) -> Result<Config, ConfigError> {
    let mut p = Problems::default();
    let Some(root) = value.as_object_mut() else {
        p.push("config", "must be a JSON object");
        return Err(ConfigError { problems: p.0 });
    };

    const KNOWN: [&str; 7] = [
        "language",
        "timezone",
        "webhook",
        "scheduled",
        "channels",
        "routes",
        "sources",
    ];
    for key in root.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        p.push(
            key.clone(),
            format!("unknown key (known: {})", KNOWN.join(", ")),
        );
    }
    let language = match root.get("language").and_then(Value::as_str).unwrap_or("en") {
        "en" | "" => Language::En,
        "ja" => Language::Ja,
        other => {
            p.push(
                "language",
                format!("unknown language {other:?} (use \"en\" or \"ja\")"),
            );
            Language::En
        }
    };
    let tz_name = root
        .get("timezone")
        .and_then(Value::as_str)
        .unwrap_or("UTC");
    let timezone = tz_name.parse().unwrap_or_else(|_| {
        p.push(
            "timezone",
            format!("unknown time zone {tz_name:?} (e.g. \"Asia/Tokyo\")"),
        );
        chrono_tz::UTC
    });

    let webhook = root.remove("webhook").unwrap_or(Value::Null);
    let (orchestrator, mut channels, legacy_routes) = super::legacy::read(webhook, &mut p);

    if let Some(raw) = root.remove("channels") {
        let raw: BTreeMap<String, Value> = p.parse("channels", raw).unwrap_or_default();
        for (name, v) in raw {
            let path = format!("channels.{name}");
            if channels.contains_key(&name) {
                p.push(
                    &path,
                    format!("channel {name:?} is also defined by the webhook section"),
                );
                continue;
            }
            if let Some(channel) = p
                .parse::<RawChannel>(&path, v)
                .and_then(|c| channel(c, &path, &mut p))
            {
                channels.insert(name, channel);
            }
        }
    }

    let mut routes: Vec<Route> = match root.remove("routes") {
        Some(raw) => p.parse("routes", raw).unwrap_or_default(),
        None => Vec::new(),
    };
    for (i, route) in routes.iter().enumerate() {
        let label = if route.name.is_empty() {
            format!("#{i}")
        } else {
            route.name.clone()
        };
        if route.channels.is_empty() {
            p.push(
                format!("routes[{i}].channels"),
                format!("route {label:?} names no channel"),
            );
        }
        for (j, c) in route.channels.iter().enumerate() {
            if !channels.contains_key(c) {
                let known = channels.keys().cloned().collect::<Vec<_>>().join(", ");
                p.push(
                    format!("routes[{i}].channels[{j}]"),
                    format!("route {label:?} names unknown channel {c:?} (known: {known})"),
                );
            }
        }
    }
    // A channel no route names gets its kind's default route (or the legacy `available_state`).
    for (name, channel) in &channels {
        if !routes.iter().any(|r| r.channels.contains(name)) {
            let states = legacy_routes
                .get(name)
                .cloned()
                .unwrap_or_else(|| channel.default_states());
            routes.push(Route::to(name, states));
        }
    }

    let scheduled = root.remove("scheduled").unwrap_or(Value::Null);
    let sources = root.remove("sources");
    for key in sources
        .as_ref()
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys())
    {
        if key != "orchestrator" && key != "kamonohashi" {
            p.push(
                format!("sources.{key}"),
                "unknown source kind (orchestrator, kamonohashi)",
            );
        }
    }
    let orchestrators = super::sources::read(sources.clone(), &scheduled, &mut p);
    let kamonohashi = super::kamonohashi::read(sources.as_ref(), &mut p);
    // The slackbot's SlackURI keeps working: a Slack channel for that source's events.
    for k in &kamonohashi {
        if let Some(uri) = &k.slack_uri {
            let name = format!("{}-slack", k.name);
            channels.insert(
                name.clone(),
                Channel::Slack {
                    webhook_url: uri.clone(),
                },
            );
            routes.push(Route {
                name: name.clone(),
                channels: vec![name],
                sources: vec![crate::event::Source::Kamonohashi],
                states: Vec::new(),
                processes: Vec::new(),
            });
        }
    }

    if !p.0.is_empty() {
        return Err(ConfigError { problems: p.0 });
    }
    Ok(Config {
        language,
        timezone,
        orchestrator,
        channels,
        routes,
        orchestrators,
        kamonohashi,
    })
}

fn channel(raw: RawChannel, path: &str, p: &mut Problems) -> Option<Channel> {
    let before = p.0.len();
    let channel = match raw {
        RawChannel::Slack { webhook_url } => Channel::Slack {
            webhook_url: url_secret(webhook_url, &format!("{path}.webhook_url"), p),
        },
        RawChannel::GoogleChat { webhook_url } => Channel::GoogleChat {
            webhook_url: url_secret(webhook_url, &format!("{path}.webhook_url"), p),
        },
        RawChannel::GoogleChatBot {
            service_account_key,
            bot,
            api_base,
            concurrency,
        } => {
            let key = ServiceAccountKey::parse(&service_account_key)
                .map_err(|m| p.push(format!("{path}.service_account_key"), m))
                .ok();
            if concurrency == Some(0) {
                p.push(format!("{path}.concurrency"), "must be at least 1");
            }
            let channel = key.map(|key| {
                Channel::GoogleChatBot(ChatBotChannel {
                    key,
                    bot: bot.unwrap_or_else(|| "opsbell".into()),
                    api_base: api_base.unwrap_or_else(|| CHAT_API.into()),
                    concurrency: concurrency.unwrap_or(DEFAULT_CONCURRENCY),
                })
            });
            return channel.filter(|_| p.0.len() == before);
        }
        RawChannel::Chatwork {
            api_token,
            room_id,
            api_base,
        } => Channel::Chatwork {
            api_token: required_secret(api_token, &format!("{path}.api_token"), p),
            room_id: required(room_id, &format!("{path}.room_id"), p),
            api_base: api_base.unwrap_or_else(|| CHATWORK_API.to_string()),
        },
        RawChannel::Backlog {
            api_key,
            space_key,
            base_url,
            project_id,
            issue_type_id,
            priority_id,
        } => {
            let base_url = match (base_url, space_key) {
                (Some(url), _) => url,
                (None, Some(space)) if !space.is_empty() => format!("https://{space}.backlog.jp"),
                _ => {
                    p.push(format!("{path}.space_key"), "set space_key (or base_url)");
                    String::new()
                }
            };
            Channel::Backlog(BacklogChannel {
                api_key: required_secret(api_key, &format!("{path}.api_key"), p),
                base_url,
                project_id: required(project_id, &format!("{path}.project_id"), p),
                issue_type_id: required(issue_type_id, &format!("{path}.issue_type_id"), p),
                priority_id: priority_id.unwrap_or_else(|| BACKLOG_NORMAL_PRIORITY.to_string()),
            })
        }
        RawChannel::Console {} => Channel::Console,
        RawChannel::Oncall {} => Channel::Oncall,
    };
    (p.0.len() == before).then_some(channel)
}

pub(super) fn required(value: String, path: &str, p: &mut Problems) -> String {
    if value.trim().is_empty() {
        p.push(path, "must not be empty");
    }
    value
}

pub(super) fn required_secret(value: String, path: &str, p: &mut Problems) -> SecretString {
    SecretString::from(required(value, path, p))
}

/// Webhook URLs are credentials: whoever has one can post. Never echo them in a problem.
pub(super) fn url_secret(value: String, path: &str, p: &mut Problems) -> SecretString {
    let secret = SecretString::from(value);
    let url = secret.expose_secret();
    if url.trim().is_empty() {
        p.push(path, "must not be empty");
    } else if !(url.starts_with("https://") || url.starts_with("http://")) {
        p.push(path, "must be an http(s) URL");
    }
    secret
}
