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

/// A Chat bot in memory: its registry, and what each space answers.
#[derive(Default)]
struct FakeBot {
    registry: std::sync::Mutex<Vec<String>>,
    /// The status every post is refused with, if any.
    refuse: Option<u16>,
    posts: std::sync::Mutex<Vec<(String, Event)>>,
}

impl FakeBot {
    fn in_spaces(spaces: &[&str], refuse: Option<u16>) -> Arc<FakeBot> {
        Arc::new(FakeBot {
            registry: std::sync::Mutex::new(spaces.iter().map(|s| s.to_string()).collect()),
            refuse,
            posts: Default::default(),
        })
    }

    fn posts_of(&self, key: &crate::event::EventKey) -> usize {
        let posts = self.posts.lock().unwrap();
        posts.iter().filter(|(_, e)| &e.key == key).count()
    }
}

#[async_trait]
impl crate::ports::Spaces for FakeBot {
    async fn spaces(&self) -> Result<Vec<String>, crate::ports::StoreError> {
        Ok(self.registry.lock().unwrap().clone())
    }

    async fn post(&self, space: &str, event: &Event, _: Instant) -> Result<Receipt, NotifyError> {
        if let Some(status) = self.refuse {
            return Err(NotifyError::Permanent {
                status,
                detail: "NOT_FOUND".into(),
                attempts: 1,
            });
        }
        let post = (space.to_string(), event.clone());
        self.posts.lock().unwrap().push(post);
        Ok(Receipt {
            detail: "ok".into(),
            attempts: 1,
        })
    }

    async fn forget(&self, space: &str) {
        self.registry.lock().unwrap().retain(|s| s != space);
    }

    fn concurrency(&self) -> usize {
        2
    }
}

fn job(n: u32) -> Event {
    Event::new(
        Source::Uipath,
        "",
        &format!("job-{n}"),
        State::Faulted,
        "P",
        DateTime::UNIX_EPOCH,
    )
}

#[tokio::test]
async fn a_held_chat_bot_event_redelivered_after_its_digest_is_not_posted_again() {
    let bot = FakeBot::in_spaces(&["spaces/A", "spaces/B"], None);
    // Slack fails the first time, so the held event's message comes back after the digest.
    let slack = scripted(3, false);
    let queue = Arc::new(crate::testing::MemoryQueue::default());
    let clock = Arc::new(crate::testing::ManualClock::at(
        "2026-12-01T10:00:10Z".parse().unwrap(),
    ));
    let destinations = BTreeMap::from([
        ("bot".to_string(), Destination::Spaces(bot.clone())),
        ("slack".to_string(), Destination::Notifier(slack.clone())),
    ]);
    let routes = vec![Route::to("bot", vec![]), Route::to("slack", vec![])];
    let policy = flood::FloodPolicy {
        burst: 1,
        window: Duration::from_secs(60),
        lines: 10,
    };
    let fanout = Fanout::new(
        destinations,
        routes,
        Arc::new(MemoryStore::default()),
        Arc::new(MemoryRecords::default()),
        clock.clone(),
    )
    .with_flood(BTreeMap::from([("bot".to_string(), policy)]), queue.clone());
    let (first, held) = (job(1), job(2));
    fanout.deliver(&first, deadline()).await;
    assert!(fanout.deliver(&held, deadline()).await.should_retry());
    assert_eq!(bot.posts_of(&held.key), 0, "held for the digest");
    let digest = queue.later.lock().unwrap()[0].0.clone();
    clock.advance(chrono::Duration::seconds(62));
    assert!(!fanout.deliver(&digest, deadline()).await.should_retry());
    assert_eq!(bot.posts_of(&digest.key), 2, "the digest, to both spaces");
    // SQS brings the held event's message back (Slack failed): long after the digest.
    clock.advance(chrono::Duration::seconds(360));
    let again = fanout.deliver(&held, deadline()).await;
    assert_eq!(bot.posts_of(&held.key), 0, "still held: posted nowhere");
    assert_eq!(again.targets[0].1, TargetOutcome::AlreadyDelivered);
}

fn bot_only(bot: Arc<FakeBot>) -> Fanout {
    Fanout::new(
        BTreeMap::from([("bot".to_string(), Destination::Spaces(bot))]),
        vec![Route::to("bot", vec![])],
        Arc::new(MemoryStore::default()),
        Arc::new(MemoryRecords::default()),
        Arc::new(SystemClock),
    )
}

#[tokio::test]
async fn refusals_that_hit_every_space_forget_no_space_whatever_the_status() {
    for status in [403, 404] {
        let bot = FakeBot::in_spaces(&["spaces/A", "spaces/B"], Some(status));
        let report = bot_only(bot.clone()).deliver(&event(), deadline()).await;
        assert!(report.should_retry(), "{status}: a failure, retried");
        assert_eq!(
            bot.registry.lock().unwrap().len(),
            2,
            "{status}: a wrong api_base answers 404 everywhere; the registry stays"
        );
    }
}

