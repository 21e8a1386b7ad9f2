//! Polled jobs the webhook already brought.

use chrono::Utc;

use super::*;
use crate::event::{Event, Source, State};
use crate::ports::DeliveryOutcome;
use crate::testing::{MemoryQueue, MemoryStore};

fn job(id: &str) -> Event {
    Event::new(Source::Uipath, "", id, State::Faulted, "P", Utc::now())
}

#[tokio::test]
async fn a_polled_job_the_webhook_delivered_everywhere_is_not_queued_again() {
    let (log, queue) = (MemoryStore::default(), MemoryQueue::default());
    let (delivered, failed, lost) = (job("delivered"), job("failed"), job("webhook-lost"));
    let now = Utc::now();
    let lease = now + chrono::Duration::minutes(1);
    for (event, outcome) in [
        (
            &delivered,
            DeliveryOutcome::Delivered {
                detail: "ok".into(),
            },
        ),
        (
            &failed,
            DeliveryOutcome::Failed {
                error: "HTTP 503".into(),
                permanent: false,
            },
        ),
    ] {
        log.claim_delivery(&event.key, "slack", now, lease)
            .await
            .unwrap();
        log.finish_delivery(&event.key, "slack", &outcome, now)
            .await
            .unwrap();
    }
    let targets: Targets = Arc::new(|_| vec!["slack".to_string()]);
    let unseen = UndeliveredQueue {
        inner: &queue,
        log: &log,
        targets: &targets,
    };
    unseen
        .enqueue(&[delivered, failed.clone(), lost.clone()])
        .await
        .unwrap();
    assert_eq!(
        queue.take(),
        vec![failed, lost],
        "the failed one gets its second chance; the lost one its first"
    );
    unseen.enqueue(&[]).await.unwrap();
    assert!(queue.take().is_empty());
}

#[tokio::test]
async fn a_polled_copy_routed_to_a_target_without_a_record_is_queued() {
    let (log, queue) = (MemoryStore::default(), MemoryQueue::default());
    let seen = job("seen-by-slack-only");
    let now = Utc::now();
    let lease = now + chrono::Duration::minutes(1);
    log.claim_delivery(&seen.key, "slack", now, lease)
        .await
        .unwrap();
    let delivered = DeliveryOutcome::Delivered {
        detail: "ok".into(),
    };
    log.finish_delivery(&seen.key, "slack", &delivered, now)
        .await
        .unwrap();
    // The poll's copy also goes to the tenant's Chatwork room, which the webhook's never did.
    let targets: Targets = Arc::new(|_| vec!["slack".to_string(), "chatwork".to_string()]);
    let unseen = UndeliveredQueue {
        inner: &queue,
        log: &log,
        targets: &targets,
    };
    unseen.enqueue(std::slice::from_ref(&seen)).await.unwrap();
    assert_eq!(queue.take(), vec![seen]);
}
