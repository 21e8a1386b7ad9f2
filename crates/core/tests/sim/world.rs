//! The simulated world: a clock that moves only when the simulation moves it, and every port of
//! the fan-out kept in memory with seeded faults. Each fault is drawn from the scenario's one
//! random stream, so a seed replays the same run. A "crash" is a panic right after a side
//! effect took place (the worker dies with the effect done and nothing after it), caught by the
//! runner as a dead invocation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::time::Instant;

use opsbell_core::event::{Event, EventKey};
use opsbell_core::ports::{
    Claim, Clock, DeliveryLog, DeliveryOutcome, Notifier, NotifyError, Queue, QueueError, Receipt,
    Records, Spaces, StoreError,
};
use opsbell_core::testing::{MemoryRecords, MemoryStore};

tokio::task_local! {
    /// The key of the event the current worker is delivering.
    pub static WORKING_ON: String;
}

pub const CRASH: &str = "sim crash";

/// With `OPSBELL_SIM_TRACE` set, one line of what happened, at the simulated instant.
fn trace(what: std::fmt::Arguments<'_>) {
    if std::env::var_os("OPSBELL_SIM_TRACE").is_some() {
        eprintln!("{:?} {what}", Instant::now());
    }
}

fn working_on() -> String {
    WORKING_ON.try_with(Clone::clone).unwrap_or_default()
}

/// Chat time follows tokio's paused clock, so sleeps in the code under test move it too.
pub struct SimClock {
    pub base: DateTime<Utc>,
    pub start: Instant,
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::from_std(self.start.elapsed()).unwrap()
    }
}

/// The fault rates of one scenario, and what happened that the oracle must allow for.
pub struct Faults {
    pub rng: Mutex<fastrand::Rng>,
    pub on: AtomicBool,
    pub store: f64,
    pub crash: f64,
    pub vendor: f64,
    /// Every space answers 404 (a wrong `api_base`) while on.
    pub misconfigured: AtomicBool,
    /// (event key, channel) pairs whose outcome is ambiguous: the vendor took a post whose
    /// answer was lost, or a worker died after a post or a flood count.
    pub ambiguous: Mutex<BTreeSet<(String, String)>>,
    /// Side effects not yet recorded in the delivery log (a post, a flood count), by (event
    /// key, channel): a worker that dies now leaves them ambiguous.
    pub unrecorded: Mutex<BTreeSet<(String, String)>>,
}

impl Faults {
    pub fn chance(&self, p: f64) -> bool {
        self.on.load(Ordering::SeqCst) && self.rng.lock().unwrap().f64() < p
    }

    fn store_error(&self) -> Result<(), StoreError> {
        match self.chance(self.store) {
            true => {
                trace(format_args!("store error {}", working_on()));
                Err(StoreError("simulated outage".into()))
            }
            false => Ok(()),
        }
    }

    /// A side effect at `target` the delivery log does not know of yet.
    fn unrecorded(&self, target: &str) {
        let pair = (working_on(), target.to_string());
        self.unrecorded.lock().unwrap().insert(pair);
    }

    /// Dies here, after a side effect, now and then: whatever the worker did and had not
    /// recorded becomes ambiguous.
    fn crash_after(&self, target: Option<&str>) {
        if let Some(target) = target {
            self.unrecorded(target);
        }
        if self.chance(self.crash) {
            let key = working_on();
            let mut unrecorded = self.unrecorded.lock().unwrap();
            let lost: Vec<_> = unrecorded
                .iter()
                .filter(|(k, _)| *k == key)
                .cloned()
                .collect();
            for (key, target) in lost {
                unrecorded.remove(&(key.clone(), target.clone()));
                let channel = target.split('#').next().unwrap_or_default().to_string();
                self.ambiguous.lock().unwrap().insert((key, channel));
            }
            drop(unrecorded);
            trace(format_args!("crash {} {target:?}", working_on()));
            std::panic::panic_any(CRASH);
        }
    }
}

/// The delivery log, failing and dying now and then; remembers what was withheld.
pub struct SimLog<'a> {
    pub inner: MemoryStore,
    pub faults: &'a Faults,
    pub withheld: Mutex<BTreeSet<(String, String)>>,
}

