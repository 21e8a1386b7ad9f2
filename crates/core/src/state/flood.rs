//! A channel's flood window: how many events it took in one window, and what it held back for
//! the window's digest. One row per channel and window, changed only by compare-and-swap; kept
//! [`WINDOW_TTL_DAYS`].

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{Key, Stored, load_stored, swap};
use crate::ports::{Records, StoreError};

/// Distinct processes or folders a digest counts by name; the rest are counted together.
pub const DIGEST_NAMES: usize = 50;
/// The name the rest are counted under.
pub const OTHERS: &str = "(others)";

/// `FLOOD#<channel>` / `<window start>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodWindow {
    /// Events admitted in this window (sent or held).
    pub count: u32,
    /// Events held for the digest.
    pub held: u32,
    /// The first held events, one line each.
    pub lines: Vec<String>,
    pub states: BTreeMap<String, u32>,
    pub processes: BTreeMap<String, u32>,
    pub folders: BTreeMap<String, u32>,
    /// The digest's delayed message was queued.
    pub flush: bool,
    /// The digest was composed: later events of this window are sent on their own.
    pub closed: bool,
    /// Short hashes of the events admitted to be sent, and of those held: an event that comes
    /// back (a crash before its delivery was recorded) gets the same answer, so it is neither
    /// counted twice nor both posted and digested.
    #[serde(default)]
    pub sent: Vec<String>,
    #[serde(default)]
    pub kept: Vec<String>,
}

/// A window outlives the dead-letter queue's 14 days, so a digest redriven from it late still
/// finds what it held.
pub const WINDOW_TTL_DAYS: i64 = 16;

/// Held events whose hashes a window keeps (about 13 bytes each); past it, a retried event
/// may be counted twice.
pub const KEPT_MAX: usize = 10_000;

impl FloodWindow {
    /// The short hash a window knows an event by.
    pub fn hash(key: &str) -> String {
        crate::signature::digest_hex(key, 6)
    }

    fn key(channel: &str, start: DateTime<Utc>) -> Key {
        Key::new(
            format!("FLOOD#{channel}"),
            start.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    }

    pub async fn load(
        records: &dyn Records,
        channel: &str,
        start: DateTime<Utc>,
    ) -> Result<Option<Stored<FloodWindow>>, StoreError> {
        load_stored(records, &Self::key(channel, start)).await
    }

    /// Writes this window over `read` (`None`: still absent); `None` when another writer won.
    pub async fn swap(
        &self,
        records: &dyn Records,
        channel: &str,
        start: DateTime<Utc>,
        read: Option<&Stored<FloodWindow>>,
    ) -> Result<Option<Stored<FloodWindow>>, StoreError> {
        let expires = start + Duration::days(WINDOW_TTL_DAYS);
        swap(
            records,
            &Self::key(channel, start),
            read,
            self,
            Some(expires),
        )
        .await
    }

    /// Counts `name` under `map`, by name for the first [`DIGEST_NAMES`] names.
    pub fn count(map: &mut BTreeMap<String, u32>, name: &str) {
        let name = match map.contains_key(name) || map.len() < DIGEST_NAMES {
            true => name,
            false => OTHERS,
        };
        *map.entry(name.to_string()).or_default() += 1;
    }
}
