//! Fan-out logic against an in-memory delivery log and in-memory sinks.

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::event::{Source, State};
use crate::ports::{Notifier, NotifyError, Receipt, SystemClock};
use crate::testing::{MemoryRecords, MemoryStore};

/// Answers from a script, counting calls.
struct Scripted {
    calls: AtomicU32,
    fail_first: u32,
    permanent: bool,
}

#[async_trait]
impl Notifier for Scripted {
    async fn notify(&self, _: &Event, _: Instant) -> Result<Receipt, NotifyError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n > self.fail_first {
            return Ok(Receipt {
                detail: "ok".into(),
                attempts: 1,
            });
        }
        Err(if self.permanent {
            NotifyError::Permanent {
                status: 404,
                detail: "no_service".into(),
                attempts: 1,
            }
        } else {
            NotifyError::Retryable {
                detail: "HTTP 500".into(),
                attempts: 1,
                retry_after: None,
            }
        })
    }
}

fn scripted(fail_first: u32, permanent: bool) -> Arc<Scripted> {
    Arc::new(Scripted {
        calls: AtomicU32::new(0),
        fail_first,
        permanent,
    })
}

fn event() -> Event {
    Event::new(
        Source::Uipath,
        "",
        "job-1",
        State::Faulted,
        "P",
        DateTime::UNIX_EPOCH,
    )
}

fn fanout(sinks: &[(&str, Arc<Scripted>)]) -> Fanout {
    let destinations = sinks
        .iter()
        .map(|(n, s)| (n.to_string(), Destination::Notifier(s.clone())))
        .collect();
    let routes = sinks
        .iter()
        .map(|(n, _)| Route::to(n, vec![State::Faulted]))
        .collect();
    Fanout::new(
        destinations,
        routes,
        Arc::new(MemoryStore::default()),
        Arc::new(MemoryRecords::default()),
        Arc::new(SystemClock),
    )
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn a_failing_target_never_resends_the_others() {
    let (good, flaky) = (scripted(0, false), scripted(1, false));
    let fanout = fanout(&[("good", good.clone()), ("flaky", flaky.clone())]);
    let first = fanout.deliver(&event(), deadline()).await;
    assert!(first.should_retry());
    let second = fanout.deliver(&event(), deadline()).await;
    assert!(!second.should_retry(), "{second:?}");
    assert_eq!(good.calls.load(Ordering::SeqCst), 1);
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        second.targets[0],
        ("good".to_string(), TargetOutcome::AlreadyDelivered)
    );
    assert_eq!(
        second.targets[1],
        (
            "flaky".to_string(),
            TargetOutcome::Delivered {
                attempts: 1,
                detail: "ok".into()
            }
        )
    );
    let third = fanout.deliver(&event(), deadline()).await;
    assert!(
        third
            .targets
            .iter()
            .all(|(_, o)| *o == TargetOutcome::AlreadyDelivered)
    );
}

#[tokio::test]
async fn a_permanent_rejection_returns_the_message_and_is_tried_again_later() {
    let refused = scripted(u32::MAX, true);
    let good = scripted(0, false);
    let fanout = fanout(&[("refused", refused.clone()), ("good", good.clone())]);
    let report = fanout.deliver(&event(), deadline()).await;
    assert!(
        report.should_retry(),
        "back to the queue, so it ends in the DLQ"
    );
    let again = fanout.deliver(&event(), deadline()).await;
    assert!(matches!(
        again.targets[0].1,
        TargetOutcome::Failed {
            retryable: false,
            ..
        }
    ));
    assert_eq!(again.targets[1].1, TargetOutcome::AlreadyDelivered);
    assert_eq!(
        refused.calls.load(Ordering::SeqCst),
        2,
        "nothing was posted, so trying again is safe"
    );
    assert_eq!(good.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_claim_held_by_another_worker_is_busy() {
    let slow = scripted(0, false);
    let fanout = fanout(&[("slow", slow.clone())]);
    let now = Utc::now();
    fanout
        .log
        .claim_delivery(
            &event().key,
            "slow",
            now,
            now + chrono::Duration::minutes(5),
        )
        .await
        .unwrap();
    let report = fanout.deliver(&event(), deadline()).await;
    assert_eq!(report.targets[0].1, TargetOutcome::Busy);
    assert!(report.should_retry());
    assert_eq!(slow.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unrouted_events_go_nowhere() {
    let any = scripted(0, false);
    let fanout = fanout(&[("any", any.clone())]);
    let mut started = event();
    started.state = State::Started;
    let report = fanout.deliver(&started, deadline()).await;
    assert!(report.targets.is_empty() && !report.should_retry());
}

#[tokio::test]
async fn a_planned_silence_holds_back_only_its_channel_while_it_lasts() {
    let (ops, other) = (scripted(0, false), scripted(0, false));
    let now = Utc::now();
    let window = crate::silence::Silence {
        id: "db-upgrade".into(),
        matchers: crate::route::Matchers {
            processes: vec!["P".into()],
            ..Default::default()
        },
        channels: vec!["ops".into()],
        starts_at: now - chrono::Duration::minutes(1),
        ends_at: now + chrono::Duration::hours(1),
        created_by: "config".into(),
        comment: String::new(),
    };
    let fanout =
        fanout(&[("ops", ops.clone()), ("other", other.clone())]).with_silences(vec![window]);
    let report = fanout.deliver(&event(), deadline()).await;
    assert_eq!(
        report.targets,
        [
            (
                "ops".to_string(),
                TargetOutcome::Withheld {
                    reason: "silenced by db-upgrade".into()
                }
            ),
            (
                "other".to_string(),
                TargetOutcome::Delivered {
                    attempts: 1,
                    detail: "ok".into()
                }
            ),
        ]
    );
    assert_eq!(ops.calls.load(Ordering::SeqCst), 0);
}
