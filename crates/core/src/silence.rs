//! Silences as people write them, from chat (`silence process=Invoice* folder=12 for 2h "deploying"`,
//! `silences`, `unsilence 3fa91c`) and from the CLI (`opsbell silence add|list|expire`): one
//! parser and one set of operations for both. A silence holds back every event its matchers
//! take (the route matchers, plus `channel=` to silence some channels only) from its start to
//! its end. A held-back delivery is recorded as withheld with the silence's id and is not sent
//! when the silence ends, as in Alertmanager; an ended silence is kept 7 days for `silences`.

use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{Key, list, load, save};

use crate::event::Event;
use crate::event::State;
use crate::ports::{Records, StoreError};
use crate::route::Matchers;

const SILENCES: &str = "SILENCE#ALL";
/// How long an ended silence is kept, so `silences` can still show it.
pub const SILENCE_KEPT: Duration = Duration::days(7);

/// `SILENCE#ALL` / `<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Matchers,
    /// Only these channels are silenced; empty = every channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
}

impl Silence {
    fn key(id: &str) -> Key {
        Key::new(SILENCES, id)
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether this silence holds `event` back from `channel` at `now`.
    pub fn covers(&self, event: &Event, channel: &str, now: DateTime<Utc>) -> bool {
        self.is_active(now)
            && (self.channels.is_empty() || self.channels.iter().any(|c| c == channel))
            && self.matchers.matches(event)
    }

    pub async fn save(&self, records: &dyn Records) -> Result<(), StoreError> {
        let expires = self.ends_at + SILENCE_KEPT;
        save(records, &Self::key(&self.id), self, Some(expires)).await
    }

    pub async fn load(records: &dyn Records, id: &str) -> Result<Option<Silence>, StoreError> {
        load(records, &Self::key(id)).await
    }

    /// Every silence not yet forgotten (active, future, and ended within [`SILENCE_KEPT`]),
    /// the latest ending first.
    pub async fn all(
        records: &dyn Records,
        now: DateTime<Utc>,
    ) -> Result<Vec<Silence>, StoreError> {
        let mut all: Vec<Silence> = list(records, SILENCES)
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s: &Silence| s.ends_at + SILENCE_KEPT > now)
            .collect();
        all.sort_by(|a, b| b.ends_at.cmp(&a.ends_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }
}

/// What a new silence should hold back, and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub matchers: Matchers,
    pub channels: Vec<String>,
    pub length: Duration,
    pub comment: String,
}

const KEYS: &str = "source, state, severity, process, folder, tenant, alarm, via, channel";

/// Splits `text` into words; double quotes keep spaces (`alarm="Disk full*"`, `"a comment"`).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut started) = (false, false);
    for c in text.chars() {
        match c {
            '"' | '“' | '”' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

fn values<T: DeserializeOwned>(key: &str, text: &str) -> Result<Vec<T>, String> {
    text.split(',')
        .filter(|v| !v.is_empty())
        .map(|v| {
            serde_json::from_value(Value::String(v.to_ascii_lowercase()))
                .map_err(|_| format!("{key}={v}: not a known {key}"))
        })
        .collect()
}

fn names(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
}

/// `key=value[,value…]` words into matchers and channels.
pub fn matchers(words: &[String]) -> Result<(Matchers, Vec<String>), String> {
    let mut m = Matchers::default();
    let mut channels = Vec::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!("{word:?} is not key=value (keys: {KEYS})"));
        };
        match key.to_ascii_lowercase().as_str() {
            "source" | "sources" => m
                .sources
                .extend(values::<crate::event::Source>(key, value)?),
            "state" | "states" => {
                for v in value.split(',').filter(|v| !v.is_empty()) {
                    m.states.push(
                        State::parse(v).ok_or_else(|| format!("state={v}: not a known state"))?,
                    );
                }
            }
            "severity" => m
                .severity
                .extend(values::<crate::event::Severity>(key, value)?),
            "process" | "processes" => m.processes.extend(names(value)),
            "folder" | "folders" => m.folders.extend(names(value)),
            "tenant" | "tenants" => m.tenants.extend(names(value)),
            "alarm" | "alarms" | "alarm_name" | "alarm_names" => m.alarm_names.extend(names(value)),
            "via" => m.via.extend(values::<crate::event::Via>(key, value)?),
            "channel" | "channels" => channels.extend(names(value)),
            _ => return Err(format!("unknown matcher {key:?} (keys: {KEYS})")),
        }
    }
    // A name of only `*` matches everything: it does not narrow a silence.
    let narrows = |names: &[String]| names.iter().any(|n| n.chars().any(|c| c != '*'));
    let kept = |names: &Vec<String>| match narrows(names) {
        true => names.clone(),
        false => Vec::new(),
    };
    let narrowed = Matchers {
        processes: kept(&m.processes),
        folders: kept(&m.folders),
        tenants: kept(&m.tenants),
        alarm_names: kept(&m.alarm_names),
        ..m.clone()
    };
    if narrowed == Matchers::default() && !narrows(&channels) {
        return Err(format!(
            "a silence needs at least one matcher, such as process=Invoice* (keys: {KEYS})"
        ));
    }
    Ok((m, channels))
}

