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
//! | [`TenantSnapshot`] | `WATERMARK#kamonohashi:<source>:<t>`  | `-`                 | never   |
//! | [`Space`]          | `SPACE#<bot>`                         | `spaces/…`          | never   |
//! | [`Incident`]       | `INCIDENT#<id>`                       | `STATE`             | 30 d    |
//! | [`RecentDelivery`] | `RECENT#DELIVERY`                     | `<at>#<event key>`  | 24 h    |
//! | [`RecentIncident`] | `RECENT#INCIDENT`                     | `<at>#<id>`         | 7 d     |
//! | [`History`]        | `HISTORY#<yyyy-mm-dd>`                | `<at>#<event key>`  | 14 d    |
//! | [`Ticket`]         | `TICKET#<channel>`                    | problem (`process:…`) | 90 d  |
//! | `Silence`          | `SILENCE#ALL`                         | silence id          | end + 7 d |
//! | heartbeat `Row`    | `HEARTBEAT#ALL`                       | check name          | never   |
//!
//! (`Silence` lives with its feature, [`crate::silence`]: it holds route matchers, a layer up.)
//! | [`FloodWindow`]    | `FLOOD#<channel>`                     | window start        | 16 d    |
//!
//! Rows more than one writer may change at once (an incident: a check and an `ack`; a ticket:
//! two deliveries of one problem) are read with their stored body ([`Stored`]) and written back
//! with [`Records::swap_record`], which fails when someone else wrote in between.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::event::EventKey;
use crate::ports::{Records, StoreError};

mod chat;
mod flood;
mod history;
mod incident;
mod poll;
mod problem;
mod recent;
mod ticket;

pub use chat::{DEFAULT_BOT_NAME, Space};
pub use flood::{DIGEST_NAMES, FloodWindow, KEPT_MAX, OTHERS, WINDOW_TTL_DAYS};
pub use history::{Fate, History, Told};
pub use incident::{Call, INCIDENT_TTL_DAYS, Incident, Status, short_id};
pub use poll::{JOB_STATE_TTL_DAYS, JobState, PollTime, TenantSnapshot, WatchDayState, Watermark};
pub use problem::{OPEN_WINDOW, Problem};
pub use recent::{DELIVERY_WINDOW, INCIDENT_WINDOW, RecentDelivery, RecentIncident};
pub use ticket::{TICKET_TTL_DAYS, Ticket, TicketStatus};

/// Where a row lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub(crate) fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// The row at `key`; an unreadable body is an error naming the row.
pub(crate) async fn load<T: DeserializeOwned>(
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

pub(crate) async fn save<T: Serialize>(
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

/// A row as it was read, for a compare-and-swap write back.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    pub row: T,
    body: serde_json::Value,
}

/// The row at `key` with the body it was read from.
pub(crate) async fn load_stored<T: DeserializeOwned>(
    records: &dyn Records,
    key: &Key,
) -> Result<Option<Stored<T>>, StoreError> {
    let Some(body) = records.get_record(&key.pk, &key.sk).await? else {
        return Ok(None);
    };
    let row = serde_json::from_value(body.clone())
        .map_err(|e| StoreError(format!("{} {}: {e}", key.pk, key.sk)))?;
    Ok(Some(Stored { row, body }))
}

/// Writes `row` if the record still is `read` (`None`: still absent). `Ok(None)` when another
/// writer got there first; else the new stored row, for a later swap.
pub(crate) async fn swap<T: Serialize + Clone>(
    records: &dyn Records,
    key: &Key,
    read: Option<&Stored<T>>,
    row: &T,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Option<Stored<T>>, StoreError> {
    let body = serde_json::to_value(row).map_err(|e| StoreError(e.to_string()))?;
    let expected = read.map(|r| &r.body);
    let swapped = records
        .swap_record(&key.pk, &key.sk, expected, &body, expires_at)
        .await?;
    Ok(swapped.then(|| Stored {
        row: row.clone(),
        body,
    }))
}

/// Writers that may race on one row before `update` gives up.
const SWAP_TRIES: usize = 5;

/// Changes the row at `key` to what `change` makes of the stored one (`None`: leave it), written
/// only if nobody changed the row meanwhile; else read again and retried.
pub(crate) async fn update<T: Serialize + DeserializeOwned + Clone>(
    records: &dyn Records,
    key: &Key,
    expires_at: Option<DateTime<Utc>>,
    change: impl Fn(Option<&T>) -> Option<T>,
) -> Result<(), StoreError> {
    for _ in 0..SWAP_TRIES {
        let read: Option<Stored<T>> = load_stored(records, key).await?;
        let Some(next) = change(read.as_ref().map(|r| &r.row)) else {
            return Ok(());
        };
        if swap(records, key, read.as_ref(), &next, expires_at)
            .await?
            .is_some()
        {
            return Ok(());
        }
    }
    Err(StoreError(format!(
        "{} {}: changed by others {SWAP_TRIES} times",
        key.pk, key.sk
    )))
}

/// Every row under `pk` that reads as `T`, by sort key; others are skipped.
pub(crate) async fn list<T: DeserializeOwned>(
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
