//! A CloudWatch alarm by SNS through the alarm-fanout handler: every target posts it once, even
//! when SNS delivers it twice.

use crate::support::*;
use lambda_runtime::Context;
use opsbell_core::render::slack;
use opsbell_core::source::Inbound;
use opsbell_core::source::cloudwatch::parse_sns;
use serde_json::Value;

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn an_alarm_by_sns_reaches_every_target_once_even_when_delivered_twice() {
    let h = Harness::start().await;
    mount_ok(&h).await;
    let event: Value = serde_json::from_slice(&sample(
        "sns-cloudwatch-alarm-single-metric-lambda-event.json",
    ))
    .unwrap();
    for _ in 0..2 {
        let mut context = Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
        let reply = alarm_fanout::handle_any(lambda_event(event.clone(), context), &h.fanout)
            .await
            .map(answer_json)
            .unwrap();
        assert_eq!(reply["delivered"].as_array().unwrap().len(), 1);
    }
    assert_every_target_got_the_alarm_once(&h, &event).await;
    assert_no_secret_logged();
}

/// An SNS alarm that still fails after Lambda's three tries lands in the events DLQ as Lambda's
/// failure record (the function's on-failure destination). The README's redrive
/// (`aws sqs start-message-move-task --source-arn <DLQ> --destination-arn <events queue>`,
/// which moto lacks, so the test moves the message as that task does) brings it to
/// alarm-fanout's queue trigger, which delivers it: one post per target in all.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn an_sns_alarm_that_failed_past_its_retries_is_delivered_once_by_a_redrive() {
    use opsbell_core::source::lambda::failure_record;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    let h = Harness::start().await;
    mount_ok(&h).await;
    // Slack is down through all of Lambda's tries.
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&h.slack)
        .await;
    let event: Value = serde_json::from_slice(&sample(
        "sns-cloudwatch-alarm-single-metric-lambda-event.json",
    ))
    .unwrap();
    let mut last_error = String::new();
    for _ in 0..3 {
        let context = context_with(60);
        let result =
            alarm_fanout::handle_any(lambda_event(event.clone(), context), &h.fanout).await;
        last_error = result
            .expect_err("Slack is down: the invocation fails")
            .to_string();
    }
    // Lambda hands the event to the on-failure destination, the events DLQ.
    let dlq = h
        .sqs
        .create_queue()
        .queue_name(opsbell_aws::testing::unique("events-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let record = failure_record(
        &event,
        "arn:aws:lambda:ap-northeast-1:123456789012:function:opsbell-ci-alarm-fanout",
        &last_error,
    );
    h.sqs
        .send_message()
        .queue_url(&dlq)
        .message_body(record.to_string())
        .send()
        .await
        .unwrap();

    // Slack is back; the operator redrives the DLQ into the events queue.
    h.slack.reset().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&h.slack)
        .await;
    let moved = h
        .sqs
        .receive_message()
        .queue_url(&dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    for m in moved.messages() {
        h.sqs
            .send_message()
            .queue_url(&h.queue_url)
            .message_body(m.body().unwrap())
            .send()
            .await
            .unwrap();
        h.sqs
            .delete_message()
            .queue_url(&dlq)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    let batch = h.receive().await;
    assert_eq!(batch.records.len(), 1);
    let response = h.fan_out(batch.clone()).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "the redriven alarm is delivered"
    );
    // A second redrive of the same record (or a duplicate) posts nothing more.
    let response = h.fan_out(batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_every_target_got_the_alarm_once(&h, &event).await;
}

/// Each chat target received one request, and Slack's is the alarm's rendering; Backlog's
/// default route does not hear alarms.
async fn assert_every_target_got_the_alarm_once(h: &Harness, event: &Value) {
    for (name, server) in [
        ("slack", &h.slack),
        ("gchat", &h.gchat),
        ("chatwork", &h.chatwork),
    ] {
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "{name}");
    }
    assert!(h.backlog.received_requests().await.unwrap().is_empty());
    let Inbound::Events(events) =
        parse_sns(&event["Records"][0]["Sns"], chrono::Utc::now()).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        json_bodies(&h.slack).await,
        [serde_json::to_value(slack::render(&events[0], h.render_options())).unwrap()]
    );
}
