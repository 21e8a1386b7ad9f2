//! In-memory implementations of our own ports, for unit tests of logic that uses them. Every
//! real adapter is tested against the real thing (moto, SQLite, wiremock); these fakes are held to
//! the same contracts (`crate::contract`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::event::{Event, EventKey};
use crate::ports::{
    Check, CheckQueue, Claim, DeliveryLog, DeliveryOutcome, EscalationError, Queue, QueueError,
    Records, StoreError,
};

/// The delivery-log semantics every Store must have, kept in a map.
#[derive(Default)]
pub struct MemoryStore(Mutex<BTreeMap<(String, String), Record>>);

/// (state, lease or finish time, attempts)
type Record = (String, DateTime<Utc>, u32);

#[async_trait]
impl DeliveryLog for MemoryStore {
    async fn claim_delivery(
        &self,
        key: &EventKey,
        target: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        Ok(self.take(key, target, now, "pending", lease_until))
    }

    async fn finish_delivery(
        &self,
        key: &EventKey,
        target: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let state = match outcome {
            DeliveryOutcome::Delivered { .. } => "delivered",
            DeliveryOutcome::Failed {
                permanent: true, ..
            } => "rejected",
            DeliveryOutcome::Failed { .. } => "failed",
        };
        let mut map = self.0.lock().unwrap();
        let k = (key.to_string(), target.to_string());
        let attempts = map.get(&k).map_or(0, |r| r.2);
        map.insert(k, (state.into(), now, attempts));
        Ok(())
    }

    async fn withhold_delivery(
        &self,
        key: &EventKey,
        target: &str,
        _reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        Ok(self.take(key, target, now, "withheld", now))
    }

    async fn delivered_everywhere(
        &self,
        key: &EventKey,
        targets: &[String],
    ) -> Result<bool, StoreError> {
        let map = self.0.lock().unwrap();
        let done = |t: &String| {
            let state = map.get(&(key.to_string(), t.clone())).map(|r| r.0.as_str());
            matches!(state, Some("delivered" | "withheld"))
        };
        Ok(!targets.is_empty() && targets.iter().all(done))
    }
}

impl MemoryStore {
    /// A claim's test and its write as one step: `state` until `until` when claimable.
    fn take(
        &self,
        key: &EventKey,
        target: &str,
        now: DateTime<Utc>,
        state: &str,
        until: DateTime<Utc>,
    ) -> Claim {
        let mut map = self.0.lock().unwrap();
        let k = (key.to_string(), target.to_string());
        let attempt = match map.get(&k).map(|(s, l, a)| (s.as_str(), *l, *a)) {
            Some(("delivered" | "withheld", _, _)) => return Claim::AlreadyDelivered,
            Some(("pending", lease, _)) if lease >= now => return Claim::Busy,
            Some((_, _, attempts)) => attempts + 1,
            None => 1,
        };
        map.insert(k, (state.into(), until, attempt));
        Claim::Acquired { attempt }
    }
}

/// Records in a map.
#[derive(Default)]
pub struct MemoryRecords(pub Mutex<BTreeMap<(String, String), Value>>);

#[async_trait]
impl Records for MemoryRecords {
    async fn get_record(&self, pk: &str, sk: &str) -> Result<Option<Value>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(&(pk.to_string(), sk.to_string()))
            .cloned())
    }

    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &Value,
        _: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap()
            .insert((pk.to_string(), sk.to_string()), body.clone());
        Ok(())
    }

    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&Value>,
        body: &Value,
        _: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut map = self.0.lock().unwrap();
        let key = (pk.to_string(), sk.to_string());
        if map.get(&key) != expected {
            return Ok(false);
        }
        map.insert(key, body.clone());
        Ok(true)
    }

    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap()
            .remove(&(pk.to_string(), sk.to_string()));
        Ok(())
    }

    async fn list_records(&self, pk: &str) -> Result<Vec<(String, Value)>, StoreError> {
        let map = self.0.lock().unwrap();
        Ok(map
            .iter()
            .filter(|((p, _), _)| p == pk)
            .map(|((_, s), v)| (s.clone(), v.clone()))
            .collect())
    }
}

/// Keeps what was enqueued; fails every call while `down` is set.
#[derive(Default)]
pub struct MemoryQueue {
    pub events: Mutex<Vec<Event>>,
    /// What was queued for later, with its delay.
    pub later: Mutex<Vec<(Event, Duration)>>,
    pub down: AtomicBool,
}

impl MemoryQueue {
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.events.lock().unwrap())
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn enqueue(&self, events: &[Event]) -> Result<(), QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(QueueError("down".into()));
        }
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(())
    }

    async fn enqueue_later(&self, events: &[Event], delay: Duration) -> Result<(), QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(QueueError("down".into()));
        }
        let later = events.iter().map(|e| (e.clone(), delay));
        self.later.lock().unwrap().extend(later);
        Ok(())
    }
}

/// Keeps every scheduled check with its delay; the one check-queue fake.
#[derive(Default)]
pub struct MemoryChecks(pub Mutex<Vec<(Check, Duration)>>);

impl MemoryChecks {
    /// The checks scheduled so far, in order.
    pub fn checks(&self) -> Vec<Check> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(c, _)| c.clone())
            .collect()
    }
}

#[async_trait]
impl CheckQueue for MemoryChecks {
    async fn schedule(&self, check: &Check, delay: Duration) -> Result<(), EscalationError> {
        self.0.lock().unwrap().push((check.clone(), delay));
        Ok(())
    }
}

/// A service-account key file (JSON) with the test RSA key of `testdata/` (it protects nothing),
/// whose token endpoint is `token_uri`.
pub fn service_account_key(token_uri: &str) -> String {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/test-rsa-key.pem"
    ))
    .expect("the test key in crates/core/testdata");
    serde_json::json!({
        "type": "service_account",
        "project_id": "opsbell-test",
        "private_key_id": "test-kid-1",
        "private_key": pem,
        "client_email": "opsbell-bot@opsbell-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A clock that stands still until a test moves it.
pub struct ManualClock(pub Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(now))
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl crate::ports::Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[path = "testing/references.rs"]
pub mod references;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fakes_honour_the_contracts() {
        crate::contract::delivery_log(&MemoryStore::default(), "job").await;
        crate::contract::records(&MemoryRecords::default(), "REC").await;
    }
}