/// The longest silence unless configured (`SILENCE_MAX`): a forgotten silence must not hide
/// a failing process for ever.
pub const MAX_LENGTH_DAYS: i64 = 30;

/// The longest silence a person may ask for: `SILENCE_MAX` (`90d`, `12h`) from `env`, else
/// [`MAX_LENGTH_DAYS`]. Read by the chat listener and `opsbell silence add` alike.
pub fn max_length(env: &[(String, String)]) -> Result<Duration, String> {
    let Some((_, text)) = env.iter().find(|(k, _)| k == "SILENCE_MAX") else {
        return Ok(Duration::days(MAX_LENGTH_DAYS));
    };
    let most = crate::time::parse_span(text)
        .ok()
        .and_then(|span| Duration::from_std(span).ok())
        .filter(|most| *most > Duration::zero() && *most <= Duration::days(3650));
    most.ok_or_else(|| format!("SILENCE_MAX={text:?} is not a length from 1m to 3650d (90d, 12h)"))
}

/// How long: `2h`, `30m`, `1d`, at most `most` (see [`max_length`]).
pub fn length(text: &str, most: Duration) -> Result<Duration, String> {
    let span = crate::time::parse_span(text)?;
    match Duration::from_std(span) {
        Ok(length) if length <= most => Ok(length),
        _ => Err(format!(
            "{text} is longer than a silence may be ({})",
            crate::time::span_text(most)
        )),
    }
}

/// The chat form: `<matchers> for <length> ["comment"]`, at most `most` long.
pub fn parse(text: &str, most: Duration) -> Result<Request, String> {
    let words = words(text);
    let Some(at) = words.iter().position(|w| w.eq_ignore_ascii_case("for")) else {
        return Err("say how long: silence <matchers> for 2h \"comment\"".into());
    };
    let (matchers, channels) = matchers(&words[..at])?;
    let span = words
        .get(at + 1)
        .ok_or("say how long after `for` (2h, 30m, 1d)")?;
    Ok(Request {
        matchers,
        channels,
        length: length(span, most)?,
        comment: words[at + 2..].join(" "),
    })
}

/// Stores a new silence from `now` for `request.length`.
pub async fn add(
    records: &dyn Records,
    request: Request,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Silence, StoreError> {
    let silence = Silence {
        id: format!("{:06x}", fastrand::u32(..0x100_0000)),
        matchers: request.matchers,
        channels: request.channels,
        starts_at: now,
        ends_at: now
            .checked_add_signed(request.length)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
        created_by: by.to_string(),
        comment: request.comment,
    };
    silence.save(records).await?;
    Ok(silence)
}

/// Ends silence `id` now (kept 7 days for `silences`); `None` when there is no such active one.
pub async fn expire(
    records: &dyn Records,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Silence>, StoreError> {
    let Some(mut silence) = Silence::load(records, id.trim()).await? else {
        return Ok(None);
    };
    if silence.ends_at <= now {
        return Ok(None);
    }
    silence.ends_at = now.max(silence.starts_at);
    silence.save(records).await?;
    Ok(Some(silence))
}

/// The silence at `now` that holds `event` back from `channel`, if any.
pub fn holding<'a>(
    silences: &'a [Silence],
    event: &crate::event::Event,
    channel: &str,
    now: DateTime<Utc>,
) -> Option<&'a Silence> {
    silences.iter().find(|s| s.covers(event, channel, now))
}