#[tokio::test]
async fn a_bot_in_no_space_is_a_failure_not_a_delivery_to_0_of_0() {
    let bot = FakeBot::in_spaces(&[], None);
    let report = bot_only(bot).deliver(&event(), deadline()).await;
    assert!(
        matches!(&report.targets[0].1, TargetOutcome::Failed { retryable: true, error } if error.contains("no space")),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_space_that_refuses_while_another_takes_the_event_is_forgotten() {
    let bot = FakeBot::in_spaces(&["spaces/A"], None);
    let gone = FakeBot::in_spaces(&["spaces/GONE"], Some(404));
    // Both registries' spaces as one bot: A takes it, GONE refuses.
    struct Both(Arc<FakeBot>, Arc<FakeBot>);
    #[async_trait]
    impl crate::ports::Spaces for Both {
        async fn spaces(&self) -> Result<Vec<String>, crate::ports::StoreError> {
            let mut all = self.0.spaces().await?;
            all.extend(self.1.spaces().await?);
            Ok(all)
        }
        async fn post(&self, space: &str, e: &Event, d: Instant) -> Result<Receipt, NotifyError> {
            match space {
                "spaces/GONE" => self.1.post(space, e, d).await,
                _ => self.0.post(space, e, d).await,
            }
        }
        async fn forget(&self, space: &str) {
            self.1.forget(space).await;
        }
        fn concurrency(&self) -> usize {
            2
        }
    }
    let both = Arc::new(Both(bot.clone(), gone.clone()));
    let fanout = Fanout::new(
        BTreeMap::from([("bot".to_string(), Destination::Spaces(both))]),
        vec![Route::to("bot", vec![])],
        Arc::new(MemoryStore::default()),
        Arc::new(MemoryRecords::default()),
        Arc::new(SystemClock),
    );
    let report = fanout.deliver(&event(), deadline()).await;
    assert!(!report.should_retry(), "{report:?}");
    assert!(gone.registry.lock().unwrap().is_empty(), "forgotten");
    assert_eq!(bot.posts_of(&event().key), 1);
}

#[tokio::test]
async fn a_digest_whose_window_record_is_gone_still_posts_that_events_were_held() {
    let slack = scripted(0, false);
    let queue = Arc::new(crate::testing::MemoryQueue::default());
    let fanout = fanout(&[("slack", slack.clone())]).with_flood(
        BTreeMap::from([("slack".to_string(), flood::FloodPolicy::default())]),
        queue,
    );
    // Redriven from the DLQ after its window's row expired.
    let digest = flood::digest_event("slack", "2026-11-20T10:00:00Z".parse().unwrap());
    let report = fanout.deliver(&digest, deadline()).await;
    assert!(
        matches!(report.targets[0].1, TargetOutcome::Delivered { .. }),
        "{report:?}"
    );
    assert_eq!(slack.calls.load(Ordering::SeqCst), 1, "posted, not dropped");
}

#[tokio::test]
async fn silences_that_cannot_be_read_hold_the_event_for_a_retry_instead_of_sending_it() {
    struct Down;
    #[async_trait]
    impl crate::ports::Records for Down {
        async fn get_record(
            &self,
            _: &str,
            _: &str,
        ) -> Result<Option<serde_json::Value>, crate::ports::StoreError> {
            Err(crate::ports::StoreError("down".into()))
        }
        async fn put_record(
            &self,
            _: &str,
            _: &str,
            _: &serde_json::Value,
            _: Option<DateTime<Utc>>,
        ) -> Result<(), crate::ports::StoreError> {
            Err(crate::ports::StoreError("down".into()))
        }
        async fn swap_record(
            &self,
            _: &str,
            _: &str,
            _: Option<&serde_json::Value>,
            _: &serde_json::Value,
            _: Option<DateTime<Utc>>,
        ) -> Result<bool, crate::ports::StoreError> {
            Err(crate::ports::StoreError("down".into()))
        }
        async fn delete_record(&self, _: &str, _: &str) -> Result<(), crate::ports::StoreError> {
            Err(crate::ports::StoreError("down".into()))
        }
        async fn list_records(
            &self,
            _: &str,
        ) -> Result<Vec<(String, serde_json::Value)>, crate::ports::StoreError> {
            Err(crate::ports::StoreError("down".into()))
        }
    }
    let slack = scripted(0, false);
    let fanout = Fanout::new(
        BTreeMap::from([("slack".to_string(), Destination::Notifier(slack.clone()))]),
        vec![Route::to("slack", vec![])],
        Arc::new(MemoryStore::default()),
        Arc::new(Down),
        Arc::new(SystemClock),
    );
    let report = fanout.deliver(&event(), deadline()).await;
    assert!(report.should_retry());
    assert_eq!(
        slack.calls.load(Ordering::SeqCst),
        0,
        "a silence may hold it"
    );
}

/// A writer for a test's own log lines.
#[derive(Clone, Default)]
struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_event_no_route_hears_is_logged_at_info_with_its_key_state_and_source() {
    let lines = Lines::default();
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let slack = scripted(0, false);
    let mut unheard = event();
    unheard.state = State::Successful;
    let report = fanout(&[("slack", slack.clone())])
        .deliver(&unheard, Instant::now() + Duration::from_secs(5))
        .await;
    assert!(!report.should_retry());
    assert_eq!(slack.calls.load(Ordering::SeqCst), 0);
    let logged = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let line = logged
        .lines()
        .find(|l| l.contains("No route hears this event"));
    let line = line.unwrap_or_else(|| panic!("no line for the unheard event in:\n{logged}"));
    let key = format!("key={}", unheard.key);
    for needle in [" INFO ", &key, "state=successful", "source=uipath"] {
        assert!(line.contains(needle), "{needle} missing from {line}");
    }
}
