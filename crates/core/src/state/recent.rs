//! The short history the bot's `status` shows, each row expiring on its own.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Key, list, save};
use crate::event::Event;
use crate::ports::{Records, StoreError};

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
