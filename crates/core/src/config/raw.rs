//! From JSON to a validated [`Config`] in three steps (shape, upgrade, validation), collecting
//! every problem on the way.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::deploy::NamedFiles;
use super::flood::FloodPolicy;
use super::routing::{read_intervals, read_silences, recovery_routes};
use super::{Channel, Config, ConfigError, Language, Problems};
use crate::notify::slack::SlackConfig;
use crate::route::Route;

/// Step 1 of three: the file's shape. Every known key is kept as JSON and read at its own path
/// by its builder, so one wrong value never hides the others' problems; unknown keys are
/// collected (not refused one at a time, as `deny_unknown_fields` would) so each is reported.
#[derive(Deserialize, Default)]
pub(super) struct RawConfig {
    #[serde(default)]
    language: Option<Value>,
    #[serde(default)]
    timezone: Option<Value>,
    /// The predecessor's destinations and webhook secret (upgraded by `legacy`).
    #[serde(default)]
    webhook: Option<Value>,
    /// The predecessor's polling (upgraded by `sources`).
    #[serde(default)]
    scheduled: Option<Value>,
    #[serde(default)]
    channels: Option<Value>,
    #[serde(default)]
    routes: Option<Value>,
    #[serde(default)]
    time_intervals: Option<Value>,
    #[serde(default)]
    silences: Option<Value>,
    #[serde(default)]
    sources: Option<RawSources>,
    #[serde(default)]
    robots: Option<Value>,
    #[serde(default)]
    self_ping: Option<Value>,
    #[serde(default)]
    heartbeats: Option<Value>,
    #[serde(default)]
    queue_items: Option<Value>,
    #[serde(default)]
    access: Option<Value>,
    console: Option<Value>,
    #[serde(flatten)]
    unknown: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
struct RawSources {
    #[serde(default)]
    orchestrator: Option<Value>,
    #[serde(default)]
    kamonohashi: Option<Value>,
    #[serde(flatten)]
    unknown: BTreeMap<String, Value>,
}

#[rustfmt::skip]
const KNOWN: [&str; 15] = [
    "language", "timezone", "webhook", "scheduled", "channels", "routes", "time_intervals",
    "silences", "sources", "robots", "self_ping", "heartbeats", "queue_items", "access", "console",
];

/// Steps 2 and 3: upgrades the predecessors' shapes into the channels' and sources' own, then
/// validates it all, reporting every problem. Reads no file: the files the configuration names
/// come in `files`, read by the loader.
pub(super) fn build(value: Value, files: &NamedFiles) -> Result<Config, ConfigError> {
    let mut p = Problems::default();
    if !value.is_object() {
        p.push("config", "must be a JSON object");
        return Err(ConfigError { problems: p.0 });
    }
    let root: RawConfig = p.parse("config", value).unwrap_or_default();
    for key in root.unknown.keys() {
        p.push(
            key.clone(),
            format!("unknown key (known: {})", KNOWN.join(", ")),
        );
    }
    let text = |v: Option<Value>, path: &str, p: &mut Problems| -> Option<String> {
        p.parse::<Option<String>>(path, v.unwrap_or(Value::Null))
            .flatten()
    };
    let language = match text(root.language, "language", &mut p)
        .as_deref()
        .unwrap_or("en")
    {
        "en" | "" => Language::En,
        "ja" => Language::Ja,
        "ko" => Language::Ko,
        other => {
            p.push(
                "language",
                format!("unknown language {other:?} (use \"en\", \"ja\" or \"ko\")"),
            );
            Language::En
        }
    };
    let tz_name = text(root.timezone, "timezone", &mut p).filter(|z| !z.trim().is_empty());
    let timezone_is_default = tz_name.is_none();
    let timezone = match tz_name {
        None => crate::time::DEFAULT_TIMEZONE,
        Some(name) => name.trim().parse().unwrap_or_else(|_| {
            p.push(
                "timezone",
                format!("unknown time zone {name:?} (e.g. \"Asia/Tokyo\", \"UTC\")"),
            );
            crate::time::DEFAULT_TIMEZONE
        }),
    };

    let webhook = root.webhook.unwrap_or(Value::Null);
    let scheduled = root.scheduled.filter(|s| !s.is_null());
    let legacy = super::legacy::read(webhook, scheduled.as_ref(), &mut p);
    let orchestrator = legacy.orchestrator;
    let mut channels = legacy.channels;
    // Each channel's `flood` setting, read next to (not by) its adapter.
    let mut floods: BTreeMap<String, Value> = BTreeMap::new();
    // … and its `spacing` (a gap between posts that overrides the vendor's documented rate).
    let mut spacings: BTreeMap<String, Value> = BTreeMap::new();

    if let Some(raw) = root.channels {
        let raw: BTreeMap<String, Value> = p.parse("channels", raw).unwrap_or_default();
        for (name, mut v) in raw {
            let path = format!("channels.{name}");
            if let Some(flood) = v.as_object_mut().and_then(|m| m.remove("flood")) {
                floods.insert(name.clone(), flood);
            }
            if let Some(spacing) = v.as_object_mut().and_then(|m| m.remove("spacing")) {
                spacings.insert(name.clone(), spacing);
            }
            if channels.contains_key(&name) {
                p.push(
                    &path,
                    format!("channel {name:?} is also defined by the webhook section"),
                );
                continue;
            }
            if let Some(channel) = Channel::parse(v, &path, &mut p) {
                channels.insert(name, channel);
            }
        }
    }

    let mut routes: Vec<Route> = match root.routes {
        Some(raw) => p.parse("routes", raw).unwrap_or_default(),
        None => Vec::new(),
    };
    let time_intervals = read_intervals(root.time_intervals, timezone, &mut p);
    let silences = read_silences(root.silences, &mut p);
    let robot_grace = super::signals::read(root.robots, &mut p);
    let self_ping = super::signals::self_ping(root.self_ping, &mut p);
    let heartbeats = crate::heartbeat::read(root.heartbeats, timezone, &mut p);
    let queue_items = (root.queue_items).and_then(|raw| p.parse("queue_items", raw));
    let access = crate::access::Access::read(root.access, &mut p);
    let console = super::console::ConsoleSettings::read(root.console, &mut p);
    for (i, route) in routes.iter().enumerate() {
        let label = if route.name.is_empty() {
            format!("#{i}")
        } else {
            route.name.clone()
        };
        for (key, names) in [
            ("active_time_intervals", &route.active_time_intervals),
            ("mute_time_intervals", &route.mute_time_intervals),
        ] {
            for (j, name) in names.iter().enumerate() {
                if !time_intervals.contains_key(name) {
                    let known = time_intervals
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ");
                    p.push(
                        format!("routes[{i}].{key}[{j}]"),
                        format!(
                            "route {label:?} names unknown time interval {name:?} (known: {known})"
                        ),
                    );
                }
            }
        }
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
    // A channel no route names gets its kind's default route; the predecessor's sections get
    // theirs (their `available_state`, the path they hear).
    let named = |name: &String, routes: &[Route]| routes.iter().any(|r| r.channels.contains(name));
    let explicit = routes.clone();
    for (name, states, via) in legacy.routes {
        if named(&name, &explicit) {
            continue;
        }
        let Some(channel) = channels.get(&name) else {
            continue;
        };
        let mut route = Route::to(&name, states.unwrap_or_else(|| channel.default_states()));
        route.matchers.via.extend(via);
        routes.push(route);
    }
    for (name, channel) in &channels {
        if !named(name, &routes) {
            routes.push(Route::to(name, channel.default_states()));
        }
    }
    routes.extend(recovery_routes(&explicit, &channels));
    let mut flood = BTreeMap::new();
    for (name, channel) in &channels {
        let path = format!("channels.{name}");
        let policy = match floods.remove(name) {
            Some(v) => FloodPolicy::parse(v, &path, &mut p),
            None => channel.floods().then(FloodPolicy::default),
        };
        if let Some(policy) = policy {
            flood.insert(name.clone(), policy);
        }
    }
    let mut spacing = BTreeMap::new();
    for (name, channel) in &channels {
        let gap = match spacings.remove(name) {
            Some(Value::String(s)) => match crate::time::parse_span(&s) {
                Ok(gap) => Some(gap),
                Err(e) => {
                    p.push(format!("channels.{name}.spacing"), e);
                    None
                }
            },
            Some(_) => {
                p.push(
                    format!("channels.{name}.spacing"),
                    "a span such as \"1s\" or \"250ms\" (\"0s\": no pacing)",
                );
                None
            }
            None => channel.spacing(),
        };
        if let Some(gap) = gap.filter(|g| !g.is_zero()) {
            spacing.insert(name.clone(), gap);
        }
    }

    let sources = root.sources.unwrap_or_default();
    for key in sources.unknown.keys() {
        p.push(
            format!("sources.{key}"),
            "unknown source kind (orchestrator, kamonohashi)",
        );
    }
    let orchestrators = super::sources::read(
        sources.orchestrator,
        scheduled.as_ref(),
        &legacy.scheduled,
        &mut p,
    );
    let kamonohashi = super::kamonohashi::read(sources.kamonohashi, files, &mut p);
    // The slackbot's SlackURI keeps working: a Slack channel for that source's events.
    for k in &kamonohashi {
        if let Some(uri) = &k.slack_uri {
            let name = format!("{}-slack", k.name);
            let webhook_url = uri.clone();
            channels.insert(name.clone(), Channel::Slack(SlackConfig { webhook_url }));
            let mut route = Route::to(&name, Vec::new());
            route.name = name.clone();
            route.matchers.sources = vec![crate::event::Source::Kamonohashi];
            routes.push(route);
        }
    }

    if !p.0.is_empty() {
        return Err(ConfigError { problems: p.0 });
    }
    Ok(Config {
        language,
        timezone,
        timezone_is_default,
        orchestrator,
        channels,
        routes,
        time_intervals,
        silences,
        flood,
        spacing,
        orchestrators,
        kamonohashi,
        robot_grace,
        self_ping,
        heartbeats,
        queue_items,
        access,
        console,
    })
}
