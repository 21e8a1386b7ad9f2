//! Polled jobs the webhook already brought.

use chrono::Utc;

use super::*;
use crate::event::{Event, Source, State};
use crate::testing::{MemoryQueue, MemoryStore};

fn job(id: &str) -> Event {
    Event::new(Source::Uipath, "", id, State::Faulted, "P", Utc::now())
}

#[tokio::test]
async fn a_polled_job_the_webhook_brought_is_not_queued_again() {
    let (log, queue) = (MemoryStore::default(), MemoryQueue::default());
    let (seen, lost) = (job("seen-by-webhook"), job("webhook-lost"));
    let now = Utc::now();
    let lease = now + chrono::Duration::minutes(1);
    log.claim_delivery(&seen.key, "slack", now, lease)
        .await
        .unwrap();
    let unseen = UnseenQueue {
        inner: &queue,
        log: &log,
    };
    unseen.enqueue(&[seen, lost.clone()]).await.unwrap();
    assert_eq!(queue.take(), vec![lost], "only the job no webhook brought");
    unseen.enqueue(&[]).await.unwrap();
    assert!(queue.take().is_empty());
}
