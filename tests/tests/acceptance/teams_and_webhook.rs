//! Microsoft Teams and the standard signed webhook on the deployed path: signed UiPath webhooks
//! through webhook-ingest, and a CloudWatch alarm by SNS, to the queue (moto), then
//! alarm-fanout to a Teams workflow and a webhook receiver (wiremock). The exact bodies are
//! asserted; the cards are checked with the Adaptive Card schema (`scripts/vendor-check.py`)
//! and the signatures with the Standard Webhooks reference library.

use std::sync::Arc;

use crate::support::*;
use lambda_runtime::Context;
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::config::Config;
use opsbell_core::event::{Event, State};
use opsbell_core::ingest::Ingest;
use opsbell_core::notify::webhook;
use opsbell_core::ports::SystemClock;
use opsbell_core::render::teams;
use opsbell_core::testing::references;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The Teams bodies pass the Adaptive Card schema; the webhook's requests are verified by the
/// Standard Webhooks library, with the channel's secret.
pub fn check_with_references(teams_bodies: &[Value], hooks: &[wiremock::Request]) {
    references::vendor_check("teams", teams_bodies);
    let requests: Vec<references::Received> = (hooks.iter())
        .map(|r| references::received(&r.headers, &r.body))
        .collect();
    references::verify_standard_webhooks(HOOK_SECRET, &requests);
}

fn config(teams: &MockServer, hook: &MockServer) -> Config {
    let config = json!({
        "language": "en",
        "timezone": "Asia/Tokyo",
        "webhook": { "orchestrator": { "secret": SECRET, "url": ORCHESTRATOR } },
        "channels": {
            "ops-teams": { "type": "teams", "webhook_url":
                format!("{}/workflows/1/triggers/manual/paths/invoke?sig=teams-secret-sig", teams.uri()) },
            "ops-hook": { "type": "webhook", "url": format!("{}/hooks/opsbell", hook.uri()), "secret": HOOK_SECRET }
        }
    });
    Config::load(&config.to_string(), &[]).unwrap()
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn teams_and_a_signed_webhook_hear_jobs_and_alarms_through_alarm_fanout_once() {
    captured_logs();
    let world = Deployment::start().await;
    let (teams, hook) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/workflows/1/triggers/manual/paths/invoke"))
        .and(query_param("sig", "teams-secret-sig"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&teams)
        .await;
    Mock::given(method("POST"))
        .and(path("/hooks/opsbell"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let config = config(&teams, &hook);
    let queue = SqsQueue::new(world.sqs.clone(), &world.queue_url);
    let ingest = Ingest::new(&config, Arc::new(queue), Arc::new(SystemClock)).unwrap();
    let mut events: Vec<Event> = Vec::new();
    for name in JOB_SAMPLES {
        let body = job_sample(name);
        let (status, _) =
            ingest_via_gateway(&ingest, Format::HttpV2, &body, Some(&signature(&body))).await;
        assert_eq!(status, 202, "{name}");
        events.extend(events_of(&body));
    }
    world.fan_out(&config).await;
    let alarm: Value = serde_json::from_slice(&sample(
        "sns-cloudwatch-alarm-single-metric-lambda-event.json",
    ))
    .unwrap();
    let fanout = opsbell_core::build::fanout(&config, &world.deps);
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
    alarm_fanout::handle_any(lambda_event(alarm.clone(), context), &fanout)
        .await
        .unwrap();
    let Ok(opsbell_core::source::Inbound::Events(alarms)) =
        opsbell_core::source::cloudwatch::parse_sns(
            &alarm["Records"][0]["Sns"],
            chrono::Utc::now(),
        )
    else {
        panic!("the alarm sample")
    };
    let heard = [
        State::Faulted,
        State::Successful,
        State::Stopped,
        State::Alarm,
    ];
    let heard: Vec<&Event> = events
        .iter()
        .chain(&alarms)
        .filter(|e| heard.contains(&e.state))
        .collect();
    assert_eq!(heard.len(), 4);

    let opts = config.render_options();
    let sorted = |mut v: Vec<Value>| {
        v.sort_by_key(|v| v.to_string());
        v
    };
    let teams_bodies = json_bodies(&teams).await;
    let expected = sorted(heard.iter().map(|e| teams::render(e, opts)).collect());
    assert_eq!(teams_bodies, expected, "Teams: the Adaptive Cards exactly");
    let hooks = hook.received_requests().await.unwrap();
    let expected = sorted(heard.iter().map(|e| webhook::body(e)).collect());
    assert_eq!(
        json_bodies(&hook).await,
        expected,
        "the signed webhook: opsbell.event.v1"
    );
    check_with_references(&teams_bodies, &hooks);

    // Delivered twice (SQS's at-least-once): the delivery log posts nothing again.
    world.fan_out(&config).await;
    assert_eq!(teams.received_requests().await.unwrap().len(), 4);
    assert_eq!(hook.received_requests().await.unwrap().len(), 4);
    assert_no_secret_logged();
}
