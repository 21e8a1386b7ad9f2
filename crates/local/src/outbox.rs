//! The durable outbox: the local stand-in for the SQS events queue. `enqueue` returns only after
//! the events are committed, so an accepted webhook survives a crash right after its 202.
//!
//! Group commit: one writer thread takes every enqueue waiting at that moment and commits them in
//! one transaction (one fsync), so durability does not cost the ingest path its throughput. The
//! dispatcher's removals of delivered events go through the same writer and ride in the same
//! transactions: one connection writes the outbox, so neither waits on the other's lock (a
//! second writer made SQLite's busy handler sleep whole milliseconds under load).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opsbell_core::event::Event;
use opsbell_core::ports::{Queue, QueueError};
use rusqlite::{Connection, params};
use tokio::sync::{Notify, oneshot};

use crate::db::{Db, with_conn};
use crate::millis;

/// Most enqueue calls one transaction takes.
const GROUP_MAX: usize = 1024;

struct Write {
    change: Change,
    done: oneshot::Sender<Result<(), String>>,
}

enum Change {
    /// New events, due this long after the commit.
    Enqueue { bodies: Vec<String>, delay_ms: i64 },
    /// Events done with.
    Complete { ids: Vec<i64> },
}

/// A queued event due for delivery.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: i64,
    pub body: String,
    pub attempts: u32,
}

pub struct SqliteOutbox {
    writer: Mutex<Option<mpsc::Sender<Write>>>,
    conn: Arc<Mutex<Connection>>,
    ready: Arc<Notify>,
}

impl SqliteOutbox {
    pub fn new(db: &Db) -> rusqlite::Result<Self> {
        let (tx, rx) = mpsc::channel::<Write>();
        let ready = Arc::new(Notify::new());
        let mut conn = db.connect()?;
        let notify = ready.clone();
        thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut group = vec![first];
                    while group.len() < GROUP_MAX {
                        match rx.try_recv() {
                            Ok(w) => group.push(w),
                            Err(_) => break,
                        }
                    }
                    let result = commit(&mut conn, &group).map_err(|e| e.to_string());
                    let queued = (group.iter()).any(|w| matches!(w.change, Change::Enqueue { .. }));
                    for w in group {
                        let _ = w.done.send(result.clone());
                    }
                    // Removals alone give the dispatcher nothing new to deliver.
                    if queued {
                        notify.notify_one();
                    }
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(SqliteOutbox {
            writer: Mutex::new(Some(tx)),
            conn: db.shared()?,
            ready,
        })
    }

    /// Waits until something was enqueued since the last wake-up.
    pub async fn notified(&self) {
        self.ready.notified().await;
    }