#[async_trait]
impl DeliveryLog for SimLog<'static> {
    async fn claim_delivery(
        &self,
        key: &EventKey,
        target: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        self.faults.store_error()?;
        let claim = self
            .inner
            .claim_delivery(key, target, now, lease_until)
            .await;
        trace(format_args!(
            "claim {target} {key} {claim:?} until {lease_until}"
        ));
        self.faults.crash_after(None);
        claim
    }

    async fn finish_delivery(
        &self,
        key: &EventKey,
        target: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.faults.store_error()?;
        trace(format_args!("finish {target} {key} {outcome:?}"));
        let pair = (key.to_string(), target.to_string());
        self.faults.unrecorded.lock().unwrap().remove(&pair);
        self.inner.finish_delivery(key, target, outcome, now).await
    }

    async fn delivered_everywhere(
        &self,
        key: &EventKey,
        targets: &[String],
    ) -> Result<bool, StoreError> {
        self.inner.delivered_everywhere(key, targets).await
    }

    async fn withhold_delivery(
        &self,
        key: &EventKey,
        target: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        self.faults.store_error()?;
        let claim = self
            .inner
            .withhold_delivery(key, target, reason, now)
            .await?;
        // Nothing was posted: a withholding leaves nothing ambiguous.
        if let Claim::Acquired { .. } = claim {
            let pair = (key.to_string(), target.to_string());
            self.withheld.lock().unwrap().insert(pair);
        }
        self.faults.crash_after(None);
        Ok(claim)
    }
}

/// The state table, honouring each row's expiry as DynamoDB's TTL does.
pub struct SimRecords<'a> {
    pub inner: MemoryRecords,
    pub expires: Mutex<BTreeMap<(String, String), DateTime<Utc>>>,
    pub clock: &'a SimClock,
    pub faults: &'a Faults,
}

impl SimRecords<'_> {
    fn expire(&self) {
        let now = self.clock.now();
        let mut expires = self.expires.lock().unwrap();
        let gone: Vec<(String, String)> = (expires.iter())
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let mut rows = self.inner.0.lock().unwrap();
        for k in gone {
            expires.remove(&k);
            rows.remove(&k);
        }
    }

    fn keep(&self, pk: &str, sk: &str, expires_at: Option<DateTime<Utc>>) {
        let key = (pk.to_string(), sk.to_string());
        let mut expires = self.expires.lock().unwrap();
        match expires_at {
            Some(at) => expires.insert(key, at),
            None => expires.remove(&key),
        };
    }
}

#[async_trait]
impl Records for SimRecords<'static> {
    async fn get_record(&self, pk: &str, sk: &str) -> Result<Option<Value>, StoreError> {
        self.faults.store_error()?;
        self.expire();
        self.inner.get_record(pk, sk).await
    }

    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.faults.store_error()?;
        self.keep(pk, sk, expires_at);
        self.inner.put_record(pk, sk, body, expires_at).await
    }

    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&Value>,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        self.faults.store_error()?;
        self.expire();
        let swapped = self
            .inner
            .swap_record(pk, sk, expected, body, expires_at)
            .await?;
        if swapped {
            self.keep(pk, sk, expires_at);
            self.faults.crash_after(pk.strip_prefix("FLOOD#"));
        }
        Ok(swapped)
    }

    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.faults.store_error()?;
        self.inner.delete_record(pk, sk).await
    }

    async fn list_records(&self, pk: &str) -> Result<Vec<(String, Value)>, StoreError> {
        self.faults.store_error()?;
        self.expire();
        self.inner.list_records(pk).await
    }
}

/// A message of the events queue, as SQS keeps it.
#[derive(Clone)]
pub struct Message {
    pub id: u64,
    pub event: Event,
    pub visible_at: Instant,
    pub receives: u32,
}

/// The events queue and its dead-letter queue.
pub struct SimQueue<'a> {
    pub next: std::sync::atomic::AtomicU64,
    pub messages: Mutex<Vec<Message>>,
    pub dead: Mutex<Vec<Message>>,
    pub faults: &'a Faults,
}

