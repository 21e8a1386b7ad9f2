//! The delivery log in SQLite, with the same semantics as the DynamoDB store: a claim is taken in
//! one `IMMEDIATE` transaction, so two dispatchers never post the same event to the same target.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opsbell_core::event::EventKey;
use opsbell_core::ports::{Claim, DeliveryLog, DeliveryOutcome, Records, StoreError};
use opsbell_core::state::DELIVERY_TTL_DAYS;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use crate::db::{Db, with_conn};
use crate::millis;

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    pub fn new(db: &Db) -> Result<Self, StoreError> {
        Ok(SqliteStore {
            conn: db.shared().map_err(|e| StoreError(e.to_string()))?,
        })
    }

    /// Releases the claims of a process that died mid-delivery. Call once at start-up of the only
    /// process using this database: any claim still pending then belongs to a dead worker.
    pub async fn release_stale_claims(&self) -> Result<usize, StoreError> {
        with_conn(&self.conn, |c| {
            c.execute("UPDATE deliveries SET state = 'failed', lease_until = NULL WHERE state = 'pending'", [])
        })
        .await
        .map_err(StoreError)
    }

    /// Deletes delivery records past their TTL (the local stand-in for DynamoDB TTL).
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let now = millis(now);
        with_conn(&self.conn, move |c| {
            let n = c.execute("DELETE FROM deliveries WHERE expires_at < ?1", [now])?;
            Ok(n + c.execute(
                "DELETE FROM records WHERE expires_at IS NOT NULL AND expires_at < ?1",
                [now],
            )?)
        })
        .await
        .map_err(StoreError)
    }
}

#[async_trait]
impl DeliveryLog for SqliteStore {
    async fn claim_delivery(
        &self,
        key: &EventKey,
        target: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let lease = Some(millis(lease_until));
        self.take(key, target, now, ("pending", None), lease).await
    }

    async fn finish_delivery(
        &self,
        key: &EventKey,
        target: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (state, detail) = match outcome {
            DeliveryOutcome::Delivered { detail } => ("delivered", detail.clone()),
            DeliveryOutcome::Failed {
                error,
                permanent: true,
            } => ("rejected", error.clone()),
            DeliveryOutcome::Failed {
                error,
                permanent: false,
            } => ("failed", error.clone()),
        };
        let (key, target, now) = (key.to_string(), target.to_string(), millis(now));
        with_conn(&self.conn, move |c| {
            c.execute(
                "UPDATE deliveries SET state = ?3, detail = ?4, lease_until = NULL, updated_at = ?5
                 WHERE event_key = ?1 AND target = ?2",
                params![key, target, state, detail, now],
            )
        })
        .await
        .map(|_| ())
        .map_err(StoreError)
    }

    async fn withhold_delivery(
        &self,
        key: &EventKey,
        target: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let withheld = ("withheld", Some(reason.to_string()));
        self.take(key, target, now, withheld, None).await
    }

    async fn delivered_everywhere(
        &self,
        key: &EventKey,
        targets: &[String],
    ) -> Result<bool, StoreError> {
        let key = key.to_string();
        let done: Vec<String> = with_conn(&self.conn, move |c| {
            let mut done = c.prepare_cached(
                "SELECT target FROM deliveries
                 WHERE event_key = ?1 AND state IN ('delivered', 'withheld')",
            )?;
            let rows = done.query_map([key], |r| r.get(0))?;
            rows.collect()
        })
        .await
        .map_err(StoreError)?;
        Ok(!targets.is_empty() && targets.iter().all(|t| done.contains(t)))
    }
}

