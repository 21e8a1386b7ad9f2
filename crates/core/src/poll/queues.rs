//! The queues a poll hands its events to: one that restricts them to some channels, and one that
//! skips the jobs the webhook already delivered everywhere.

use std::sync::Arc;

use futures::future::join_all;
use tracing::warn;

use crate::ports::{DeliveryLog, Queue, QueueError};

/// Restricts every event it queues to `channels`, then hands it on.
pub struct RestrictedQueue<'a> {
    pub inner: &'a dyn Queue,
    pub channels: Vec<String>,
}

#[async_trait::async_trait]
impl Queue for RestrictedQueue<'_> {
    async fn enqueue(&self, events: &[crate::event::Event]) -> Result<(), QueueError> {
        let mut events = events.to_vec();
        for e in &mut events {
            e.only_channels = self.channels.clone();
        }
        self.inner.enqueue(&events).await
    }

    async fn enqueue_later(
        &self,
        events: &[crate::event::Event],
        delay: std::time::Duration,
    ) -> Result<(), QueueError> {
        let mut events = events.to_vec();
        for e in &mut events {
            e.only_channels = self.channels.clone();
        }
        self.inner.enqueue_later(&events, delay).await
    }
}

/// Queues only the polled events not yet delivered everywhere. Every job the webhook reported
/// comes back in the next poll under the same key; queued again, it cost a message, a fan-out
/// invocation and a refused claim (about a quarter of a job's AWS bill). One eventually
/// consistent read per job replaces them. A job whose webhook was lost has no delivery record,
/// and one with a delivery still claimed, failed or refused has work left: both are queued as
/// before, so the poll stays the second chance it was. A store that cannot be read queues
/// everything.
pub struct UndeliveredQueue<'a> {
    pub inner: &'a dyn Queue,
    pub log: &'a dyn DeliveryLog,
    /// The channels a polled copy is routed to: each must be done for it to be skipped.
    pub targets: &'a Targets,
}

/// The channels an event is routed to now ([`crate::build::targets`]).
pub type Targets = Arc<dyn Fn(&crate::event::Event) -> Vec<String> + Send + Sync>;

/// Delivery records read at once.
const LOG_READS: usize = 8;

#[async_trait::async_trait]
impl Queue for UndeliveredQueue<'_> {
    async fn enqueue(&self, events: &[crate::event::Event]) -> Result<(), QueueError> {
        let mut done = Vec::with_capacity(events.len());
        for some in events.chunks(LOG_READS) {
            let reads = some.iter().map(|e| async {
                let targets = (self.targets)(e);
                self.log.delivered_everywhere(&e.key, &targets).await
            });
            done.extend(join_all(reads).await);
        }
        let mut left = Vec::with_capacity(events.len());
        for (event, done) in events.iter().zip(done) {
            match done {
                Ok(true) => {}
                Ok(false) => left.push(event.clone()),
                Err(e) => {
                    warn!(key = %event.key, error = %e, "Delivery log unreadable; queueing the polled job anyway.");
                    left.push(event.clone());
                }
            }
        }
        match left.is_empty() {
            true => Ok(()),
            false => self.inner.enqueue(&left).await,
        }
    }

    async fn enqueue_later(
        &self,
        events: &[crate::event::Event],
        delay: std::time::Duration,
    ) -> Result<(), QueueError> {
        self.inner.enqueue_later(events, delay).await
    }
}
