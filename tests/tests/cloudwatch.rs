//! A CloudWatch alarm by SNS through the alarm-fanout handler: every target posts it once, even
//! when SNS delivers it twice.

mod support;

use lambda_runtime::{Context, LambdaEvent};
use opsbell_core::render::slack;
use opsbell_core::source::Inbound;
use opsbell_core::source::cloudwatch::parse_sns;
use serde_json::Value;
use support::*;

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
        let reply = alarm_fanout::handle_any(LambdaEvent::new(event.clone(), context), &h.fanout)
            .await
            .unwrap();
        assert_eq!(reply["delivered"].as_array().unwrap().len(), 1);
    }
    assert_each_target_received(&h, 1).await;
    let Inbound::Events(events) =
        parse_sns(&event["Records"][0]["Sns"], chrono::Utc::now()).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        json_bodies(&h.slack).await,
        [slack::render(&events[0], h.render_options())]
    );
    assert_no_secret_logged();
}
