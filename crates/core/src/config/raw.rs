//! From JSON to a validated [`Config`], collecting every problem on the way.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Channel, Config, ConfigError, Language, Problems};
use crate::notify::slack::SlackConfig;
use crate::route::Route;

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
            if let Some(channel) = Channel::parse(v, &path, &mut p) {
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
            let webhook_url = uri.clone();
            channels.insert(name.clone(), Channel::Slack(SlackConfig { webhook_url }));
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
