//! The state table, typed: one type per row kind of the single-table design (ARCHITECTURE.md),
//! each with its key and its serde body, loaded and saved over [`Records`]. No other module
//! formats a key or reads a field out of a stored body.
//!
//! | row                | partition key                         | sort key            | expires |
//! |--------------------|---------------------------------------|---------------------|---------|
//! | delivery log       | `DELIVERY#<event key>`                | target              | 14 d    |
//! | [`Watermark`]      | `WATERMARK#uipath:<source>`           | folder id           | never   |
//! | [`PollTime`]       | `WATERMARK#<source>`                  | `-`                 | never   |
//! | [`JobState`]       | `JOB#kamonohashi:<source>:<tenant>`   | `<kind>-<job id>`   | 30 d    |
//! | [`Space`]          | `SPACE#<bot>`                         | `spaces/…`          | never   |
//! | [`Incident`]       | `INCIDENT#<id>`                       | `STATE`             | 30 d    |
//! | [`RecentDelivery`] | `RECENT#DELIVERY`                     | `<at>#<event key>`  | 24 h    |
//! | [`RecentIncident`] | `RECENT#INCIDENT`                     | `<at>#<id>`         | 7 d     |

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKey};
use crate::ports::{Records, StoreError};

/// Where a row lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// The row at `key`; an unreadable body is an error naming the row.
async fn load<T: DeserializeOwned>(
    records: &dyn Records,
    key: &Key,
) -> Result<Option<T>, StoreError> {
    let Some(value) = records.get_record(&key.pk, &key.sk).await? else {
        return Ok(None);
    };
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| StoreError(format!("{} {}: {e}", key.pk, key.sk)))
}

async fn save<T: Serialize>(
    records: &dyn Records,
    key: &Key,
    row: &T,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let body = serde_json::to_value(row).map_err(|e| StoreError(e.to_string()))?;
    records
        .put_record(&key.pk, &key.sk, &body, expires_at)
        .await
}

/// Every row under `pk` that reads as `T`, by sort key; others are skipped.
async fn list<T: DeserializeOwned>(
    records: &dyn Records,
    pk: &str,
) -> Result<Vec<(String, T)>, StoreError> {
    let rows = records.list_records(pk).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(sk, v)| Some((sk, serde_json::from_value(v).ok()?)))
        .collect())
}

// The delivery log (its conditional writes live in each `DeliveryLog` implementation).

/// Days a delivery record is kept (DynamoDB TTL).
pub const DELIVERY_TTL_DAYS: i64 = 14;

/// The delivery-log row of `event` at `target`.
pub fn delivery_key(event: &EventKey, target: &str) -> Key {
    Key::new(format!("DELIVERY#{event}"), target)
}

// Polling.

/// An Orchestrator folder's high-water mark: the last ended job seen, by (EndTime, Id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Watermark {
    pub end_time: DateTime<Utc>,
    pub id: i64,
}

impl Watermark {
    pub fn key(source: &str, folder: i64) -> Key {
        Key::new(format!("WATERMARK#uipath:{source}"), folder.to_string())
    }

    /// The folder's mark; an unreadable one counts as none (the first poll's lookback).
    pub async fn load(
        records: &dyn Records,
        source: &str,
        folder: i64,
    ) -> Result<Option<Watermark>, StoreError> {
        let key = Self::key(source, folder);
        let value = records.get_record(&key.pk, &key.sk).await?;
        Ok(value.and_then(|v| serde_json::from_value(v).ok()))
    }

    pub async fn save(
        &self,
        records: &dyn Records,
        source: &str,
        folder: i64,
    ) -> Result<(), StoreError> {
        save(records, &Self::key(source, folder), self, None).await
    }
}

/// When a source was last polled completely (every folder or tenant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollTime {
    pub polled_at: DateTime<Utc>,
}

impl PollTime {
    pub fn key(source: &str) -> Key {
        Key::new(format!("WATERMARK#{source}"), "-")
    }

    pub async fn load(records: &dyn Records, source: &str) -> Result<Option<PollTime>, StoreError> {
        load(records, &Self::key(source)).await
    }

    pub async fn save(&self, records: &dyn Records, source: &str) -> Result<(), StoreError> {
        save(records, &Self::key(source), self, None).await
    }
}

/// Days a KAMONOHASHI job's last status is kept.
pub const JOB_STATE_TTL_DAYS: i64 = 30;

/// A KAMONOHASHI job's last seen status, under its tenant; the sort key is `<kind>-<job id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    pub status: String,
}

impl JobState {
    pub fn partition(source: &str, tenant: i64) -> String {
        format!("JOB#kamonohashi:{source}:{tenant}")
    }

    /// Every stored job of a tenant: (`<kind>-<id>`, its state).
    pub async fn list(
        records: &dyn Records,
        source: &str,
        tenant: i64,
    ) -> Result<Vec<(String, JobState)>, StoreError> {
        list(records, &Self::partition(source, tenant)).await
    }

    pub async fn save(
        &self,
        records: &dyn Records,
        source: &str,
        tenant: i64,
        job: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = Key::new(Self::partition(source, tenant), job);
        let expires = now + Duration::days(JOB_STATE_TTL_DAYS);
        save(records, &key, self, Some(expires)).await
    }
}

// The Google Chat bot.

