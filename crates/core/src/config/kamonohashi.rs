//! KAMONOHASHI sources: `sources.kamonohashi[]`, or the kamonohashi-slackbot's own files
//! (`config_file`: `Watch`, `Tenant`, `Polling`; `secure_file`: `KAMONOHASHI.Server`,
//! `KAMONOHASHI.Application.{Username,Password}`, `SlackURI`; `message_file`: its
//! `Message.<status>` phrases), loaded as they are.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::deploy::NamedFiles;
use crate::client::kamonohashi::config::{KamonohashiSource, Watch, WatchDay, WatchOverride};
use crate::problem::Problems;

mod describe;
mod long;
pub use describe::describe_slackbot_file;

use crate::client::kamonohashi::config::WEEKDAYS;
const DEFAULT_FROM: [&str; 2] = ["Pending", "Running"];
const DEFAULT_NOTIFY: [&str; 5] = ["Completed", "Killed", "UserCanceled", "Failed", "Error"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    tenants: Vec<i64>,
    #[serde(default)]
    mentions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    from: Option<Vec<String>>,
    #[serde(default)]
    notify: Option<Vec<String>>,
    /// `{"Default": {...}, "Saturday": {...}}`, the slackbot's `Watch` shape.
    #[serde(default)]
    watch: Option<BTreeMap<String, WatchOverride>>,
    #[serde(default)]
    interval_seconds: Option<u64>,
    #[serde(default)]
    config_file: Option<String>,
    #[serde(default)]
    secure_file: Option<String>,
    /// The slackbot's `config/message.json`: `{"Message": {"Completed": [...], ...}}`.
    #[serde(default)]
    message_file: Option<String>,
    /// The slackbot's Enter/Leave notices at the start and end of each day's watch.
    #[serde(default)]
    enter_leave: bool,
    /// `{"pending": "6h", "running": "off", "tenants": {"3": {"running": "12h"}}}`.
    #[serde(default)]
    long: Option<long::RawLong>,
}

/// The slackbot's `config/message.json`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct BotMessages {
    message: BTreeMap<String, Vec<String>>,
}

/// The slackbot's `config/config.json`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct BotConfig {
    watch: BTreeMap<String, WatchOverride>,
    tenant: BTreeMap<String, BotTenant>,
    polling: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct BotTenant {
    by_name: Vec<String>,
}

