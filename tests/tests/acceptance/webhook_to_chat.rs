//! Signed UiPath webhooks through webhook-ingest → SQS (moto) → alarm-fanout → Slack, Google
//! Chat, Chatwork and Backlog (wiremock), asserting the exact requests each destination received.

use crate::support::*;
use opsbell_core::event::{Event, State};
use opsbell_core::render::{backlog, chatwork, google_chat, slack};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

async fn post_all_samples(h: &Harness, format: fn() -> Format) -> Vec<Event> {
    let mut events = Vec::new();
    for name in JOB_SAMPLES {
        let body = job_sample(name);
        let (status, reply) = h.post(format(), &body, Some(&signature(&body))).await;
        let expected = events_of(&body);
        assert_eq!(status, 202, "{name}: {reply}");
        assert_eq!(reply["queued"], json!(expected.len()), "{name}");
        events.extend(expected);
    }
    events
}

fn chat_events(events: &[Event]) -> Vec<&Event> {
    let chat = [State::Faulted, State::Successful, State::Stopped];
    events.iter().filter(|e| chat.contains(&e.state)).collect()
}

async fn assert_exact_posts(h: &Harness, events: &[Event]) {
    let opts = h.render_options();
    let chat = chat_events(events);
    assert_eq!(chat.len(), 3, "faulted, completed and stopped reach chat");
    let tickets: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.state, State::Faulted | State::Stopped))
        .collect();

    let expected: Vec<Value> = sorted_json(
        chat.iter()
            .map(|e| serde_json::to_value(slack::render(e, opts)).unwrap()),
    );
    assert_eq!(json_bodies(&h.slack).await, expected, "Slack");
    let expected: Vec<Value> = sorted_json(chat.iter().map(|e| google_chat::render(e, opts)));
    assert_eq!(json_bodies(&h.gchat).await, expected, "Google Chat");
    let expected = sorted(
        chat.iter()
            .map(|e| {
                vec![
                    ("body".to_string(), chatwork::render(e, opts)),
                    ("self_unread".into(), "0".into()),
                ]
            })
            .collect(),
    );
    assert_eq!(form_bodies(&h.chatwork).await, expected, "Chatwork");
    let expected = sorted(
        tickets
            .iter()
            .map(|e| {
                let issue = backlog::render(e, opts);
                vec![
                    ("projectId".to_string(), "12345".to_string()),
                    ("summary".into(), issue.summary),
                    ("issueTypeId".into(), "67890".into()),
                    ("priorityId".into(), "3".into()),
                    ("description".into(), issue.description),
                ]
            })
            .collect(),
    );
    assert_eq!(form_bodies(&h.backlog).await, expected, "Backlog");
}

fn sorted_json(values: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut v: Vec<Value> = values.collect();
    v.sort_by_key(|v| v.to_string());
    v
}

