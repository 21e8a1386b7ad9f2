//! Flood control with in-memory ports: the first `burst` events go out, the rest wait for one
//! digest per window, and every event is posted or counted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::*;
use crate::fanout::{Destination, Fanout, TargetOutcome};
use crate::ports::{Clock, Notifier, NotifyError, Receipt, StoreError};
use crate::problem::Problems;
use crate::route::Route;
use crate::testing::{ManualClock, MemoryQueue, MemoryRecords, MemoryStore};

#[derive(Default)]
struct Sink(Mutex<Vec<Event>>);

#[async_trait]
impl Notifier for Sink {
    async fn notify(&self, event: &Event, _: Instant) -> Result<Receipt, NotifyError> {
        self.0.lock().unwrap().push(event.clone());
        Ok(Receipt {
            detail: "ok".into(),
            attempts: 1,
        })
    }
}

fn job(n: u32, process: &str) -> Event {
    let mut e = Event::new(
        Source::Uipath,
        "",
        &format!("job-{n}"),
        State::Faulted,
        process,
        DateTime::UNIX_EPOCH,
    );
    e.folder = Some(if n.is_multiple_of(2) { "12" } else { "7" }.into());
    e
}

#[tokio::test]
async fn a_flood_becomes_five_posts_and_one_digest_that_counts_the_rest() {
    let sink = Arc::new(Sink::default());
    let records = Arc::new(MemoryRecords::default());
    let log = Arc::new(MemoryStore::default());
    let queue = Arc::new(MemoryQueue::default());
    let start: DateTime<Utc> = "2026-12-01T10:00:10Z".parse().unwrap();
    let clock = Arc::new(ManualClock::at(start));
    let destinations = BTreeMap::from([("ops".to_string(), Destination::Notifier(sink.clone()))]);
    let policy = FloodPolicy {
        burst: 5,
        window: Duration::from_secs(60),
        lines: 3,
    };
    let fanout = Fanout::new(
        destinations,
        vec![Route::to("ops", vec![])],
        log.clone(),
        records.clone(),
        clock.clone(),
    )
    .with_flood(BTreeMap::from([("ops".to_string(), policy)]), queue.clone());
    let deadline = || Instant::now() + Duration::from_secs(30);
    let events: Vec<Event> = (0..12)
        .map(|n| job(n, if n < 8 { "Invoice" } else { "Billing" }))
        .collect();
    for e in &events {
        fanout.deliver(e, deadline()).await;
    }
    assert_eq!(
        sink.0.lock().unwrap().len(),
        5,
        "the first five go out on their own"
    );
    let later = queue.later.lock().unwrap().clone();
    assert_eq!(later.len(), 1, "one digest per window");
    let (digest, delay) = &later[0];
    assert_eq!(
        *delay,
        Duration::from_secs(52),
        "50 s to the window's end, then 2 s of grace"
    );
    assert_eq!(digest.only_channels, ["ops"]);
    // Held events are done in the delivery log, by the digest.
    let redelivered = fanout.deliver(&events[7], deadline()).await;
    assert_eq!(redelivered.targets[0].1, TargetOutcome::AlreadyDelivered);

    // A crash before a delivery was recorded brings the event back: the window answers as
    // before, without counting it again.
    let flood = fanout.flood.as_ref().unwrap();
    let now = clock.now();
    let sent = flood
        .admit(records.as_ref(), "ops", &events[0], now, true)
        .await
        .unwrap();
    assert_eq!(sent, Admit::Send);
    let held = flood
        .admit(records.as_ref(), "ops", &events[9], now, true)
        .await
        .unwrap();
    assert_eq!(held, Admit::Held(digest.key.to_string()));

    clock.advance(chrono::Duration::seconds(52));
    let report = fanout.deliver(digest, deadline()).await;
    assert!(
        matches!(report.targets[0].1, TargetOutcome::Delivered { .. }),
        "{report:?}"
    );
    let posted = sink.0.lock().unwrap().clone();
    assert_eq!(posted.len(), 6);
    let d = &posted[5];
    assert_eq!(
        d.headline.as_deref(),
        Some("7 more event(s) in 1m were held back (flood)")
    );
    let info = d.info.as_deref().unwrap();
    assert_eq!(
        info,
        "By state: faulted 7\nBy process: Billing 4, Invoice 3\nBy folder: 7 4, 12 3\n\n\
         • Invoice faulted — uipath::job-5:faulted\n• Invoice faulted — uipath::job-6:faulted\n\
         • Invoice faulted — uipath::job-7:faulted\nand 4 more"
    );
    assert_eq!(
        fanout.deliver(digest, deadline()).await.targets[0].1,
        TargetOutcome::AlreadyDelivered,
        "a redelivered digest posts nothing"
    );
    // An event of the closed window (a slow worker) goes out on its own.
    clock.advance(chrono::Duration::seconds(-10));
    fanout.deliver(&job(99, "Late"), deadline()).await;
    assert_eq!(sink.0.lock().unwrap().len(), 7);
}

