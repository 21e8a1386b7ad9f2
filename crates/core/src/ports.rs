//! Ports: small capabilities that AWS (`opsbell-aws`) and local (`opsbell-local`) implement once each.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::event::{Event, EventKey};

/// Hands normalized events to the delivery side. Must be durable once it returns `Ok`.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn enqueue(&self, events: &[Event]) -> Result<(), QueueError>;
}

#[derive(Debug, thiserror::Error)]
#[error("queue unavailable: {0}")]
pub struct QueueError(pub String);

/// Posts an event to a chat destination.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError>;
}

/// Opens a ticket for an event.
#[async_trait]
pub trait Ticketing: Send + Sync {
    async fn open_ticket(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError>;
}

/// What a destination answered, for the delivery log (a message id, an issue key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub detail: String,
    pub attempts: u32,
}

/// A failed delivery. Its text never contains a URL, token or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The destination refused the request; sending it again will not help (4xx but 408/429).
    #[error("rejected with HTTP {status}: {detail}")]
    Permanent {
        status: u16,
        detail: String,
        attempts: u32,
    },
    /// A later attempt may succeed (429, 5xx, timeouts), but not within this deadline.
    #[error("gave up after {attempts} attempt(s): {detail}")]
    Retryable {
        detail: String,
        attempts: u32,
        retry_after: Option<Duration>,
    },
    /// The destination no longer exists (a chat space the bot was removed from); forgotten.
    #[error("gone: {detail}")]
    Gone { detail: String, attempts: u32 },
}

impl NotifyError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, NotifyError::Retryable { .. })
    }
}

/// The delivery log: one record per (event key, target), so a target hears an event once.
#[async_trait]
pub trait Store: Send + Sync {
    /// Takes the right to deliver `key` to `target` until `lease_until`, unless it was delivered,
    /// permanently rejected, or another worker holds an unexpired lease. Atomic.
    async fn claim_delivery(
        &self,
        key: &EventKey,
        target: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, StoreError>;

    /// Records how the claimed delivery ended and releases the lease.
    async fn finish_delivery(
        &self,
        key: &EventKey,
        target: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Deliver now; this is attempt `attempt` (1-based) across invocations.
    Acquired {
        attempt: u32,
    },
    AlreadyDelivered,
    /// Another worker is delivering it right now.
    Busy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered { detail: String },
    Failed { error: String, permanent: bool },
}

#[derive(Debug, thiserror::Error)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

/// The other records of the single-table state design (`WATERMARK#…`, `JOB#…`, `SPACE#…`,
/// `INCIDENT#…`): JSON bodies under a partition key and a sort key, optionally expiring.
/// Typed helpers on top of it live with the features that own the records.
#[async_trait]
pub trait Records: Send + Sync {
    async fn get_record(&self, pk: &str, sk: &str)
    -> Result<Option<serde_json::Value>, StoreError>;
    /// Writes (replaces) a record; `expires_at` is when it may be deleted.
    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &serde_json::Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError>;
    /// Every record under `pk`, by sort key.
    async fn list_records(&self, pk: &str) -> Result<Vec<(String, serde_json::Value)>, StoreError>;
}

/// Days a delivery record is kept (DynamoDB TTL).
pub const DELIVERY_TTL_DAYS: i64 = 14;

/// The time, replaceable in tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
