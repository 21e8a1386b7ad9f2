//! The checks at work: a ping writes the check's row with one compare-and-swap and answers at
//! once (`webhook-ingest` and `opsbell serve`); a tick judges every check against the time
//! (the `job-poller`'s cycle, and `opsbell serve`'s timer). An event is queued before the row
//! that records it is written, under a key made of the check and the time it is about, so a
//! write that loses a race, or fails, only ever repeats an event the delivery log already
//! knows.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use tracing::{error, info, warn};

use super::{Heartbeat, Ping, Row, Status, on_ping, on_tick};
use crate::http::Reply;
use crate::ports::{Queue, Records, StoreError};
use crate::state::{Key, Stored, load_stored, swap};

const RACES: usize = 8;

/// The configured checks and where their rows and events go.
pub struct Heartbeats {
    checks: Vec<Heartbeat>,
    records: Arc<dyn Records>,
    queue: Arc<dyn Queue>,
}

/// Every check's row under one partition, so `status` lists them without the configuration.
const PARTITION: &str = "HEARTBEAT#ALL";

fn key(check: &Heartbeat) -> Key {
    Key::new(PARTITION, check.name.as_str())
}

impl Heartbeats {
    pub fn new(checks: Vec<Heartbeat>, records: Arc<dyn Records>, queue: Arc<dyn Queue>) -> Self {
        Heartbeats {
            checks,
            records,
            queue,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    pub fn checks(&self) -> &[Heartbeat] {
        &self.checks
    }

    /// Answers `/ping/<rest>` for a process that may have no checks (`404` then), as
    /// webhook-ingest and `opsbell serve` both route it.
    pub async fn answer(
        heartbeats: Option<&Heartbeats>,
        rest: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Reply {
        match heartbeats {
            Some(heartbeats) => heartbeats.ping(rest, body, now).await,
            None => Reply::new(
                404,
                json!({ "error": "no heartbeat checks are configured" }),
            ),
        }
    }

    /// Answers `/ping/<rest>`: `<key>`, `<key>/start`, `<key>/fail` or `<key>/<exit code>`.
    pub async fn ping(&self, rest: &str, body: &[u8], now: DateTime<Utc>) -> Reply {
        let (key, action) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(check) = self.checks.iter().find(|c| c.owns(key)) else {
            warn!("A ping for no configured check was refused.");
            return Reply::new(404, json!({ "error": "no such check" }));
        };
        let Some(ping) = Ping::parse(action.trim_end_matches('/')) else {
            return Reply::new(
                400,
                json!({ "error": "after the key: nothing, start, fail, or an exit code 0-255" }),
            );
        };
        let body = tail(body);
        match self.record(check, ping, &body, now).await {
            Ok(status) => {
                info!(check = %check.name, ?ping, status = status.as_str(), "Heartbeat ping.");
                Reply::new(200, json!({ "ok": true, "status": status.as_str() }))
            }
            Err(e) => {
                error!(check = %check.name, error = %e, "A heartbeat ping could not be recorded; the pinger should retry.");
                Reply::new(503, json!({ "error": "the ping could not be recorded" }))
            }
        }
    }

    async fn record(
        &self,
        check: &Heartbeat,
        ping: Ping,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Status, String> {
        let key = key(check);
        for _ in 0..RACES {
            let read: Option<Stored<Row>> = load_stored(self.records.as_ref(), &key)
                .await
                .map_err(|e| e.to_string())?;
            let row = read.as_ref().map(|r| r.row.clone()).unwrap_or_default();
            let (next, event) = on_ping(check, &row, ping, body, now);
            if let Some(event) = event {
                self.queue
                    .enqueue(&[event])
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let records = self.records.as_ref();
            if swap(records, &key, read.as_ref(), &next, None)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Ok(next.status);
            }
        }
        Err("the check's row kept changing".into())
    }

    /// Judges every check at `now`, queueing what became late, down or ran too long. The
    /// number of events queued; a check whose row cannot be read or written is retried at the
    /// next tick, the others go on.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut queued = 0;
        let mut failed = None;
        for check in &self.checks {
            match self.judge(check, now).await {
                Ok(n) => queued += n,
                Err(e) => {
                    error!(check = %check.name, error = %e, "A heartbeat check could not be judged; the next tick retries.");
                    failed = Some(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(queued),
        }
    }

    async fn judge(&self, check: &Heartbeat, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let key = key(check);
        for _ in 0..RACES {
            let read: Option<Stored<Row>> = load_stored(self.records.as_ref(), &key).await?;
            let Some(row) = read.as_ref().map(|r| r.row.clone()) else {
                return Ok(0);
            };
            let (next, events) = on_tick(check, &row, now);
            if next == row {
                return Ok(0);
            }
            if !events.is_empty() {
                self.queue
                    .enqueue(&events)
                    .await
                    .map_err(|e| StoreError(e.to_string()))?;
            }
            if swap(self.records.as_ref(), &key, read.as_ref(), &next, None)
                .await?
                .is_some()
            {
                for e in &events {
                    info!(check = %check.name, state = %e.state, "Heartbeat check changed.");
                }
                return Ok(events.len());
            }
        }
        Err(StoreError("the check's row kept changing".into()))
    }

    /// Every check's stored row by name (checks that never pinged have none).
    pub async fn rows(records: &dyn Records) -> Result<Vec<(String, Row)>, StoreError> {
        let rows = records.list_records(PARTITION).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, body)| Some((name, serde_json::from_value(body).ok()?)))
            .collect())
    }

    /// Each check's name, status (`paused` when configured so) and last ping, for `status`.
    pub async fn statuses(&self) -> Vec<(String, String, Option<DateTime<Utc>>)> {
        let mut out = Vec::new();
        for check in &self.checks {
            let row: Option<Row> = crate::state::load(self.records.as_ref(), &key(check))
                .await
                .ok()
                .flatten();
            let row = row.unwrap_or_default();
            let status = match check.paused {
                true => "paused",
                false => row.status.as_str(),
            };
            out.push((check.name.clone(), status.to_string(), row.last_ping));
        }
        out
    }
}

/// The last [`super::MAX_BODY`] bytes of a ping's body, as text, on a character boundary.
fn tail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut start = text.len().saturating_sub(super::MAX_BODY);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}