impl SqliteStore {
    /// A claim's test and its write in one transaction: the row becomes `state` (with its
    /// detail) until `lease` unless it was delivered or withheld, or an unexpired lease holds it.
    async fn take(
        &self,
        key: &EventKey,
        target: &str,
        now: DateTime<Utc>,
        (state, detail): (&'static str, Option<String>),
        lease: Option<i64>,
    ) -> Result<Claim, StoreError> {
        let (key, target, now) = (key.to_string(), target.to_string(), millis(now));
        let expires = now + DELIVERY_TTL_DAYS * 86_400_000;
        with_conn(&self.conn, move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<(String, Option<i64>, i64)> = tx
                .query_row(
                    "SELECT state, lease_until, attempts FROM deliveries WHERE event_key = ?1 AND target = ?2",
                    params![key, target],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let attempts = match current {
                Some((state, _, _)) if state == "delivered" || state == "withheld" => return Ok(Claim::AlreadyDelivered),
                Some((state, Some(until), _)) if state == "pending" && until >= now => return Ok(Claim::Busy),
                Some((_, _, attempts)) => attempts + 1,
                None => 1,
            };
            tx.execute(
                "INSERT INTO deliveries (event_key, target, state, lease_until, attempts, detail, updated_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (event_key, target) DO UPDATE SET state = ?3, lease_until = ?4,
                   attempts = ?5, detail = COALESCE(?6, detail), updated_at = ?7, expires_at = ?8",
                params![key, target, state, lease, attempts, detail, now, expires],
            )?;
            tx.commit()?;
            Ok(Claim::Acquired { attempt: u32::try_from(attempts).unwrap_or(u32::MAX) })
        })
        .await
        .map_err(StoreError)
    }
}

#[async_trait]
impl Records for SqliteStore {
    async fn get_record(&self, pk: &str, sk: &str) -> Result<Option<Value>, StoreError> {
        let (pk, sk) = (pk.to_string(), sk.to_string());
        let text: Option<String> = with_conn(&self.conn, move |c| {
            c.query_row(
                "SELECT body FROM records WHERE pk = ?1 AND sk = ?2",
                params![pk, sk],
                |r| r.get(0),
            )
            .optional()
        })
        .await
        .map_err(StoreError)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError(e.to_string())))
            .transpose()
    }

    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let (pk, sk, body, expires) = (
            pk.to_string(),
            sk.to_string(),
            body.to_string(),
            expires_at.map(millis),
        );
        with_conn(&self.conn, move |c| {
            c.execute(
                "INSERT INTO records (pk, sk, body, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (pk, sk) DO UPDATE SET body = ?3, expires_at = ?4",
                params![pk, sk, body, expires],
            )
        })
        .await
        .map(|_| ())
        .map_err(StoreError)
    }

    /// One statement, so atomic: an insert that does nothing when a row exists, or an update
    /// whose `WHERE` holds only while the row still has the expected body (bodies are stored as
    /// serde_json writes them, so equal values are equal texts).
    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&Value>,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let (pk, sk, body, expires) = (
            pk.to_string(),
            sk.to_string(),
            body.to_string(),
            expires_at.map(millis),
        );
        let expected = expected.map(Value::to_string);
        with_conn(&self.conn, move |c| match expected {
            None => c.execute(
                "INSERT INTO records (pk, sk, body, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (pk, sk) DO NOTHING",
                params![pk, sk, body, expires],
            ),
            Some(old) => c.execute(
                "UPDATE records SET body = ?3, expires_at = ?4 WHERE pk = ?1 AND sk = ?2 AND body = ?5",
                params![pk, sk, body, expires, old],
            ),
        })
        .await
        .map(|changed| changed == 1)
        .map_err(StoreError)
    }

    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let (pk, sk) = (pk.to_string(), sk.to_string());
        with_conn(&self.conn, move |c| {
            c.execute(
                "DELETE FROM records WHERE pk = ?1 AND sk = ?2",
                params![pk, sk],
            )
        })
        .await
        .map(|_| ())
        .map_err(StoreError)
    }

    async fn list_records(&self, pk: &str) -> Result<Vec<(String, Value)>, StoreError> {
        let pk = pk.to_string();
        let rows: Vec<(String, String)> = with_conn(&self.conn, move |c| {
            let mut stmt =
                c.prepare_cached("SELECT sk, body FROM records WHERE pk = ?1 ORDER BY sk")?;
            let rows = stmt.query_map([pk], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
        .map_err(StoreError)?;
        bodies(rows)
    }

    async fn page_before(
        &self,
        pk: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let (pk, before) = (pk.to_string(), before.map(str::to_string));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(String, String)> = with_conn(&self.conn, move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT sk, body FROM records WHERE pk = ?1 AND (?2 IS NULL OR sk < ?2)
                 ORDER BY sk DESC LIMIT ?3",
            )?;
            let rows =
                stmt.query_map(params![pk, before, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
        .map_err(StoreError)?;
        bodies(rows)
    }
}

/// Rows of (sort key, JSON text) as records.
fn bodies(rows: Vec<(String, String)>) -> Result<Vec<(String, Value)>, StoreError> {
    rows.into_iter()
        .map(|(sk, t)| {
            serde_json::from_str(&t)
                .map(|v| (sk, v))
                .map_err(|e| StoreError(e.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use opsbell_core::event::{Source, State};

    use super::*;

    #[tokio::test]
    async fn delivery_log_semantics_match_dynamodb() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::new(&Db::open(&dir.path().join("t.db")).unwrap()).unwrap();
        opsbell_core::contract::delivery_log(&store, "job").await;
        let now = Utc::now();
        let lease = now + Duration::minutes(5);

        // A claim left by a dead process is released at start-up.
        let other = EventKey::new(Source::Uipath, "", "job-2", State::Faulted);
        store
            .claim_delivery(&other, "slack", now, lease)
            .await
            .unwrap();
        assert_eq!(store.release_stale_claims().await.unwrap(), 1);
        assert_eq!(
            store
                .claim_delivery(&other, "slack", now, lease)
                .await
                .unwrap(),
            Claim::Acquired { attempt: 2 }
        );

        assert_eq!(
            store.purge_expired(now + Duration::days(15)).await.unwrap(),
            7,
            "the contract's seven delivery rows"
        );
    }

    #[tokio::test]
    async fn records_honour_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::new(&Db::open(&dir.path().join("r.db")).unwrap()).unwrap();
        opsbell_core::contract::records(&store, "WATERMARK").await;
    }
}
