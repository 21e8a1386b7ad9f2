//! The event history the console reads: one row per event under the UTC day it happened, with
//! what became of it at each channel. Written after every delivery of the event (a later copy
//! or retry merges its outcomes in), kept as long as the delivery log.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{DELIVERY_TTL_DAYS, Key, Problem, swap, update};
use crate::event::Event;
use crate::ports::{Records, StoreError};

const PREFIX: &str = "HISTORY#";
/// How old an event's own time may be and still place its row.
const RECENT_DAYS: i64 = 2;

/// What a channel's delivery of an event became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    Delivered,
    /// Not sent on purpose (a mute interval, a silence), with the reason.
    Withheld,
    /// Held by flood control for a digest.
    Digest,
    /// Failed; the event comes back (a retry, the DLQ and a redrive).
    Retrying,
    /// Refused by the vendor; not retried until the channel is fixed and the event redriven.
    Failed,
    /// The place is gone (a Chat space the bot left) and was forgotten.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Told {
    pub fate: Fate,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// `HISTORY#<yyyy-mm-dd>` / `<occurred at>#<event key>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub event: Event,
    /// By channel; empty when the event was routed nowhere.
    #[serde(default)]
    pub channels: BTreeMap<String, Told>,
}

impl History {
    pub fn partition(day: NaiveDate) -> String {
        format!("{PREFIX}{day}")
    }

    /// The row's sort key, which also names it in the console's links: the event's own time
    /// when it is recent, so every copy of it (a webhook and a poll, a retry) lands on one row;
    /// else when it was handled (a sample from 2018, a clock far off, a redrive days later),
    /// so it sorts among what opsbell did that day.
    pub fn id(event: &Event, now: DateTime<Utc>) -> String {
        Self::id_at(event, Self::placed(event, now))
    }

    /// The time that places `event`'s row (see [`History::id`]).
    fn placed(event: &Event, now: DateTime<Utc>) -> DateTime<Utc> {
        let recent = now - Duration::days(RECENT_DAYS)..=now + Duration::minutes(5);
        match recent.contains(&event.occurred_at) {
            true => event.occurred_at,
            false => now,
        }
    }

    fn id_at(event: &Event, at: DateTime<Utc>) -> String {
        let at = at.to_rfc3339_opts(SecondsFormat::Millis, true);
        format!("{at}#{}", event.key)
    }

    /// The key of the row named `id` (its first ten characters are its day).
    pub fn key_of(id: &str) -> Option<Key> {
        let day = NaiveDate::parse_from_str(id.get(..10)?, "%Y-%m-%d").ok()?;
        Some(Key::new(Self::partition(day), id))
    }

    /// Merges `told` into `event`'s row (a channel's newer outcome replaces its older one), and
    /// points its problem at the row when it is the problem's latest word.
    pub async fn note(
        records: &dyn Records,
        event: &Event,
        told: &[(String, Told)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = Self::placed(event, now);
        let id = Self::id_at(event, at);
        let key = Self::key_of(&id).expect("an id starts with its day");
        let expires = Some(now.max(event.occurred_at) + Duration::days(DELIVERY_TTL_DAYS));
        // The first copy of an event writes its row in one conditional write, without a read.
        let fresh = History {
            event: event.clone(),
            channels: told.iter().cloned().collect(),
        };
        if swap(records, &key, None, &fresh, expires).await?.is_none() {
            update(records, &key, expires, |read: Option<&History>| {
                if read.is_some_and(|row| told.iter().all(|(c, t)| row.channels.get(c) == Some(t)))
                {
                    return None;
                }
                let mut row = read.cloned().unwrap_or_else(|| History {
                    event: event.clone(),
                    channels: BTreeMap::new(),
                });
                row.channels.extend(told.iter().cloned());
                Some(row)
            })
            .await?;
        }
        Problem::note(records, event, &id, at).await
    }

    pub async fn load(records: &dyn Records, id: &str) -> Result<Option<History>, StoreError> {
        match Self::key_of(id) {
            Some(key) => super::load(records, &key).await,
            None => Ok(None),
        }
    }

    /// Up to `limit` rows of `day` before `before` (an id), newest first; unreadable rows are
    /// skipped.
    pub async fn page(
        records: &dyn Records,
        day: NaiveDate,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, History)>, StoreError> {
        let rows = (records.page_before(&Self::partition(day), before, limit)).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(sk, v)| Some((sk, serde_json::from_value(v).ok()?)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Source, State};
    use crate::testing::MemoryRecords;

    #[tokio::test]
    async fn a_later_copy_merges_its_outcomes_into_the_one_row_of_its_event() {
        let records = MemoryRecords::default();
        let at = "2026-12-06T03:04:05Z".parse().unwrap();
        let e = Event::new(
            Source::Uipath,
            "1/2",
            "job-1",
            State::Faulted,
            "InvoiceBot",
            at,
        );
        let told = |fate, detail: &str| Told {
            fate,
            detail: detail.into(),
            at,
        };
        let first = [
            ("slack".to_string(), told(Fate::Delivered, "ts 1")),
            ("backlog".to_string(), told(Fate::Retrying, "HTTP 503")),
        ];
        History::note(&records, &e, &first, at).await.unwrap();
        let second = [("backlog".to_string(), told(Fate::Delivered, "OPS-7"))];
        History::note(&records, &e, &second, at).await.unwrap();

        let id = History::id(&e, at);
        let old = History::id(&e, at + Duration::days(3));
        assert!(
            old.starts_with("2026-12-09T03:04:05"),
            "an old event sorts by when it was handled: {old}"
        );
        let row = History::load(&records, &id).await.unwrap().unwrap();
        assert_eq!(row.channels["slack"], told(Fate::Delivered, "ts 1"));
        assert_eq!(row.channels["backlog"], told(Fate::Delivered, "OPS-7"));
        let day = at.date_naive();
        let page = History::page(&records, day, None, 10).await.unwrap();
        assert_eq!(page.len(), 1, "one row per event");
        assert_eq!(page[0].0, id);
        assert!(
            History::load(&records, "not-a-day")
                .await
                .unwrap()
                .is_none()
        );
    }
}