/// The slackbot's `config/secure.json`.
#[derive(Deserialize)]
struct BotSecure {
    #[serde(rename = "KAMONOHASHI")]
    kamonohashi: BotServer,
    #[serde(rename = "SlackURI", default)]
    slack_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BotServer {
    server: String,
    application: BotAccount,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BotAccount {
    username: String,
    password: String,
}

/// A file the loader read, as `T`.
fn read_json<T: serde::de::DeserializeOwned>(
    files: &NamedFiles,
    file: &str,
    path: &str,
    p: &mut Problems,
) -> Option<T> {
    let read = files
        .get(file)
        .cloned()
        .unwrap_or_else(|| Err("not read".into()));
    let text = read
        .map_err(|e| p.push(path, format!("{file}: {e}")))
        .ok()?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| p.push(path, format!("{file}: {e}")))
        .ok()?;
    p.parse(&format!("{path}({file})"), value)
}

pub(super) fn read(
    list: Option<Value>,
    files: &NamedFiles,
    p: &mut Problems,
) -> Vec<KamonohashiSource> {
    let Some(list) = list else {
        return Vec::new();
    };
    let raw: Vec<RawSource> = p.parse("sources.kamonohashi", list).unwrap_or_default();
    raw.into_iter()
        .enumerate()
        .filter_map(|(i, r)| source(r, files, &format!("sources.kamonohashi[{i}]"), p))
        .collect()
}

fn source(
    mut r: RawSource,
    files: &NamedFiles,
    path: &str,
    p: &mut Problems,
) -> Option<KamonohashiSource> {
    let mut slack_uri = None;
    if let Some(file) = r.config_file.take() {
        let bot: BotConfig = read_json(files, &file, &format!("{path}.config_file"), p)?;
        r.watch = r.watch.or(Some(bot.watch));
        r.interval_seconds = r.interval_seconds.or(bot.polling);
        for (tenant, t) in bot.tenant {
            r.mentions.entry(tenant).or_insert(t.by_name);
        }
    }
    if let Some(file) = r.secure_file.take() {
        let secure: BotSecure = read_json(files, &file, &format!("{path}.secure_file"), p)?;
        r.server = r.server.or(Some(secure.kamonohashi.server));
        r.username = r.username.or(Some(secure.kamonohashi.application.username));
        r.password = r.password.or(Some(secure.kamonohashi.application.password));
        slack_uri = secure.slack_uri.filter(|u| !u.is_empty()).map(|u| {
            p.url(&u, &format!("{path}.secure_file SlackURI"));
            secrecy::SecretString::from(u)
        });
    }
    let mut phrases = BTreeMap::new();
    if let Some(file) = r.message_file.take() {
        let path = format!("{path}.message_file");
        let bot: BotMessages = read_json(files, &file, &path, p)?;
        phrases = bot.message;
        phrases.retain(|_, v| !v.is_empty());
        if !phrases.contains_key("Unknown") && !phrases.is_empty() {
            p.push(path, format!("{file}: Message has no \"Unknown\" phrases, which a status without its own list uses"));
        }
    }
    let server = r.server.unwrap_or_default();
    // The slackbot's documented Server value is the UI route base `http://host/#/`.
    let server = server
        .split("/#")
        .next()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    p.url(&server, &format!("{path}.server"));
    let (username, password) = (
        r.username.unwrap_or_default(),
        r.password.unwrap_or_default(),
    );
    if username.is_empty() || password.is_empty() {
        p.push(
            format!("{path}.username"),
            "username and password are required",
        );
    }
    let mut watch = Watch::always();
    let mut tenants = r.tenants;
    for (day, o) in r.watch.unwrap_or_default() {
        if day.eq_ignore_ascii_case("default") {
            let d = watch.default;
            watch.default = WatchDay {
                active: o.active.unwrap_or(d.active),
                enter: o.enter.unwrap_or(d.enter),
                leave: o.leave.unwrap_or(d.leave),
            };
            if tenants.is_empty() {
                tenants = o.tenant.unwrap_or_default();
            }
        } else if let Some(i) = WEEKDAYS.iter().position(|w| w.eq_ignore_ascii_case(&day)) {
            watch.days[i] = Some(o);
        } else {
            p.push(
                format!("{path}.watch.{day}"),
                "unknown day (Default, Monday … Sunday)",
            );
        }
    }
    let mentions = r
        .mentions
        .into_iter()
        .filter_map(|(t, names)| match t.parse() {
            Ok(id) => Some((id, names)),
            Err(_) => {
                p.push(format!("{path}.mentions.{t}"), "tenant ids are numbers");
                None
            }
        })
        .collect();
    let list = |v: Option<Vec<String>>, d: &[&str]| {
        v.unwrap_or_else(|| d.iter().map(|s| s.to_string()).collect())
    };
    Some(KamonohashiSource {
        name: r.name,
        server,
        username,
        password: password.into(),
        tenants,
        mentions,
        from: list(r.from, &DEFAULT_FROM),
        notify: list(r.notify, &DEFAULT_NOTIFY),
        watch,
        interval: Duration::from_secs(r.interval_seconds.unwrap_or(60).max(10)),
        slack_uri,
        phrases,
        enter_leave: r.enter_leave,
        long: long::read(r.long, path, p),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn weekday_overrides_apply_to_their_day_only() {
        let mut watch = Watch {
            default: WatchDay {
                active: true,
                enter: 9,
                leave: 18,
            },
            days: Default::default(),
        };
        watch.days[5] = Some(WatchOverride {
            active: Some(false),
            ..Default::default()
        });
        watch.days[4] = Some(WatchOverride {
            leave: Some(15),
            ..Default::default()
        });
        let tz = chrono_tz::Asia::Tokyo;
        let at = |d, h| tz.with_ymd_and_hms(2026, 11, d, h, 30, 0).unwrap().to_utc();
        // 2026-11-20 is a Friday.
        assert!(watch.watching(at(20, 15), tz));
        assert!(!watch.watching(at(20, 16), tz), "Friday leaves at 15");
        assert!(!watch.watching(at(21, 12), tz), "Saturday is off");
        assert!(
            watch.watching(at(23, 18), tz),
            "Monday: the Leave hour is still watched"
        );
        assert!(!watch.watching(at(23, 19), tz));
        assert!(!watch.watching(at(23, 8), tz));
    }
}
