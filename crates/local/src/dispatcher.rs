//! Drains the outbox with the shared fan-out: the local stand-in for SQS → `alarm-fanout`.
//! An event leaves the outbox when nothing is left to retry; otherwise it comes back after a
//! backoff, and after `max_attempts` it is kept as dead (the local DLQ) with an ERROR log.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use opsbell_core::event::Event;
use opsbell_core::fanout::Fanout;
use opsbell_core::source::ParseError;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{error, warn};

use crate::outbox::{Pending, SqliteOutbox};

#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// Events delivered concurrently.
    pub batch: usize,
    /// Deadline given to one event's fan-out (the Lambda's timeout, locally).
    pub delivery_window: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            batch: 64,
            delivery_window: Duration::from_secs(30),
            max_attempts: 12,
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(600),
        }
    }
}

pub struct Dispatcher {
    pub outbox: Arc<SqliteOutbox>,
    pub fanout: Arc<Fanout>,
    pub options: DispatchOptions,
}

impl Dispatcher {
    /// Runs until `shutdown` turns true; the batch in flight is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            match self.drain_once().await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => error!(error = %e, "Outbox unreadable; retrying in a second."),
            }
            let wait = self.until_next_due().await;
            tokio::select! {
                _ = self.outbox.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn until_next_due(&self) -> Duration {
        let idle = Duration::from_secs(1);
        match self.outbox.next_due().await {
            Ok(Some(at)) => {
                let ms = at - Utc::now().timestamp_millis();
                Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(idle)
            }
            _ => idle,
        }
    }

    /// Delivers one batch of due events; returns how many it handled.
    pub async fn drain_once(&self) -> Result<usize, String> {
        let due = self.outbox.due(Utc::now(), self.options.batch).await?;
        let n = due.len();
        let done: Vec<i64> = join_all(due.into_iter().map(|p| self.handle(p)))
            .await
            .into_iter()
            .flatten()
            .collect();
        if !done.is_empty() {
            self.log_err(self.outbox.complete(done).await);
        }
        Ok(n)
    }

    /// Delivers one event; returns its id when it is done with.
    async fn handle(&self, pending: Pending) -> Option<i64> {
        let event = match ParseError::from_json::<Event>(pending.body.as_bytes()) {
            Ok(event) => event,
            Err(e) => {
                error!(id = pending.id, error = %e, "Unreadable outbox entry; kept as dead for a human.");
                self.log_err(self.outbox.bury(pending.id, e.to_string()).await);
                return None;
            }
        };
        let report = self
            .fanout
            .deliver(&event, Instant::now() + self.options.delivery_window)
            .await;
        if !report.should_retry() {
            return Some(pending.id);
        }
        let attempts = pending.attempts + 1;
        if attempts >= self.options.max_attempts {
            error!(key = %event.key, attempts, "Giving up on this event; kept as dead for a human.");
            let targets = format!("{:?}", report.targets);
            self.log_err(self.outbox.bury(pending.id, targets).await);
            return None;
        }
        let delay = backoff(&self.options, attempts);
        warn!(key = %event.key, attempts, ?delay, "Event will be retried.");
        let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        self.log_err(
            self.outbox
                .retry_at(pending.id, attempts, next, format!("{:?}", report.targets))
                .await,
        );
        None
    }

    fn log_err(&self, result: Result<(), String>) {
        if let Err(e) = result {
            error!(error = %e, "Outbox update failed; the event may be delivered again (deduplicated).");
        }
    }
}

fn backoff(options: &DispatchOptions, attempts: u32) -> Duration {
    options
        .retry_base
        .saturating_mul(1 << attempts.min(16))
        .min(options.retry_max)
}