async fn job_samples_flow_to_every_target(format: fn() -> Format) {
    let h = Harness::start().await;
    mount_ok(&h).await;
    let events = post_all_samples(&h, format).await;
    let batch = h.receive().await;
    assert_eq!(batch.records.len(), events.len(), "one message per job");
    let response = h.fan_out(batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_exact_posts(&h, &events).await;
    assert_no_secret_logged();
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn job_samples_flow_to_every_target_as_rest_v1_events() {
    job_samples_flow_to_every_target(|| Format::RestV1).await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn job_samples_flow_to_every_target_as_http_v2_events() {
    job_samples_flow_to_every_target(|| Format::HttpV2).await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn base64_encoded_bodies_are_verified_over_the_decoded_bytes() {
    job_samples_flow_to_every_target(|| Format::HttpV2Base64).await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_same_message_handled_twice_posts_once_per_target() {
    let h = Harness::start().await;
    mount_ok(&h).await;
    let body = job_sample("faulted");
    assert_eq!(
        h.post(Format::HttpV2, &body, Some(&signature(&body)))
            .await
            .0,
        202
    );
    let batch = h.receive().await;
    assert!(
        h.fan_out(batch.clone())
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(h.fan_out(batch).await.batch_item_failures.is_empty());
    // The same job posted again by Orchestrator (or seen by a poll) is the same event too.
    assert_eq!(
        h.post(Format::RestV1, &body, Some(&signature(&body)))
            .await
            .0,
        202
    );
    assert!(
        h.fan_out(h.receive().await)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_each_target_received(&h, 1).await;
    assert_no_secret_logged();
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn retries_slack_after_429_and_returns_only_chatwork_failures_to_the_queue() {
    let h = Harness::start().await;
    // Slack: 429 with Retry-After: 1, then 200. Chatwork: 500 every time.
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_string("rate_limited"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&h.slack)
        .await;
    mount_chatwork(&h, ResponseTemplate::new(500).set_body_string("oops")).await;
    mount_ok(&h).await;

    let body = job_sample("faulted");
    assert_eq!(
        h.post(Format::HttpV2, &body, Some(&signature(&body)))
            .await
            .0,
        202
    );
    let batch = h.receive().await;
    let message_id = batch.records[0].message_id.clone().unwrap();
    let response = h.fan_out(batch.clone()).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, [message_id]);
    let slack = h.slack.received_requests().await.unwrap();
    assert_eq!(slack.len(), 2, "one 429, one successful post");
    assert_eq!(slack[0].body, slack[1].body);
    assert_eq!(
        h.chatwork.received_requests().await.unwrap().len(),
        3,
        "three attempts"
    );

    // Redelivery: only Chatwork is tried again.
    let response = h.fan_out(batch).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(h.slack.received_requests().await.unwrap().len(), 2);
    assert_eq!(h.backlog.received_requests().await.unwrap().len(), 1);
    assert_eq!(h.gchat.received_requests().await.unwrap().len(), 1);
    assert_eq!(h.chatwork.received_requests().await.unwrap().len(), 6);
    h.slack.verify().await;
    assert_no_secret_logged();
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_permanent_rejection_is_logged_and_the_message_returns_for_the_dlq() {
    let h = Harness::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404).set_body_string("no_service"))
        .with_priority(1)
        .mount(&h.slack)
        .await;
    mount_ok(&h).await;
    let body = job_sample("stopped");
    assert_eq!(
        h.post(Format::HttpV2, &body, Some(&signature(&body)))
            .await
            .0,
        202
    );
    let batch = h.receive().await;
    for _ in 0..2 {
        assert_eq!(
            h.fan_out(batch.clone()).await.batch_item_failures.len(),
            1,
            "the message returns, so after the receive limit it lands in the DLQ"
        );
    }
    assert_eq!(
        h.slack.received_requests().await.unwrap().len(),
        2,
        "a refusal posted nothing: trying again with the message is safe"
    );
    assert_eq!(
        h.chatwork.received_requests().await.unwrap().len(),
        1,
        "the other targets heard it once"
    );
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_string();
    assert!(
        logs.lines()
            .any(|l| l.contains("ERROR") && l.contains("slack") && l.contains("Delivery rejected")),
        "{logs}"
    );
    assert_no_secret_logged();
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn bad_requests_are_answered_and_nothing_is_queued() {
    let h = Harness::start().await;
    let body = job_sample("faulted");
    let wrong =
        opsbell_core::signature::sign(&secrecy::SecretString::from("not-the-secret"), &body);
    let mut tampered = body.clone();
    tampered[20] ^= 1;
    for format in [|| Format::RestV1, || Format::HttpV2] {
        assert_eq!(h.post(format(), &body, None).await.0, 401, "unsigned");
        assert_eq!(
            h.post(format(), &tampered, Some(&signature(&body))).await.0,
            401,
            "tampered"
        );
        assert_eq!(
            h.post(format(), &body, Some(&wrong)).await.0,
            401,
            "wrong secret"
        );
        assert_eq!(
            h.post(format(), &body, Some("not base64!")).await.0,
            401,
            "garbage signature"
        );

        let queue = br#"{"Type":"queue.created","EventId":"1","Queues":[{"Id":1,"Name":"invoices"}],"TenantId":1}"#;
        let (status, reply) = h.post(format(), queue, Some(&signature(queue))).await;
        assert_eq!((status, reply), (200, json!({"ignored": "queue.created"})));

        let junk = b"this is not json";
        let (status, reply) = h.post(format(), junk, Some(&signature(junk))).await;
        assert_eq!(status, 400);
        assert_eq!(reply["field"], "body");

        let missing = br#"{"Type":"job.faulted","Job":{"Key":"k","EndTime":"tomorrow"}}"#;
        let (status, reply) = h.post(format(), missing, Some(&signature(missing))).await;
        assert_eq!(
            (status, reply["field"].as_str()),
            (400, Some("Job.EndTime")),
            "{reply}"
        );

        let huge = format!(
            r#"{{"Type":"job.faulted","pad":"{}"}}"#,
            "x".repeat(1024 * 1024)
        );
        let (status, _) = h
            .post(format(), huge.as_bytes(), Some(&signature(huge.as_bytes())))
            .await;
        assert_eq!(status, 413);
    }
    assert!(h.receive().await.records.is_empty(), "nothing queued");
    assert_no_secret_logged();
}