/// What a silence holds back: `process=Invoice* channel=ops-slack`.
pub fn what(s: &Silence) -> String {
    match s.channels.is_empty() {
        true => s.matchers.describe(),
        false => format!("{} channel={}", s.matchers.describe(), s.channels.join(",")),
    }
}

/// One line per silence: `3fa91c active until 2026-12-01 14:00 UTC: process=Invoice* (by Ana: deploying)`.
pub fn line(s: &Silence, now: DateTime<Utc>) -> String {
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let state = match (s.is_active(now), s.ends_at <= now) {
        (true, _) => format!("active until {}", at(s.ends_at)),
        (false, true) => format!("ended {}", at(s.ends_at)),
        (false, false) => format!("from {} until {}", at(s.starts_at), at(s.ends_at)),
    };
    let what = what(s);
    let why = match s.comment.is_empty() {
        true => format!("by {}", s.created_by),
        false => format!("by {}: {}", s.created_by, s.comment),
    };
    format!("{} {state}: {what} ({why})", s.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Request, String> {
        super::parse(text, max_length(&[]).unwrap())
    }

    #[test]
    fn the_maximum_is_a_setting_and_a_bad_one_says_why() {
        let env = |v: &str| vec![("SILENCE_MAX".to_string(), v.to_string())];
        assert_eq!(max_length(&env("90d")).unwrap(), Duration::days(90));
        assert_eq!(max_length(&env("12h")).unwrap(), Duration::hours(12));
        let most = max_length(&env("90d")).unwrap();
        assert_eq!(
            super::parse("process=x for 60d", most).unwrap().length,
            Duration::days(60)
        );
        let short = max_length(&env("12h")).unwrap();
        let e = super::parse("process=x for 1d", short).unwrap_err();
        assert!(e.contains("longer than a silence may be (12h)"), "{e}");
        for bad in ["soon", "0s", "100000d"] {
            let e = max_length(&env(bad)).unwrap_err();
            assert!(e.starts_with("SILENCE_MAX="), "{bad}: {e}");
        }
    }

    #[test]
    fn a_silence_longer_than_the_maximum_is_refused_and_never_panics() {
        for text in [
            "process=x for 100000000d",
            "process=x for 31d",
            "process=x for 9999999999999h",
        ] {
            let e = parse(text).unwrap_err();
            assert!(
                e.contains("longer than a silence may be (30d)"),
                "{text}: {e}"
            );
        }
        assert_eq!(
            parse("process=x for 30d").unwrap().length,
            Duration::days(30)
        );
    }

    #[test]
    fn a_wildcard_alone_is_not_a_matcher() {
        for text in [
            "process=* for 1h",
            "process=**,* for 1h",
            "channel=* for 1h",
            "tenant=* folder=* for 1h",
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains("needs at least one matcher"), "{text}: {e}");
        }
        assert!(parse("process=Invoice* for 1h").is_ok());
        assert!(parse("process=* channel=ops for 1h").is_ok());
    }

    #[test]
    fn the_chat_form_reads_matchers_a_length_and_a_comment() {
        let r = parse(r#"process=Invoice*,Billing folder=12 alarm="Disk full*" state=Faulted for 2h "deploying the new robot""#).unwrap();
        assert_eq!(r.matchers.processes, ["Invoice*", "Billing"]);
        assert_eq!(r.matchers.folders, ["12"]);
        assert_eq!(r.matchers.alarm_names, ["Disk full*"]);
        assert_eq!(r.matchers.states, [State::Faulted]);
        assert_eq!(r.length, Duration::hours(2));
        assert_eq!(r.comment, "deploying the new robot");
        let r = parse("channel=ops-slack severity=critical for 30m").unwrap();
        assert_eq!(
            (r.channels.as_slice(), r.comment.as_str()),
            (["ops-slack".to_string()].as_slice(), "")
        );
    }

    #[test]
    fn a_bad_silence_says_why() {
        assert!(parse("process=X").unwrap_err().contains("how long"));
        assert!(
            parse("for 2h")
                .unwrap_err()
                .contains("at least one matcher")
        );
        assert!(
            parse("color=red for 2h")
                .unwrap_err()
                .contains("unknown matcher \"color\"")
        );
        assert!(
            parse("state=exploded for 2h")
                .unwrap_err()
                .contains("state=exploded")
        );
        assert!(
            parse("process=X for soon")
                .unwrap_err()
                .contains("\"soon\"")
        );
        assert!(parse("process for 2h").unwrap_err().contains("key=value"));
    }
}