#[test]
fn a_policy_reads_false_true_and_its_fields() {
    let read = |v: serde_json::Value| {
        let mut p = Problems::default();
        let policy = FloodPolicy::parse(v, "channels.ops", &mut p);
        (
            policy,
            p.0.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(read(serde_json::json!(false)), (None, vec![]));
    assert_eq!(
        read(serde_json::json!(true)).0,
        Some(FloodPolicy::default())
    );
    let (p, problems) = read(serde_json::json!({"burst": 3, "window": "2m"}));
    assert!(problems.is_empty());
    assert_eq!(
        p.unwrap(),
        FloodPolicy {
            burst: 3,
            window: Duration::from_secs(120),
            lines: 10
        }
    );
    let (_, problems) = read(serde_json::json!({"window": "1h"}));
    assert!(
        problems[0].contains("channels.ops.flood.window"),
        "{problems:?}"
    );
    let (_, problems) = read(serde_json::json!({"bursts": 3}));
    assert!(problems[0].contains("bursts"), "{problems:?}");
}

/// Records whose `at`-th write fails (a crash at that write: the delivery fails and the event
/// comes back), as a Lambda dying mid-flood would see it.
struct CrashAt {
    inner: MemoryRecords,
    writes: std::sync::atomic::AtomicUsize,
    at: usize,
}

#[async_trait]
impl crate::ports::Records for CrashAt {
    async fn get_record(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.inner.get_record(pk, sk).await
    }
    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &serde_json::Value,
        e: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.inner.put_record(pk, sk, body, e).await
    }
    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&serde_json::Value>,
        body: &serde_json::Value,
        e: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        if pk.starts_with("FLOOD#")
            && self
                .writes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                == self.at
        {
            // The write happens, its answer is lost: the worst case for doubling.
            let _ = self.inner.swap_record(pk, sk, expected, body, e).await;
            return Err(StoreError("injected crash".into()));
        }
        self.inner.swap_record(pk, sk, expected, body, e).await
    }
    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.inner.delete_record(pk, sk).await
    }
    async fn list_records(&self, pk: &str) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        self.inner.list_records(pk).await
    }
}

/// A crash at each write of the flood window in turn (its answer lost after it landed): the
/// failed delivery comes back, and in the end every event is posted or counted exactly once,
/// with one digest.
#[tokio::test]
async fn a_crash_at_any_window_write_loses_nothing_and_counts_nothing_twice() {
    for at in 0..12 {
        let sink = Arc::new(Sink::default());
        let records = Arc::new(CrashAt {
            inner: MemoryRecords::default(),
            writes: Default::default(),
            at,
        });
        let queue = Arc::new(MemoryQueue::default());
        let start: DateTime<Utc> = "2026-12-01T10:00:10Z".parse().unwrap();
        let clock = Arc::new(ManualClock::at(start));
        let destinations =
            BTreeMap::from([("ops".to_string(), Destination::Notifier(sink.clone()))]);
        let policy = FloodPolicy {
            burst: 3,
            window: Duration::from_secs(60),
            lines: 20,
        };
        let fanout = Fanout::new(
            destinations,
            vec![Route::to("ops", vec![])],
            Arc::new(MemoryStore::default()),
            records.clone(),
            clock.clone(),
        )
        .with_flood(BTreeMap::from([("ops".to_string(), policy)]), queue.clone());
        let deadline = || Instant::now() + Duration::from_secs(30);
        let events: Vec<Event> = (0..8).map(|n| job(n, "Invoice")).collect();
        for e in &events {
            // As the queue redelivers a failed message.
            for _ in 0..3 {
                if !fanout.deliver(e, deadline()).await.should_retry() {
                    break;
                }
            }
        }
        clock.advance(chrono::Duration::seconds(60));
        let digests = queue.later.lock().unwrap().clone();
        assert!(
            !digests.is_empty(),
            "crash at write {at}: a digest was queued"
        );
        for (d, _) in &digests {
            for _ in 0..3 {
                if !fanout.deliver(d, deadline()).await.should_retry() {
                    break;
                }
            }
        }
        let posted = sink.0.lock().unwrap().clone();
        let counted: usize = posted
            .iter()
            .map(|e| match e.source {
                Source::Digest => e
                    .headline
                    .as_deref()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap(),
                _ => 1,
            })
            .sum();
        assert_eq!(counted, 8, "crash at write {at}: {posted:#?}");
        assert_eq!(
            posted.iter().filter(|e| e.source == Source::Digest).count(),
            1,
            "crash at write {at}"
        );
    }
}

