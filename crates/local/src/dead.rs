//! The local dead-letter queue: outbox rows whose delivery gave up (`dead = 1`), listed and
//! redriven, as an SQS DLQ is with a redrive on AWS. `opsbell dead list|redrive` and `/healthz`
//! read it; a redriven event is due at once, with its attempts reset, and the dispatcher picks
//! it up within a second (it polls the outbox at least that often).

use chrono::{DateTime, Utc};
use opsbell_core::event::Event;
use rusqlite::params;

use crate::db::Db;

/// A dead event: its row, its key, why it died, and when it was first queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadEvent {
    pub id: i64,
    pub key: String,
    pub attempts: u32,
    pub error: String,
    pub queued_at: DateTime<Utc>,
}

/// Every dead event, oldest first.
pub fn list(db: &Db) -> rusqlite::Result<Vec<DeadEvent>> {
    let conn = db.connect()?;
    let mut rows = conn.prepare(
        "SELECT id, body, attempts, COALESCE(last_error, ''), created_at
         FROM outbox WHERE dead = 1 ORDER BY id",
    )?;
    let dead = rows.query_map([], |r| {
        let body: String = r.get(1)?;
        let key = serde_json::from_str::<Event>(&body)
            .map(|e| e.key.to_string())
            .unwrap_or_else(|_| "(unreadable event)".into());
        Ok(DeadEvent {
            id: r.get(0)?,
            key,
            attempts: r.get(2)?,
            error: r.get(3)?,
            queued_at: DateTime::from_timestamp_millis(r.get(4)?).unwrap_or_default(),
        })
    })?;
    dead.collect()
}

/// Brings the dead events with event key `key` (every dead event when `None`) back to the
/// queue, due now; how many.
pub fn redrive(db: &Db, key: Option<&str>) -> rusqlite::Result<usize> {
    let ids: Vec<i64> = list(db)?
        .into_iter()
        .filter(|d| key.is_none_or(|k| d.key == k))
        .map(|d| d.id)
        .collect();
    let mut conn = db.connect()?;
    let tx = conn.transaction()?;
    let now = crate::millis(Utc::now());
    for id in &ids {
        tx.execute(
            "UPDATE outbox SET dead = 0, attempts = 0, next_at = ?2 WHERE id = ?1 AND dead = 1",
            params![id, now],
        )?;
    }
    tx.commit()?;
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use opsbell_core::event::{Source, State};
    use opsbell_core::ports::Queue;

    use super::*;
    use crate::SqliteOutbox;

    #[tokio::test]
    async fn a_dead_event_is_listed_and_redriven_by_key_or_all() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("opsbell.db")).unwrap();
        let outbox = SqliteOutbox::new(&db).unwrap();
        let event = |n: &str| Event::new(Source::Uipath, "", n, State::Faulted, "P", Utc::now());
        outbox.enqueue(&[event("a"), event("b")]).await.unwrap();
        let due = outbox.due(Utc::now(), 10).await.unwrap();
        for p in &due {
            outbox
                .bury(p.id, "HTTP 404 from slack".into())
                .await
                .unwrap();
        }
        let dead = list(&db).unwrap();
        assert_eq!(dead.len(), 2);
        assert_eq!(dead[0].key, "uipath::a:faulted");
        assert_eq!(dead[0].error, "HTTP 404 from slack");
        assert_eq!(redrive(&db, Some("uipath::b:faulted")).unwrap(), 1);
        assert_eq!(outbox.counts().await.unwrap(), (1, 1));
        assert_eq!(redrive(&db, None).unwrap(), 1);
        assert_eq!(outbox.counts().await.unwrap(), (2, 0));
        assert_eq!(redrive(&db, None).unwrap(), 0, "nothing left to redrive");
    }
}
