//! Ports: every capability an environment must provide, implemented once each by AWS
//! (`opsbell-aws`) and locally (`opsbell-local`, `opsbell serve`). One file shows them all: the
//! events queue, destinations, the delivery log, the state records, the clock, the on-call
//! dialer and check queue, escalation starts, the rotation files and the secret resolver.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::event::{Event, EventKey};

/// Hands normalized events to the delivery side. Must be durable once it returns `Ok`.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn enqueue(&self, events: &[Event]) -> Result<(), QueueError>;
    /// As [`Queue::enqueue`], delivered no sooner than `delay` from now (at most 15 minutes:
    /// SQS `DelaySeconds`). Durable once it returns `Ok`.
    async fn enqueue_later(&self, events: &[Event], delay: Duration) -> Result<(), QueueError>;
}

#[derive(Debug, thiserror::Error)]
#[error("queue unavailable: {0}")]
pub struct QueueError(pub String);

/// Posts an event to a chat destination.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError>;

    /// After the vendor refused `event`'s rich message as malformed (`refusal`), posts its
    /// minimal plain-text form once. `None` when this vendor has no such form or the refusal
    /// is of another kind (a revoked webhook, a missing room).
    async fn notify_plain(
        &self,
        _event: &Event,
        _refusal: NotifyError,
        _deadline: Instant,
    ) -> Option<Result<Receipt, NotifyError>> {
        None
    }
}

/// A destination made of many places (the Google Chat bot's spaces), each its own delivery.
#[async_trait]
pub trait Spaces: Send + Sync {
    /// The places registered now, by name.
    async fn spaces(&self) -> Result<Vec<String>, StoreError>;
    /// Posts `event` to `space`. A refusal of that space is [`NotifyError::Permanent`] with
    /// its status (403, 404), for the fan-out to judge against the other spaces' answers.
    async fn post(
        &self,
        space: &str,
        event: &Event,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError>;
    /// As [`Notifier::notify_plain`], for one space.
    async fn post_plain(
        &self,
        _space: &str,
        _event: &Event,
        _refusal: NotifyError,
        _deadline: Instant,
    ) -> Option<Result<Receipt, NotifyError>> {
        None
    }
    /// Removes `space` from the registry (it refused while others took the event).
    async fn forget(&self, space: &str);
    /// Spaces posted to at once per event.
    fn concurrency(&self) -> usize;
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
    /// Not now, before anything was sent (a store that failed, a lease another delivery holds):
    /// the message comes back later.
    pub fn later(detail: impl Into<String>) -> NotifyError {
        NotifyError::Retryable {
            detail: detail.into(),
            attempts: 0,
            retry_after: None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, NotifyError::Retryable { .. })
    }
}

/// The delivery log: one record per (event key, target), so a target hears an event once.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
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

    /// Whether `key` is done at every one of `targets` (the channels a copy of the event is
    /// routed to): each has a record, delivered or withheld on purpose. A target without a
    /// record, or one still claimed, failed or refused, is not done, so a later copy of the
    /// event still has work to do there; no targets is never done. An eventually consistent
    /// read: a record written a moment ago may be missed, which only means one more copy for
    /// the claim to refuse.
    async fn delivered_everywhere(
        &self,
        key: &EventKey,
        targets: &[String],
    ) -> Result<bool, StoreError>;