/// The Chat bot's flood is counted per channel, before its spaces: the first `burst` events go
/// to every space, the rest wait, and the digest goes to every space.
#[tokio::test]
async fn the_chat_bots_flood_is_held_per_channel_and_its_digest_reaches_every_space() {
    use crate::notify::chat_api::ServiceAccountKey;
    use crate::notify::google_chat_bot::{GoogleChatBotConfig, GoogleChatBotNotifier};
    use crate::ports::Records;
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, ResponseTemplate};

    let kit = crate::notify::testkit::Kit::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "ya29.token", "expires_in": 3599, "token_type": "Bearer"})))
        .mount(&kit.server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/v1/spaces/[A-Z]+/messages$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"name": "spaces/X/messages/1"})),
        )
        .mount(&kit.server)
        .await;
    let records = kit.records.clone();
    for space in ["spaces/AAA", "spaces/BBB"] {
        records
            .put_record("SPACE#opsbell", space, &serde_json::json!({}), None)
            .await
            .unwrap();
    }
    let key = crate::testing::service_account_key(&format!("{}/token", kit.base));
    let config = GoogleChatBotConfig {
        service_account_key: ServiceAccountKey::parse(&key).unwrap(),
        bot: "opsbell".into(),
        api_base: kit.base.clone(),
        concurrency: 8,
    };
    let bot = Arc::new(GoogleChatBotNotifier::new(
        kit.ctx("ops-bot"),
        config,
        records.clone(),
    ));
    let queue = Arc::new(MemoryQueue::default());
    let clock = Arc::new(ManualClock::at("2026-12-01T10:00:10Z".parse().unwrap()));
    let policy = FloodPolicy {
        burst: 2,
        window: Duration::from_secs(60),
        lines: 10,
    };
    let destinations = BTreeMap::from([("ops-bot".to_string(), Destination::Spaces(bot))]);
    let fanout = Fanout::new(
        destinations,
        vec![Route::to("ops-bot", vec![])],
        Arc::new(MemoryStore::default()),
        records.clone(),
        clock.clone(),
    )
    .with_flood(
        BTreeMap::from([("ops-bot".to_string(), policy)]),
        queue.clone(),
    );
    let deadline = || Instant::now() + Duration::from_secs(30);
    let events: Vec<Event> = (0..5).map(|n| job(n, "Invoice")).collect();
    for e in &events {
        assert!(!fanout.deliver(e, deadline()).await.should_retry());
    }
    let posts = || async {
        let requests = kit.server.received_requests().await.unwrap();
        requests
            .iter()
            .filter(|r| r.url.path().starts_with("/v1/"))
            .count()
    };
    assert_eq!(posts().await, 4, "two events, each to both spaces");
    let held = fanout.deliver(&events[4], deadline()).await;
    assert_eq!(
        held.targets[0].1,
        TargetOutcome::AlreadyDelivered,
        "held, and recorded under the channel"
    );
    let digest = queue.later.lock().unwrap()[0].0.clone();
    clock.advance(chrono::Duration::seconds(60));
    assert!(!fanout.deliver(&digest, deadline()).await.should_retry());
    assert_eq!(posts().await, 6, "the digest, to both spaces");
    let last: serde_json::Value = serde_json::from_slice(
        &kit.server
            .received_requests()
            .await
            .unwrap()
            .last()
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(
        last.to_string()
            .contains("3 more event(s) in 1m were held back (flood)"),
        "{last}"
    );
}
