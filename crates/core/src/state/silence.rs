//! Silences: "quiet, we are on it" for what their matchers take, until they end.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Key, list, load, save};
use crate::event::Event;
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
