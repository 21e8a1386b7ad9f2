//! Heartbeat checks for anything that runs on a schedule (a nightly batch on Windows Task
//! Scheduler, an ML pipeline, a clean-up job), read the way healthchecks.io reads them, so a
//! script switches by changing one URL: `/ping/<key>` is a success, `/ping/<key>/start` a
//! start, `/ping/<key>/fail` a failure and `/ping/<key>/<exit code>` either.
//! <https://healthchecks.io/docs/http_api/>
//!
//! A check expects a ping every `period`, or at each time of a `cron` in its time zone. After
//! the expected time it is **late** (an event); `grace` later it is **down** (an event); the
//! next success is **up** again (a recovery). A start with no end within the grace ran too
//! long (an event). A check that never pinged is **new** and says nothing; a **paused** one is
//! not judged. The decisions are pure ([`on_ping`], [`on_tick`]); `run.rs` stores them.

mod config;
mod run;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::event::{Event, Source, State};

pub use config::{MAX_BODY, read};
pub use run::Heartbeats;

/// One configured check (`heartbeats[]`).
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub name: String,
    /// The secret in the ping URL.
    pub key: SecretString,
    pub every: Every,
    pub grace: chrono::Duration,
    pub paused: bool,
    /// Times in its messages are shown in this zone (the cron's, else the configuration's).
    pub timezone: chrono_tz::Tz,
}

/// When a check expects its pings.
#[derive(Debug, Clone)]
pub enum Every {
    Period(chrono::Duration),
    Cron {
        cron: Box<croner::Cron>,
        text: String,
        timezone: chrono_tz::Tz,
    },
}

impl Every {
    /// The time a ping is expected after one at `last`.
    pub fn after(&self, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Every::Period(p) => last.checked_add_signed(*p),
            Every::Cron { cron, timezone, .. } => cron
                .find_next_occurrence(&last.with_timezone(timezone), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// As people wrote it: `every 1d`, `0 2 * * * Asia/Tokyo`.
    pub fn text(&self) -> String {
        match self {
            Every::Period(p) => format!("every {}", crate::time::span_text(*p)),
            Every::Cron { text, timezone, .. } => format!("{text} ({timezone})"),
        }
    }
}

impl Heartbeat {
    /// Whether `key` is this check's, compared in constant time.
    pub fn owns(&self, key: &str) -> bool {
        let mine = self.key.expose_secret().as_bytes();
        let theirs = key.as_bytes();
        mine.len() == theirs.len()
            && mine
                .iter()
                .zip(theirs)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// What a ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    Success,
    Start,
    Fail,
    /// An exit status: 0 is a success, any other a failure.
    Exit(u8),
}

impl Ping {
    /// The part of the path after the key: empty, `start`, `fail`, or an exit code 0–255.
    pub fn parse(action: &str) -> Option<Ping> {
        match action {
            "" => Some(Ping::Success),
            "start" => Some(Ping::Start),
            "fail" => Some(Ping::Fail),
            code => code.parse::<u8>().ok().map(Ping::Exit),
        }
    }
}

/// A check's state, as healthchecks.io names them (`paused` is configured, not stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    New,
    Up,
    Late,
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Up => "up",
            Status::Late => "late",
            Status::Down => "down",
        }
    }
}

/// What the check's row remembers (`HEARTBEAT#<name>` / `-`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub status: Status,
    /// The last success or failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ping: Option<DateTime<Utc>>,
    /// The last start not yet followed by an end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    /// The start already reported as running too long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_reported: Option<DateTime<Utc>>,
}

/// A ping's effect on the row, and the event it makes (a failure; the end of a late or down
/// spell). `body` is the ping's body (a script's log tail), already cut to [`MAX_BODY`].
pub fn on_ping(
    check: &Heartbeat,
    row: &Row,
    ping: Ping,
    body: &str,
    now: DateTime<Utc>,
) -> (Row, Option<Event>) {
    let failed = match ping {
        Ping::Start => {
            let next = Row {
                started: Some(now),
                ..row.clone()
            };
            return (next, None);
        }
        Ping::Success | Ping::Exit(0) => None,
        Ping::Fail => Some("failure".to_string()),
        Ping::Exit(code) => Some(format!("exit code {code}")),
    };
    let next = Row {
        status: if failed.is_some() {
            Status::Down
        } else {
            Status::Up
        },
        last_ping: Some(now),
        started: None,
        long_reported: None,
    };
    let event = match failed {
        Some(what) => {
            let mut e = event(check, State::Down, now, now, body);
            e.details.push(("Reported".into(), what));
            Some(e)
        }
        None if matches!(row.status, Status::Late | Status::Down) => {
            Some(event(check, State::Up, now, now, body))
        }
        None => None,
    };
    (next, event)
}

/// What the passing of time did to a check by `now`: late at the expected time, down a grace
/// later (late and down at once when both passed unseen), and a start not ended within the
/// grace ran too long. A new or paused check is not judged.
pub fn on_tick(check: &Heartbeat, row: &Row, now: DateTime<Utc>) -> (Row, Vec<Event>) {
    let mut next = row.clone();
    let mut events = Vec::new();
    let Some(last) = row.last_ping.filter(|_| !check.paused) else {
        return (next, events);
    };
    if let Some(started) = row.started
        && row.long_reported != Some(started)
        && now >= started + check.grace
    {
        next.long_reported = Some(started);
        let mut e = event(check, State::Late, started, now, "");
        e.key = crate::event::EventKey::new(
            Source::Heartbeat,
            "",
            &format!("{}:start-{}", check.name, started.timestamp_millis()),
            State::Late,
        );
        e.started_at = Some(started);
        e.details
            .push(("Running since".into(), shown(started, check)));
        events.push(e);
    }
    let Some(due) = check.every.after(last) else {
        return (next, events);
    };
    if row.status == Status::Up && now >= due {
        next.status = Status::Late;
        events.push(expected(
            event(check, State::Late, due, now, ""),
            due,
            check,
        ));
    }
    if matches!(next.status, Status::Late) && now >= due + check.grace {
        next.status = Status::Down;
        events.push(expected(
            event(check, State::Down, due, now, ""),
            due,
            check,
        ));
    }
    (next, events)
}

/// The event of `state` for `check` about the expected time (or ping) `at`, seen at `now`.
fn event(
    check: &Heartbeat,
    state: State,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    body: &str,
) -> Event {
    let subject = format!("{}:{}", check.name, at.timestamp_millis());
    let mut e = Event::new(Source::Heartbeat, "", &subject, state, &check.name, now);
    e.details = vec![
        ("Schedule".into(), check.every.text()),
        ("Grace".into(), crate::time::span_text(check.grace)),
    ];
    e.info = (!body.trim().is_empty()).then(|| body.to_string());
    e
}

fn expected(mut e: Event, due: DateTime<Utc>, check: &Heartbeat) -> Event {
    e.details.push(("Expected".into(), shown(due, check)));
    e
}

fn shown(at: DateTime<Utc>, check: &Heartbeat) -> String {
    let at = at.with_timezone(&check.timezone);
    at.format("%Y-%m-%d %H:%M:%S %Z").to_string()
}
