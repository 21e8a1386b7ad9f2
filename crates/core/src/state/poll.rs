//! Polling rows: Orchestrator watermarks, complete-poll times, KAMONOHASHI job statuses.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Key, list, load, save};
use crate::ports::{Records, StoreError};

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

/// When a KAMONOHASHI tenant's job list was last read whole: a job first seen later, already
/// ended, and created after it, ended between two polls and is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSnapshot {
    pub at: DateTime<Utc>,
}

impl TenantSnapshot {
    fn key(source: &str, tenant: i64) -> Key {
        Key::new(format!("WATERMARK#kamonohashi:{source}:{tenant}"), "-")
    }

    pub async fn load(
        records: &dyn Records,
        source: &str,
        tenant: i64,
    ) -> Result<Option<TenantSnapshot>, StoreError> {
        load(records, &Self::key(source, tenant)).await
    }

    pub async fn save(
        &self,
        records: &dyn Records,
        source: &str,
        tenant: i64,
    ) -> Result<(), StoreError> {
        save(records, &Self::key(source, tenant), self, None).await
    }
}

/// Days a KAMONOHASHI job's last status is kept.
pub const JOB_STATE_TTL_DAYS: i64 = 30;

/// A KAMONOHASHI job's last seen status, under its tenant; the sort key is `<kind>-<job id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    pub status: String,
    /// Since when it has had this status (its creation for a job first seen Pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Whether it was announced stuck in this status.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stuck: bool,
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

/// A KAMONOHASHI source's watch day, for the slackbot's Enter/Leave notices: which local day it
/// is, whether the day's watch began (its Enter notice sent) or ended, and how many job notices
/// went out (a silent day gets `System.Leave.Silent`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchDayState {
    pub day: Option<chrono::NaiveDate>,
    pub entered: bool,
    pub left: bool,
    pub sent: u32,
}

impl WatchDayState {
    pub fn key(source: &str) -> Key {
        Key::new(format!("WATCH#kamonohashi:{source}"), "-")
    }

    pub async fn load(records: &dyn Records, source: &str) -> Result<WatchDayState, StoreError> {
        Ok(load(records, &Self::key(source)).await?.unwrap_or_default())
    }

    pub async fn save(&self, records: &dyn Records, source: &str) -> Result<(), StoreError> {
        save(records, &Self::key(source), self, None).await
    }
}