    /// Records that `key` is not sent to `target` (a mute interval, a silence), for `reason`,
    /// unless a claim would be refused (delivered, withheld, or an unexpired lease). One atomic
    /// write: nothing is posted, so no lease is needed between a claim and its outcome.
    /// [`Claim::Acquired`] means recorded now.
    async fn withhold_delivery(
        &self,
        key: &EventKey,
        target: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Deliver now; this is attempt `attempt` (1-based) across invocations.
    Acquired { attempt: u32 },
    /// Delivered, or withheld on purpose: done either way.
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
    /// Writes `body` only if the record still holds `expected` (`None`: only if there is no
    /// record): a compare-and-swap, atomic per record. `false` when another writer changed it
    /// first; the caller reloads and decides again.
    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&serde_json::Value>,
        body: &serde_json::Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;
    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError>;
    /// Every record under `pk`, by sort key.
    async fn list_records(&self, pk: &str) -> Result<Vec<(String, serde_json::Value)>, StoreError>;
    /// Up to `limit` records under `pk` whose sort key is below `before` (any, when `None`),
    /// greatest sort key first: one page of a time-ordered partition, newest first. Stores
    /// override it with a bounded query; this default reads the whole partition.
    async fn page_before(
        &self,
        pk: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let mut all = self.list_records(pk).await?;
        all.retain(|(sk, _)| before.is_none_or(|b| sk.as_str() < b));
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }
}

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

// On-call escalation.

#[derive(Debug, thiserror::Error)]
pub enum EscalationError {
    /// The callee cannot be reached this way (an invalid or refused number): move on.
    #[error("dialer: {0}")]
    Dial(String),
    /// The dialer could not take the call right now (throttling, 5xx, a timeout): try the same
    /// call again, do not move on.
    #[error("dialer unavailable: {0}")]
    Unavailable(String),
    /// The dialer refuses opsbell itself (access denied, an instance or contact flow that does
    /// not exist, outbound calling not enabled): no call can be placed to anyone, so the
    /// escalation must not move on; it stops loudly and is retried after the fix.
    #[error("dialer configuration: {0}")]
    Config(String),
    /// An on-call file (rotation, mapping) cannot be read now: retry, do not plan around it.
    #[error("on-call file: {0}")]
    Files(String),
    #[error("check queue: {0}")]
    Schedule(String),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// A check arrived before the record of its step was saved; it must come back later.
    #[error("incident {incident} is not at step {step} yet")]
    NotYet { incident: String, step: usize },
}

/// Places calls and reads whether they were answered (Amazon Connect, or a dry run).
#[async_trait]
pub trait Dialer: Send + Sync {
    /// Calls `number` to play `message`; `token` makes a retried call the same call.
    async fn dial(
        &self,
        number: &str,
        message: &str,
        token: &str,
    ) -> Result<String, EscalationError>;
    /// Whether the callee confirmed (the contact flow set the answer attribute to "true").
    async fn answered(&self, contact_id: &str) -> Result<bool, EscalationError>;
}

/// Delivers a [`Check`] after a delay (SQS `DelaySeconds`; a timer locally).
#[async_trait]
pub trait CheckQueue: Send + Sync {
    async fn schedule(&self, check: &Check, delay: Duration) -> Result<(), EscalationError>;
}

/// "Start an escalation for this": what an `oncall` route target sends to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    /// Keys the incident: the event key, so a redelivered event starts nothing twice.
    pub id: String,
    pub title: String,
    /// The event's details (its process and first line): spoken only when configured.
    pub message: String,
    /// The SNS topic whose mapping entry picks the rotation and message (an `oncall` channel's
    /// `topic`); `None`: the default rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl Start {
    /// The start of an escalation for an event routed to an `oncall` channel.
    pub fn of(event: &Event) -> Start {
        let info = event
            .info
            .as_deref()
            .and_then(|i| i.lines().next())
            .unwrap_or_default();
        let message: String = format!("{} {}", event.process, info)
            .trim()
            .chars()
            .take(500)
            .collect();
        Start {
            id: event.key.to_string(),
            title: event.process.clone(),
            message,
            topic: None,
        }
    }
}

/// Starts escalations somewhere else (the caller's queue on AWS, a local task in `opsbell serve`).
#[async_trait]
pub trait Escalations: Send + Sync {
    async fn start(&self, start: &Start) -> Result<(), EscalationError>;
}

/// "Was step `step` of `incident` answered?"
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub incident: String,
    pub step: usize,
}

// Files and secrets.

/// Reads the rotation and mapping files (S3, or a local folder).
#[async_trait]
pub trait Files: Send + Sync {
    async fn read(&self, name: &str) -> Result<Vec<u8>, FileError>;
}

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// There is no such file (or this role may not read it): a setting to fix; trying again
    /// will not help.
    #[error("{0}")]
    Missing(String),
    /// It could not be read now (a store's 5xx, throttling, a time-out): try again.
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Ssm(String),
    SecretsManager(String),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Ssm(p) => write!(f, "ssm:{p}"),
            Reference::SecretsManager(n) => write!(f, "secretsmanager:{n}"),
        }
    }
}

impl Reference {
    pub fn parse(s: &str) -> Option<Reference> {
        if let Some(p) = s.strip_prefix("ssm:") {
            return Some(Reference::Ssm(p.to_string()));
        }
        s.strip_prefix("secretsmanager:")
            .map(|n| Reference::SecretsManager(n.to_string()))
    }
}

/// Fetches referenced secrets (SSM and Secrets Manager on AWS).
#[async_trait]
pub trait Resolver: Send + Sync {
    async fn resolve(&self, reference: &Reference) -> Result<String, String>;
}
