//! A short history for the bot's `status` command: events delivered lately and escalations
//! started, each a record under one partition (`RECENT#DELIVERY`, `RECENT#INCIDENT`) sorted by
//! time and expiring on its own.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::event::Event;
use crate::ports::{Records, StoreError};

pub const DELIVERIES: &str = "RECENT#DELIVERY";
pub const INCIDENTS: &str = "RECENT#INCIDENT";
/// How long a delivery is remembered for `status`.
pub const DELIVERY_WINDOW: Duration = Duration::hours(24);
const INCIDENT_WINDOW: Duration = Duration::days(7);

fn sort_key(at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Remembers that `event` reached `targets`.
pub async fn delivered(
    records: &dyn Records,
    event: &Event,
    targets: &[&str],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let body = json!({
        "at": now, "key": event.key.to_string(), "title": event.process,
        "state": event.state.to_string(), "targets": targets,
    });
    let sk = sort_key(now, &event.key.to_string());
    records
        .put_record(DELIVERIES, &sk, &body, Some(now + DELIVERY_WINDOW))
        .await
}

/// Remembers that escalation `id` started.
pub async fn incident(
    records: &dyn Records,
    id: &str,
    title: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let body = json!({ "at": now, "id": id, "title": title });
    records
        .put_record(
            INCIDENTS,
            &sort_key(now, id),
            &body,
            Some(now + INCIDENT_WINDOW),
        )
        .await
}

/// The records of `partition` newer than `since`, newest first.
pub async fn since(
    records: &dyn Records,
    partition: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Value>, StoreError> {
    let floor = sort_key(since, "");
    let mut found: Vec<Value> = records
        .list_records(partition)
        .await?
        .into_iter()
        .filter(|(sk, _)| *sk >= floor)
        .map(|(_, v)| v)
        .collect();
    found.reverse();
    Ok(found)
}
