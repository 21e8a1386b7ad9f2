//! Routes by folder, and muted by time: on the emulator's queue and table, with Slack faked.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::config::Config;
use opsbell_core::event::{Event, EventKey, State};
use opsbell_core::ports::Queue;
use opsbell_core::state::RecentDelivery;
use opsbell_core::testing::ManualClock;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn slack() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    server
}

fn job(folder: &str, n: u32) -> Event {
    let mut e = events_of(&job_sample("faulted")).remove(0);
    e.folder = Some(folder.into());
    e.key = EventKey::new(
        e.source,
        "",
        &format!("routing-{folder}-{n}"),
        State::Faulted,
    );
    e
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// Exactly what the Slack adapter sends for `e` under `config`.
fn slack_body(config: &Config, e: &Event) -> Value {
    serde_json::to_value(opsbell_core::render::slack::render(
        e,
        config.render_options(),
    ))
    .unwrap()
}

/// A route by folder sends the Finance folder's job to the Finance channel only.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_route_by_folder_sends_each_folders_jobs_to_its_own_channel() {
    let (finance, ops) = (slack().await, slack().await);
    let file = json!({
        "language": "en", "timezone": "UTC",
        "webhook": {"orchestrator": {"secret": SECRET}},
        "channels": {
            "finance": {"type": "slack", "webhook_url": format!("{}{SLACK_PATH}", finance.uri())},
            "ops": {"type": "slack", "webhook_url": format!("{}{SLACK_PATH}", ops.uri())}
        },
        "routes": [
            {"name": "finance", "channels": ["finance"], "folders": ["12"], "severity": ["critical"]},
            {"name": "the rest", "channels": ["ops"], "folders": ["7", "8*"]}
        ]
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    let world = Deployment::start().await;
    let queue = SqsQueue::new(world.sqs.clone(), &world.queue_url);
    let (in_finance, in_ops, elsewhere) = (job("12", 1), job("81", 1), job("99", 1));
    queue
        .enqueue(&[in_finance.clone(), in_ops.clone(), elsewhere])
        .await
        .unwrap();
    assert_eq!(world.fan_out(&config).await, 3);
    assert_eq!(bodies(&finance).await, [slack_body(&config, &in_finance)]);
    assert_eq!(bodies(&ops).await, [slack_body(&config, &in_ops)]);
}

/// A route muted on Japanese holidays sends nothing on 22 September 2026 (a citizens' holiday
/// between Respect for the Aged Day and the equinox): the delivery is recorded as withheld, with
/// its reason, in the delivery log and in the `status` history, and a redelivery of the event
/// still sends nothing. Two days later the same route sends.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_route_muted_on_japanese_holidays_records_the_event_as_muted_and_sends_it_never() {
    let chat = slack().await;
    let file = json!({
        "language": "en", "timezone": "Asia/Tokyo",
        "webhook": {"orchestrator": {"secret": SECRET}},
        "channels": {"ops": {"type": "slack", "webhook_url": format!("{}{SLACK_PATH}", chat.uri())}},
        "time_intervals": [
            {"name": "holidays", "time_intervals": [{"jp_holidays": true}]},
            {"name": "weekends", "time_intervals": [{"weekdays": ["saturday:sunday"]}]}
        ],
        "routes": [{"channels": ["ops"], "states": ["faulted"], "mute_time_intervals": ["weekends", "holidays"]}]
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    let mut world = Deployment::start().await;
    let holiday: DateTime<Utc> = "2026-09-22T03:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::at(holiday));
    world.deps.clock = clock.clone();
    let queue = SqsQueue::new(world.sqs.clone(), &world.queue_url);
    let muted = job("1", 1);
    queue.enqueue(std::slice::from_ref(&muted)).await.unwrap();
    assert_eq!(world.fan_out(&config).await, 1);
    assert!(
        chat.received_requests().await.unwrap().is_empty(),
        "nothing sent on the holiday"
    );
    let reason = "muted by time interval holidays";
    assert_eq!(
        world
            .store
            .delivery_record(&muted.key, "ops")
            .await
            .unwrap(),
        Some(("withheld".to_string(), reason.to_string()))
    );
    let history = RecentDelivery::since(world.store.as_ref(), holiday - chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].targets, [format!("ops ({reason})")]);

    clock.advance(chrono::Duration::days(2));
    let sent = job("1", 2);
    queue.enqueue(&[muted, sent.clone()]).await.unwrap();
    assert_eq!(world.fan_out(&config).await, 2);
    assert_eq!(
        bodies(&chat).await,
        [slack_body(&config, &sent)],
        "a muted event is never sent later"
    );
}
