//! On-call escalations: the incident, its plan and where it stands.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Key, Stored, load, load_stored, save, swap};
use crate::ports::{Records, StoreError};

/// The short, speakable id chat shows for incident `id` (`7f3a`): 4 hex digits of its hash.
pub fn short_id(id: &str) -> String {
    crate::signature::digest_hex(id, 2)
}

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

    /// Incident `id` as read, for a conditional write back ([`Incident::swap`]).
    pub async fn load_stored(
        records: &dyn Records,
        id: &str,
    ) -> Result<Option<Stored<Incident>>, StoreError> {
        load_stored(records, &Self::key(id)).await
    }

    /// Writes this incident only if its record is still `read` (`None`: still absent); `None`
    /// when another writer (an `ack`, a duplicate check) changed it first.
    pub async fn swap(
        &self,
        records: &dyn Records,
        read: Option<&Stored<Incident>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Stored<Incident>>, StoreError> {
        let expires = now + Duration::days(INCIDENT_TTL_DAYS);
        swap(records, &Self::key(&self.id), read, self, Some(expires)).await
    }
}
