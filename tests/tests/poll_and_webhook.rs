//! The same job seen by the webhook and by the poller is one event: every target hears it once.

mod support;

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Context, LambdaEvent};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::client::orchestrator::OrchestratorClient;
use opsbell_core::config::{OrchestratorAuth, OrchestratorSource};
use opsbell_core::http::RetryPolicy;
use opsbell_core::poll::Pollers;
use opsbell_core::ports::Records;
use serde_json::json;
use support::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_job_seen_by_webhook_and_by_poll_is_delivered_once_per_target() {
    let Some(h) = Harness::start().await else {
        return;
    };
    mount_ok(&h).await;
    let body = job_sample("faulted");
    assert_eq!(
        h.post(Format::HttpV2, &body, Some(&signature(&body)))
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

    let (orchestrator, pollers, store) = orchestrator_with_the_faulted_job(&h).await;
    let reply = run_poller(&pollers, json!({ "sources": ["prod"] })).await;
    assert_eq!(reply["polled"][0]["jobs"], 1);

    let batch = h.receive().await;
    assert_eq!(batch.records.len(), 1, "the poll queued the job again");
    assert!(h.fan_out(batch).await.batch_item_failures.is_empty());
    assert_each_target_received(&h, 1).await;
    let mark = store
        .get_record("WATERMARK#uipath:prod", "1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mark["id"], 148671);
    orchestrator.verify().await;
    assert_no_secret_logged();
}

/// A fake Orchestrator whose OData view holds the faulted sample's job, and pollers for it that
/// queue to the harness's SQS queue and keep watermarks in its table.
async fn orchestrator_with_the_faulted_job(h: &Harness) -> (MockServer, Pollers, Arc<DynamoStore>) {
    // Orchestrator's OData view of the same job: ReleaseName instead of Release, no Robot.
    let orchestrator = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/Account/Authenticate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "result": "orch-token" })))
        .expect(1)
        .mount(&orchestrator)
        .await;
    Mock::given(method("GET"))
        .and(path("/odata/Jobs"))
        .and(header("authorization", "Bearer orch-token"))
        .and(header("x-uipath-organizationunitid", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://orch.test/odata/$metadata#Jobs",
            "@odata.count": 1,
            "value": [{
                "Id": 148671, "Key": "9cc6c2e4-237d-42f6-8cb8-43010652fb22", "State": "Faulted",
                "StartTime": "2018-11-26T14:14:25.637Z", "EndTime": "2018-11-26T14:14:26.2529616Z",
                "ReleaseName": "FailingJob_Production", "HostMachineName": "PC-DOC",
                "Info": "This workflow always fails", "InputArguments": "{}", "OutputArguments": null
            }]
        })))
        .expect(1)
        .mount(&orchestrator)
        .await;
    let source = OrchestratorSource {
        name: "prod".into(),
        url: orchestrator.uri(),
        auth: OrchestratorAuth::Password {
            tenancy_name: "default".into(),
            username: "poller".into(),
            password: "orchestrator-password".to_string().into(),
        },
        folders: vec![1],
        page_size: 1000,
        overlap: Duration::from_secs(120),
        initial_lookback: Duration::from_secs(3600),
        interval: Duration::from_secs(300),
        requests_per_minute: 90,
    };
    let store = Arc::new(DynamoStore::new(h.dynamodb.clone(), &h.table));
    let pollers = Pollers {
        orchestrators: vec![OrchestratorClient::new(
            source,
            opsbell_core::http::client(),
            RetryPolicy::default(),
        )],
        kamonohashi: Vec::new(),
        timezone: chrono_tz::UTC,
        ui_url: None,
        records: store.clone(),
        queue: Arc::new(SqsQueue::new(h.sqs.clone(), &h.queue_url)),
    };
    (orchestrator, pollers, store)
}

async fn run_poller(pollers: &Pollers, input: serde_json::Value) -> serde_json::Value {
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
    job_poller::handle(LambdaEvent::new(input, context), pollers)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_schedule_that_names_its_destinations_reaches_only_them() {
    let Some(h) = Harness::start().await else {
        return;
    };
    mount_ok(&h).await;
    let (_orchestrator, pollers, _) = orchestrator_with_the_faulted_job(&h).await;
    let reply = run_poller(
        &pollers,
        json!({ "sources": ["prod"], "destinations": ["slack"] }),
    )
    .await;
    assert_eq!(reply["polled"][0]["jobs"], 1);
    assert!(
        h.fan_out(h.receive().await)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(h.slack.received_requests().await.unwrap().len(), 1);
    for server in [&h.gchat, &h.chatwork, &h.backlog] {
        assert!(server.received_requests().await.unwrap().is_empty());
    }
}
