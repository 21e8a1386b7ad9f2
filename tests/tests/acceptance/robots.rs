//! Robots that go away, through webhook-ingest, the queue (moto, the away report delayed by
//! the grace period) and alarm-fanout to Slack: a reboot within the grace says nothing; a robot
//! that stays away is announced once, and its return once.

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::config::Config;
use opsbell_core::ingest::Ingest;
use opsbell_core::ports::SystemClock;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn status(robot: i64, state: &str, unresponsive: bool, at: &str) -> Vec<u8> {
    json!({"Type": "robot.status", "EventId": format!("{robot}-{at}"), "Timestamp": at,
        "Sessions": [{"SessionId": robot, "RobotId": robot, "HostMachineName": format!("ROBOT-{robot}"),
            "State": state, "ReportingTime": at, "IsUnresponsive": unresponsive}],
        "TenantId": 1, "OrganizationUnitId": 1})
    .to_string()
    .into_bytes()
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_robot_away_past_the_grace_alarms_once_and_recovers_once_and_a_reboot_says_nothing() {
    captured_logs();
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let file = json!({
        "language": "en", "timezone": "UTC",
        "webhook": {"orchestrator": {"secret": SECRET}},
        "robots": {"grace": "2s"},
        "channels": {"ops-slack": {"type": "slack", "webhook_url": format!("{}/hook", slack.uri()), "spacing": "0s"}}
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    let world = Deployment::start().await;
    let queue = SqsQueue::new(world.sqs.clone(), &world.queue_url);
    let ingest = Ingest::new(&config, Arc::new(queue), Arc::new(SystemClock)).unwrap();
    let post = async |body: Vec<u8>| {
        let (status, reply) =
            ingest_via_gateway(&ingest, Format::HttpV2, &body, Some(&signature(&body))).await;
        assert_eq!(status, 202, "{reply}");
    };
    // Robot 1 reboots: away at 03:00, back at 03:02 (before its away report is judged).
    post(status(1, "Disconnected", false, "2026-12-06T03:00:00Z")).await;
    post(status(1, "Available", false, "2026-12-06T03:02:00Z")).await;
    // Robot 2 stops answering at 03:00 and is back at 03:06.
    post(status(2, "Busy", true, "2026-12-06T03:00:00Z")).await;
    assert_eq!(
        world.fan_out(&config).await,
        1,
        "only robot 1's here report is visible yet"
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        world.fan_out(&config).await,
        2,
        "both away reports, after the grace"
    );
    post(status(2, "Available", false, "2026-12-06T03:06:00Z")).await;
    assert_eq!(world.fan_out(&config).await, 1);
    // A later here report of robot 2 says nothing more.
    post(status(2, "Busy", false, "2026-12-06T03:07:00Z")).await;
    assert_eq!(world.fan_out(&config).await, 1);

    let texts: Vec<String> = (json_bodies(&slack).await.iter())
        .map(|b: &Value| b["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        texts,
        ["✅ ROBOT-2 is back online", "🔴 ROBOT-2 went offline"]
    );
    assert_no_secret_logged();
}