    /// Up to `limit` live events due at `now`, oldest first.
    pub async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Pending>, String> {
        let (now, limit) = (millis(now), i64::try_from(limit).unwrap_or(i64::MAX));
        with_conn(&self.conn, move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, body, attempts FROM outbox WHERE dead = 0 AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now, limit], |r| {
                Ok(Pending { id: r.get(0)?, body: r.get(1)?, attempts: r.get(2)? })
            })?;
            rows.collect()
        })
        .await
    }

    /// When the next live event is due, if any.
    pub async fn next_due(&self) -> Result<Option<i64>, String> {
        with_conn(&self.conn, |c| {
            c.query_row("SELECT MIN(next_at) FROM outbox WHERE dead = 0", [], |r| {
                r.get(0)
            })
        })
        .await
    }

    /// These events are done with (delivered, or nothing left to retry); committed with the
    /// writer's next group.
    pub async fn complete(&self, ids: Vec<i64>) -> Result<(), String> {
        self.send(Change::Complete { ids }).await.map_err(|e| e.0)
    }

    /// Try again at `next_at`.
    pub async fn retry_at(
        &self,
        id: i64,
        attempts: u32,
        next_at: DateTime<Utc>,
        error: String,
    ) -> Result<(), String> {
        let next_at = millis(next_at);
        with_conn(&self.conn, move |c| {
            c.execute(
                "UPDATE outbox SET attempts = ?2, next_at = ?3, last_error = ?4 WHERE id = ?1",
                params![id, attempts, next_at, error],
            )
            .map(|_| ())
        })
        .await
    }

    /// Keeps the event for a human (the local dead-letter queue).
    pub async fn bury(&self, id: i64, error: String) -> Result<(), String> {
        with_conn(&self.conn, move |c| {
            c.execute(
                "UPDATE outbox SET dead = 1, last_error = ?2 WHERE id = ?1",
                params![id, error],
            )
            .map(|_| ())
        })
        .await
    }

    /// (live, dead) counts, for health and tests.
    pub async fn counts(&self) -> Result<(i64, i64), String> {
        with_conn(&self.conn, |c| {
            c.query_row(
                "SELECT COALESCE(SUM(dead = 0), 0), COALESCE(SUM(dead = 1), 0) FROM outbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
    }

    /// Stops the writer once queued writes are committed; later enqueues fail.
    pub fn close(&self) {
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
    }
}

fn commit(conn: &mut Connection, group: &[Write]) -> rusqlite::Result<()> {
    let now = millis(Utc::now());
    let tx = conn.transaction()?;
    {
        let mut insert = tx
            .prepare_cached("INSERT INTO outbox (body, next_at, created_at) VALUES (?1, ?2, ?3)")?;
        let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
        for w in group {
            match &w.change {
                Change::Enqueue { bodies, delay_ms } => {
                    for body in bodies {
                        insert.execute(params![body, now + delay_ms, now])?;
                    }
                }
                Change::Complete { ids } => {
                    for id in ids {
                        delete.execute([id])?;
                    }
                }
            }
        }
    }
    tx.commit()
}

#[async_trait]
impl Queue for SqliteOutbox {
    async fn enqueue(&self, events: &[Event]) -> Result<(), QueueError> {
        self.write(events, 0).await
    }

    async fn enqueue_later(
        &self,
        events: &[Event],
        delay: std::time::Duration,
    ) -> Result<(), QueueError> {
        self.write(events, i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
            .await
    }
}

impl SqliteOutbox {
    /// Commits `events` (group commit with concurrent writers), due `delay_ms` from now.
    async fn write(&self, events: &[Event], delay_ms: i64) -> Result<(), QueueError> {
        let bodies = events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError(e.to_string()))?;
        self.send(Change::Enqueue { bodies, delay_ms }).await
    }

    /// Hands `change` to the writer; returns once it is committed.
    async fn send(&self, change: Change) -> Result<(), QueueError> {
        let (done, wait) = oneshot::channel();
        let sender = self
            .writer
            .lock()
            .map_err(|_| QueueError("outbox lock poisoned".into()))?
            .clone();
        let sender = sender.ok_or_else(|| QueueError("outbox is closed".into()))?;
        sender
            .send(Write { change, done })
            .map_err(|_| QueueError("outbox writer stopped".into()))?;
        wait.await
            .map_err(|_| QueueError("outbox writer stopped".into()))?
            .map_err(QueueError)
    }
}

#[cfg(test)]
mod tests {
    use opsbell_core::event::{Source, State};

    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn committed_events_survive_a_reopen_and_leave_when_completed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("o.db")).unwrap();
        let outbox = Arc::new(SqliteOutbox::new(&db).unwrap());
        let calls = (0..200).map(|i| {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let e = Event::new(
                    Source::Uipath,
                    "",
                    &format!("job-{i}"),
                    State::Faulted,
                    "P",
                    Utc::now(),
                );
                outbox.enqueue(&[e]).await
            })
        });
        for call in futures::future::join_all(calls).await {
            call.unwrap().unwrap();
        }
        drop(outbox);

        let reopened = SqliteOutbox::new(&Db::open(db.path()).unwrap()).unwrap();
        let due = reopened.due(Utc::now(), 1000).await.unwrap();
        assert_eq!(due.len(), 200);
        reopened.complete(vec![due[0].id]).await.unwrap();
        reopened
            .retry_at(
                due[1].id,
                1,
                Utc::now() + chrono::Duration::hours(1),
                "HTTP 500".into(),
            )
            .await
            .unwrap();
        reopened.bury(due[2].id, "unreadable".into()).await.unwrap();
        assert_eq!(reopened.counts().await.unwrap(), (198, 1));
        assert_eq!(reopened.due(Utc::now(), 1000).await.unwrap().len(), 197);
        reopened.close();
        let e = Event::new(Source::Uipath, "", "late", State::Faulted, "P", Utc::now());
        assert!(reopened.enqueue(&[e]).await.is_err());
    }
}
