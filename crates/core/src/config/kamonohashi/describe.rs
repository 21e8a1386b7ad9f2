//! `opsbell check` on the kamonohashi-slackbot's own files: what each setting becomes.

use serde_json::Value;

use super::{BotConfig, BotMessages, BotSecure};

/// What one of the kamonohashi-slackbot's own files (`config.json`, `secure.json`,
/// `message.json`) becomes in opsbell, for `opsbell check`: `None` when `value` is none of them.
/// Each line is a fact or, starting with `warning:`, a setting that will not carry over.
pub fn describe_slackbot_file(file: &str, value: &Value) -> Option<Result<Vec<String>, String>> {
    let object = value.as_object()?;
    let mut lines = Vec::new();
    if object.contains_key("KAMONOHASHI") {
        let secure: BotSecure = match serde_json::from_value(value.clone()) {
            Ok(s) => s,
            Err(e) => return Some(Err(format!("{file}: {e}"))),
        };
        let server = secure.kamonohashi.server;
        lines.push(format!(
            "server {server} as {} (sources.kamonohashi[].secure_file = \"{file}\")",
            secure.kamonohashi.application.username
        ));
        if secure.slack_uri.is_some_and(|u| !u.is_empty()) {
            lines.push("SlackURI: a Slack channel <source>-slack that hears this source".into());
        }
        return Some(Ok(lines));
    }
    if object.contains_key("Message") {
        let messages: BotMessages = match serde_json::from_value(value.clone()) {
            Ok(m) => m,
            Err(e) => return Some(Err(format!("{file}: {e}"))),
        };
        for (key, phrases) in &messages.message {
            let n = phrases.len();
            lines.push(match key.as_str() {
                "Completed" | "Killed" | "UserCanceled" | "Unknown" => {
                    format!("{key}: {n} phrase(s), one picked per notice as its title (message_file)")
                }
                "System.Enter" | "System.Leave" | "System.Leave.Silent" => format!(
                    "{key}: {n} phrase(s) for the Enter/Leave notices (\"enter_leave\": true)"
                ),
                k if k.starts_with("System.Leave.") => format!(
                    "{key}: {n} phrase(s) for that weekday's Leave notice (\"enter_leave\": true)"
                ),
                other => format!(
                    "warning: {other}: {n} phrase(s) not used (opsbell sends no running-jobs summary)"
                ),
            });
        }
        return Some(Ok(lines));
    }
    if object.contains_key("Watch") || object.contains_key("Polling") {
        let bot: BotConfig = match serde_json::from_value(value.clone()) {
            Ok(b) => b,
            Err(e) => return Some(Err(format!("{file}: {e}"))),
        };
        for (day, o) in &bot.watch {
            let mut parts = Vec::new();
            if let Some(a) = o.active {
                parts.push(if a {
                    "watched".to_string()
                } else {
                    "not watched".into()
                });
            }
            if let (Some(e), Some(l)) = (o.enter, o.leave) {
                parts.push(format!("{e}:00–{l}:59"));
            } else {
                parts.extend(o.enter.map(|e| format!("from {e}:00")));
                parts.extend(o.leave.map(|l| format!("until {l}:59")));
            }
            if let Some(t) = &o.tenant {
                parts.push(format!("tenants {t:?} only"));
            }
            lines.push(format!("watch {day}: {}", parts.join(", ")));
        }
        for (tenant, t) in &bot.tenant {
            for name in &t.by_name {
                let real = crate::render::slack_id(name, &['U', 'W']);
                lines.push(match real {
                    true => format!("tenant {tenant}: mentions <@{name}>"),
                    false => format!(
                        "warning: tenant {tenant}: {name:?} is not a Slack member id (U…), so it is shown as @{name} and notifies nobody"
                    ),
                });
            }
        }
        if let Some(s) = bot.polling {
            lines.push(format!("polled every {} s", s.max(10)));
        }
        lines.push(format!(
            "use it as sources.kamonohashi[].config_file = \"{file}\""
        ));
        return Some(Ok(lines));
    }
    None
}
