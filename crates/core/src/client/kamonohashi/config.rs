//! A KAMONOHASHI source as the client polls it: server, account, tenants, which transitions to
//! tell, and the watch hours. Read from `sources.kamonohashi[]` or the slackbot's own files by
//! [`crate::config`].

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Datelike, Timelike, Weekday};
use chrono_tz::Tz;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct KamonohashiSource {
    pub name: String,
    /// Web UI base (links: `{server}/#/training/{id}?tenantId={t}`); the API is under it.
    pub server: String,
    pub username: String,
    pub password: SecretString,
    /// Tenant ids to poll; empty = every tenant the account sees.
    pub tenants: Vec<i64>,
    /// Per tenant id: who to mention (Slack user ids like `U0123ABCD`, or names).
    pub mentions: BTreeMap<i64, Vec<String>>,
    /// A job is notified when its status moves from one of `from`…
    pub from: Vec<String>,
    /// …to one of `notify`.
    pub notify: Vec<String>,
    pub watch: Watch,
    pub interval: Duration,
    /// The slackbot's `SlackURI`, if loaded from its files: becomes a channel for this source.
    pub slack_uri: Option<SecretString>,
    /// The slackbot's `message.json` phrases by status (`Completed`, `Killed`, `UserCanceled`,
    /// `Unknown` for any other): when set, a notice's title is the slackbot's sentence with one
    /// phrase picked at random, as it did. Empty: opsbell's own titles.
    pub phrases: BTreeMap<String, Vec<String>>,
    /// The slackbot's Enter/Leave notices (`enter_leave`, off by default).
    pub enter_leave: bool,
    /// How long a job may stay Pending or Running before it is announced stuck (`long`).
    pub long: LongLimits,
}

/// How long a job may stay in a status, per status and tenant; `None`: no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LongLimits {
    pub pending: Option<Duration>,
    pub running: Option<Duration>,
    /// Per tenant id: its own (pending, running) limits.
    pub tenants: BTreeMap<i64, (Option<Duration>, Option<Duration>)>,
}

impl LongLimits {
    /// The limit of `status` in `tenant`, if any.
    pub fn of(&self, tenant: i64, status: &str) -> Option<Duration> {
        let (pending, running) = (self.tenants.get(&tenant))
            .copied()
            .unwrap_or((self.pending, self.running));
        match status {
            "Pending" => pending,
            "Running" => running,
            _ => None,
        }
    }
}

impl KamonohashiSource {
    /// One phrase, picked at random as the slackbot did, from the first of `keys` the message
    /// file has (`["Completed", "Unknown"]`, `["System.Leave.Friday", "System.Leave"]`).
    pub fn phrase(&self, keys: &[&str]) -> Option<&str> {
        let list = keys
            .iter()
            .find_map(|k| self.phrases.get(*k).filter(|l| !l.is_empty()))?;
        list.get(fastrand::usize(..list.len())).map(String::as_str)
    }
}

/// The weekdays as the slackbot's files name them, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// When to watch, per weekday, in the configured time zone. Outside it the source is not polled;
/// the last statuses stay stored, so a job that ended overnight is notified at the next watch start.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    pub default: WatchDay,
    /// Monday = 0.
    pub days: [Option<WatchOverride>; 7],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchDay {
    pub active: bool,
    /// First hour watched (0–23).
    pub enter: u32,
    /// Last hour watched: the `Leave` hour itself is still watched, as in the slackbot.
    pub leave: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WatchOverride {
    #[serde(default, alias = "active")]
    pub active: Option<bool>,
    #[serde(default, alias = "enter")]
    pub enter: Option<u32>,
    #[serde(default, alias = "leave")]
    pub leave: Option<u32>,
    #[serde(default, alias = "tenant")]
    pub tenant: Option<Vec<i64>>,
}

impl Watch {
    pub fn always() -> Watch {
        Watch {
            default: WatchDay {
                active: true,
                enter: 0,
                leave: 23,
            },
            days: Default::default(),
        }
    }

    /// Whether `t` falls in watched hours. Weekday overrides apply to their day only.
    pub fn watching(&self, t: chrono::DateTime<chrono::Utc>, tz: Tz) -> bool {
        let local = t.with_timezone(&tz);
        let day = self.day(local.weekday());
        day.active && local.hour() >= day.enter && local.hour() <= day.leave
    }

    /// The tenants watched at `t`: that weekday's `Tenant` override, if it has one.
    pub fn tenants(&self, t: chrono::DateTime<chrono::Utc>, tz: Tz) -> Option<&[i64]> {
        let weekday = t.with_timezone(&tz).weekday();
        let day = self.days[weekday.num_days_from_monday() as usize].as_ref()?;
        day.tenant.as_deref()
    }

    pub fn day(&self, weekday: Weekday) -> WatchDay {
        let d = self.default;
        match &self.days[weekday.num_days_from_monday() as usize] {
            None => d,
            Some(o) => WatchDay {
                active: o.active.unwrap_or(d.active),
                enter: o.enter.unwrap_or(d.enter),
                leave: o.leave.unwrap_or(d.leave),
            },
        }
    }
}