impl SimQueue<'_> {
    pub fn push(&self, event: Event, delay: Duration) {
        self.messages.lock().unwrap().push(Message {
            id: self.next.fetch_add(1, Ordering::SeqCst),
            event,
            visible_at: Instant::now() + delay,
            receives: 0,
        });
    }

    /// Moves every dead message back, as a redrive does.
    pub fn redrive(&self) {
        let dead = std::mem::take(&mut *self.dead.lock().unwrap());
        for m in dead {
            self.push(m.event, Duration::ZERO);
        }
    }
}

#[async_trait]
impl Queue for SimQueue<'static> {
    async fn enqueue(&self, events: &[Event]) -> Result<(), QueueError> {
        self.enqueue_later(events, Duration::ZERO).await
    }

    async fn enqueue_later(&self, events: &[Event], delay: Duration) -> Result<(), QueueError> {
        if self.faults.chance(self.faults.store) {
            return Err(QueueError("simulated outage".into()));
        }
        for e in events {
            self.push(e.clone(), delay);
        }
        Ok(())
    }
}

/// What every vendor took: (target, event), a space's target being `bot#<space>`.
#[derive(Default)]
pub struct Posts(pub Mutex<Vec<(String, Event)>>);

/// One vendor answer, drawn per post.
fn answer(
    faults: &Faults,
    posts: &Posts,
    target: &str,
    channel: &str,
    event: &Event,
) -> Result<Receipt, NotifyError> {
    let took = || {
        trace(format_args!(
            "post {target} {} via {:?}",
            event.key, event.via
        ));
        posts
            .0
            .lock()
            .unwrap()
            .push((target.to_string(), event.clone()))
    };
    if !faults.chance(faults.vendor) {
        took();
        faults.crash_after(Some(target));
        return Ok(Receipt {
            detail: "ok".into(),
            attempts: 1,
        });
    }
    let later = |detail: &str| NotifyError::Retryable {
        detail: detail.into(),
        attempts: 1,
        retry_after: Some(Duration::from_secs(1)),
    };
    let n = faults.rng.lock().unwrap().u8(0..4);
    Err(match n {
        0 => later("HTTP 429"),
        1 => later("HTTP 503"),
        2 => later("timed out before the vendor took it"),
        _ => {
            took();
            let pair = (event.key.to_string(), channel.to_string());
            faults.ambiguous.lock().unwrap().insert(pair);
            later("timed out after the vendor took it")
        }
    })
}

/// A webhook destination (Slack, Chatwork, …).
pub struct Vendor {
    pub name: String,
    pub faults: &'static Faults,
    pub posts: &'static Posts,
}

#[async_trait]
impl Notifier for Vendor {
    async fn notify(&self, event: &Event, _: Instant) -> Result<Receipt, NotifyError> {
        answer(self.faults, self.posts, &self.name, &self.name, event)
    }
}

/// The Google Chat bot: live spaces, and one it was removed from (403 for ever).
pub struct Bot {
    pub name: String,
    pub registry: Mutex<Vec<String>>,
    pub removed: Vec<String>,
    pub faults: &'static Faults,
    pub posts: &'static Posts,
}

#[async_trait]
impl Spaces for Bot {
    async fn spaces(&self) -> Result<Vec<String>, StoreError> {
        self.faults.store_error()?;
        Ok(self.registry.lock().unwrap().clone())
    }

    async fn post(&self, space: &str, event: &Event, _: Instant) -> Result<Receipt, NotifyError> {
        let refused = |status| NotifyError::Permanent {
            status,
            detail: "refused".into(),
            attempts: 1,
        };
        if self.removed.iter().any(|s| s == space) {
            return Err(refused(403));
        }
        if self.faults.misconfigured.load(Ordering::SeqCst) {
            return Err(refused(404));
        }
        let target = format!("{}#{space}", self.name);
        answer(self.faults, self.posts, &target, &self.name, event)
    }

    async fn forget(&self, space: &str) {
        self.registry.lock().unwrap().retain(|s| s != space);
    }

    fn concurrency(&self) -> usize {
        2
    }
}