/// The registry's name of a bot when none is configured: the chat-listener's `CHAT_BOT_NAME`
/// and a `google_chat_bot` channel's `bot` must agree.
pub const DEFAULT_BOT_NAME: &str = "opsbell";

/// A space the bot was added to (`SPACE#<bot>`, sort key the space's name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub added_by: Option<String>,
    #[serde(default)]
    pub added_at: Option<DateTime<Utc>>,
}

impl Space {
    /// The registry's partition of a bot.
    pub fn partition(bot: &str) -> String {
        format!("SPACE#{bot}")
    }

    /// The names of every registered space of `bot`, whatever their bodies say.
    pub async fn names(records: &dyn Records, bot: &str) -> Result<Vec<String>, StoreError> {
        let rows = records.list_records(&Self::partition(bot)).await?;
        Ok(rows.into_iter().map(|(space, _)| space).collect())
    }

    pub async fn save(
        &self,
        records: &dyn Records,
        bot: &str,
        space: &str,
    ) -> Result<(), StoreError> {
        save(records, &Key::new(Self::partition(bot), space), self, None).await
    }

    pub async fn forget(records: &dyn Records, bot: &str, space: &str) -> Result<(), StoreError> {
        records.delete_record(&Self::partition(bot), space).await
    }
}

// On-call escalation.

/// Days an incident record is kept.
pub const INCIDENT_TTL_DAYS: i64 = 30;

/// One call of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// 1-based round; 0 for the fallback.
    pub round: u32,
    /// The group's label (`group2`, `#2`), or `fallback`.
    pub group: String,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Calling,
    Answered { step: usize, number: String },
    Acked { by: String },
    Exhausted,
}

/// An escalation in progress or done (`INCIDENT#<id>`, `STATE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub message: String,
    pub title: String,
    pub calls: Vec<Call>,
    /// The current step; `contacts[step]` is set once its call was placed.
    pub step: usize,
    pub contacts: Vec<Option<String>>,
    pub status: Status,
    pub dry_run: bool,
}

impl Incident {
    pub fn key(id: &str) -> Key {
        Key::new(format!("INCIDENT#{id}"), "STATE")
    }

    /// Incident `id`, if recorded. An unreadable record is an error, never "no incident": that
    /// would dial everyone again.
    pub async fn load(records: &dyn Records, id: &str) -> Result<Option<Incident>, StoreError> {
        load(records, &Self::key(id)).await
    }

    pub async fn save(&self, records: &dyn Records, now: DateTime<Utc>) -> Result<(), StoreError> {
        let expires = now + Duration::days(INCIDENT_TTL_DAYS);
        save(records, &Self::key(&self.id), self, Some(expires)).await
    }
}

// The short history the bot's `status` shows, each row expiring on its own.

const DELIVERIES: &str = "RECENT#DELIVERY";
const INCIDENTS: &str = "RECENT#INCIDENT";
/// How long a delivery is remembered for `status`.
pub const DELIVERY_WINDOW: Duration = Duration::hours(24);
/// How long an escalation is remembered for `status`.
pub const INCIDENT_WINDOW: Duration = Duration::days(7);

fn recent_key(partition: &str, at: DateTime<Utc>, id: &str) -> Key {
    Key::new(
        partition,
        format!("{}#{id}", at.to_rfc3339_opts(SecondsFormat::Millis, true)),
    )
}

/// The rows of `partition` since `since`, newest first.
async fn recent<T: DeserializeOwned>(
    records: &dyn Records,
    partition: &str,
    since: DateTime<Utc>,
) -> Result<Vec<T>, StoreError> {
    let floor = recent_key(partition, since, "").sk;
    let mut found: Vec<T> = list(records, partition)
        .await?
        .into_iter()
        .filter(|(sk, _)| *sk >= floor)
        .map(|(_, v)| v)
        .collect();
    found.reverse();
    Ok(found)
}

/// An event that reached some targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentDelivery {
    pub at: DateTime<Utc>,
    pub key: String,
    pub title: String,
    pub state: String,
    pub targets: Vec<String>,
}

impl RecentDelivery {
    pub fn of(event: &Event, targets: &[&str], at: DateTime<Utc>) -> RecentDelivery {
        RecentDelivery {
            at,
            key: event.key.to_string(),
            title: event.process.clone(),
            state: event.state.to_string(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    pub async fn save(&self, records: &dyn Records) -> Result<(), StoreError> {
        let key = recent_key(DELIVERIES, self.at, &self.key);
        save(records, &key, self, Some(self.at + DELIVERY_WINDOW)).await
    }

    /// Deliveries since `since`, newest first.
    pub async fn since(
        records: &dyn Records,
        since: DateTime<Utc>,
    ) -> Result<Vec<Self>, StoreError> {
        recent(records, DELIVERIES, since).await
    }
}

/// An escalation that started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentIncident {
    pub at: DateTime<Utc>,
    pub id: String,
    pub title: String,
}

impl RecentIncident {
    pub async fn save(&self, records: &dyn Records) -> Result<(), StoreError> {
        let key = recent_key(INCIDENTS, self.at, &self.id);
        save(records, &key, self, Some(self.at + INCIDENT_WINDOW)).await
    }

    /// Escalations since `since`, newest first.
    pub async fn since(
        records: &dyn Records,
        since: DateTime<Utc>,
    ) -> Result<Vec<Self>, StoreError> {
        recent(records, INCIDENTS, since).await
    }
}
