//! A flood through the AWS path: 500 jobs fault at once into a Slack webhook that takes one
//! message a second (429 with `Retry-After` beyond). alarm-fanout posts the first five, holds the
//! rest for one digest per window (a delayed message on the events queue), and every job is
//! posted or counted, once.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use opsbell_aws::sqs::SqsQueue;
use opsbell_core::config::Config;
use opsbell_core::event::{Event, EventKey, State};
use opsbell_core::ports::Queue;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::*;

// The same Slack fake as `opsbell serve`'s flood test and the flood benchmark (whose webhook
// bodies this test does not need: it queues events directly).
#[path = "../../../crates/cli/tests/support/flood.rs"]
#[allow(dead_code)]
mod one_per_second;
use one_per_second::OnePerSecond;

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn five_hundred_faults_at_once_become_a_few_posts_and_digests_with_every_job_counted() {
    let slack: &'static OnePerSecond = Box::leak(Box::default());
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(slack)
        .mount(&server)
        .await;
    let file = json!({
        "language": "en", "timezone": "UTC",
        "webhook": {"orchestrator": {"secret": SECRET}},
        "channels": {"ops": {"type": "slack", "webhook_url": format!("{}{SLACK_PATH}", server.uri()),
            "flood": {"window": "20s"}}}
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    let world = Deployment::start().await;
    let queue = SqsQueue::new(world.sqs.clone(), &world.queue_url);
    let faulted = events_of(&job_sample("faulted")).remove(0);
    let events: Vec<Event> = (0..500)
        .map(|n| {
            let mut e = faulted.clone();
            e.key = EventKey::new(e.source, "", &format!("flood-{n}"), State::Faulted);
            e.process = format!("Robot{}", n % 7);
            e
        })
        .collect();
    let started = Instant::now();
    queue.enqueue(&events).await.unwrap();
    let fanout = opsbell_core::build::fanout(&config, &world.deps);
    // The events queue's trigger: batches of 10, until the digests have come and gone.
    let mut handled = 0;
    // Until every job was posted or counted: how long that takes is the benchmark's to measure
    // (a loaded machine makes the emulator slow), so the bound here is only against a hang.
    while started.elapsed() < Duration::from_secs(600) {
        let messages = receive_all(&world.sqs, &world.queue_url).await;
        if messages.is_empty() {
            if handled >= 500 && slack.jobs() >= 500 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        for batch in messages.chunks(10) {
            let event = lambda_runtime::LambdaEvent::new(sqs_event(batch), context_with(60));
            let answer = alarm_fanout::handle(event, &fanout).await.unwrap();
            assert!(
                answer.batch_item_failures.is_empty(),
                "{:?}",
                answer.batch_item_failures
            );
        }
        handled += messages.len();
    }
    let visible = started.elapsed();
    let (counted, digests, messages) = (slack.jobs(), slack.digests(), slack.messages());
    println!(
        "flood, AWS path: 500 jobs → {messages} Slack messages ({digests} digests), {} 429s, all visible after {visible:?}",
        slack.throttled.load(Ordering::SeqCst)
    );
    assert_eq!(counted, 500, "every job posted or counted once");
    assert!(
        slack.throttled.load(Ordering::SeqCst) <= 5,
        "paced, not hammered"
    );
    let mut windows = std::collections::BTreeSet::new();
    for e in &events {
        let (state, detail) = world
            .store
            .delivery_record(&e.key, "ops")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state, "delivered", "{}", e.key);
        assert!(
            detail == "ok" || detail.starts_with("in digest digest:ops:"),
            "{detail}"
        );
        if let Some(d) = detail.strip_prefix("in digest ") {
            windows.insert(d.to_string());
        }
    }
    // Each window: at most five posts of its own and one digest (the emulator takes about
    // 40 s for 500 events, so they span a few 20 s windows; the benchmark measures the flood
    // as users see it).
    assert_eq!(digests, windows.len());
    assert!(
        messages <= 6 * windows.len() + 5,
        "{messages} messages for {} windows",
        windows.len()
    );
}
