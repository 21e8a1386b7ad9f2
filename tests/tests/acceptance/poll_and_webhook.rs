//! The same job seen by the webhook and by the poller is one event: every target hears it once.

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use lambda_runtime::Context;
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::client::orchestrator::OrchestratorClient;
use opsbell_core::config::{OrchestratorAuth, OrchestratorSource};
use opsbell_core::http::RetryPolicy;
use opsbell_core::poll::Pollers;
use opsbell_core::ports::Records;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_job_seen_by_webhook_and_by_poll_is_delivered_once_per_target() {
    let h = Harness::start().await;
    delivered_by_webhook(&h).await;

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

/// As deployed (`build::pollers`, no `via` route), the poller reads the delivery log: the job
/// the webhook brought was delivered at every target, so its poll copy is not queued at all,
/// and a job whose webhook was lost still is.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_job_the_webhook_brought_is_not_queued_again_by_the_poll() {
    let h = Harness::start().await;
    delivered_by_webhook(&h).await;

    let (_orchestrator, pollers, store) = orchestrator_with_the_faulted_job(&h).await;
    let pollers = pollers.with_delivery_log(store.clone(), targets(&h));
    let reply = run_poller(&pollers, json!({ "sources": ["prod"] })).await;
    assert_eq!(reply["polled"][0]["jobs"], 1, "the poll saw the job");
    assert!(
        queued_events(&h.sqs, &h.queue_url).await.is_empty(),
        "and did not queue it again"
    );
    assert_each_target_received(&h, 1).await;

    // The same poll against an empty delivery log: the webhook was lost, the poll queues it.
    let h = Harness::start().await;
    let (_orchestrator, pollers, store) = orchestrator_with_the_faulted_job(&h).await;
    let pollers = pollers.with_delivery_log(store, targets(&h));
    run_poller(&pollers, json!({ "sources": ["prod"] })).await;
    assert_eq!(queued_events(&h.sqs, &h.queue_url).await.len(), 1);
}

/// The channels the harness's configuration routes an event to.
fn targets(h: &Harness) -> opsbell_core::poll::Targets {
    opsbell_core::build::targets(&h.config, Arc::new(opsbell_core::ports::SystemClock))
}

/// The faulted sample, posted to webhook-ingest and fanned out to every target.
async fn delivered_by_webhook(h: &Harness) {
    mount_ok(h).await;
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
}

/// A fake Orchestrator whose OData view holds the faulted sample's job, and pollers for it that
/// queue to the harness's SQS queue and keep watermarks in its table.
async fn orchestrator_with_the_faulted_job(h: &Harness) -> (MockServer, Pollers, Arc<DynamoStore>) {
    // Orchestrator's OData view of the same job, with `$expand=Release`: ReleaseName carries the
    // environment, Release.ProcessKey is the webhook's process; no Robot.
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
        .and(query_param("$expand", "Release"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://orch.test/odata/$metadata#Jobs",
            "@odata.count": 1,
            "value": [{
                "Id": 148671, "Key": "9cc6c2e4-237d-42f6-8cb8-43010652fb22", "State": "Faulted",
                "StartTime": "2018-11-26T14:14:25.637Z", "EndTime": "2018-11-26T14:14:26.2529616Z",
                "ReleaseName": "FailingJob_Production", "HostMachineName": "PC-DOC",
                "Info": "This workflow always fails", "InputArguments": "{}", "OutputArguments": null,
                "Release": {"Id": 5, "Key": "b5a7a9f0-8c8e-4a59-a6a2-4a2b7c0f7d11", "ProcessKey": "FailingJob",
                            "Name": "FailingJob_Production"}
            }]
        })))
        .expect(1)
        .mount(&orchestrator)
        .await;
    let source = orchestrator_source(&orchestrator.uri(), vec![1]);
    let store = Arc::new(DynamoStore::new(h.dynamodb.clone(), &h.table));
    let pollers = Pollers::new(
        vec![OrchestratorClient::new(
            source,
            opsbell_core::http::client(),
            RetryPolicy::default(),
        )],
        Vec::new(),
        chrono_tz::UTC,
        None,
        store.clone(),
        Arc::new(SqsQueue::new(h.sqs.clone(), &h.queue_url)),
    );
    (orchestrator, pollers, store)
}

async fn run_poller(pollers: &Pollers, input: serde_json::Value) -> serde_json::Value {
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
    let polled = job_poller::handle(lambda_event(input, context), pollers).await;
    answer_json(polled.unwrap())
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_schedule_that_names_its_destinations_reaches_only_them() {
    let h = Harness::start().await;
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

/// The poller dying at each of its side effects in turn (queueing a folder's page, saving its
/// watermark), before the effect or right after it with the answer lost; the next scheduled run
/// picks up. Every ended job reaches every target exactly once.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_poller_dying_at_any_side_effect_loses_and_doubles_nothing() {
    let mut fired = 0;
    for at in 0..5 {
        for lost in [false, true] {
            let run = poll_with_crash(at, lost).await;
            fired += usize::from(run);
        }
    }
    assert!(fired >= 8, "the crash points cover the poll's side effects");
}

async fn poll_with_crash(at: usize, lost: bool) -> bool {
    use crate::support::chaos::{Crash, Crashing};

    let h = Harness::start().await;
    mount_ok(&h).await;
    // Two folders: two ended jobs in folder 1, one in folder 2.
    let orchestrator = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/Account/Authenticate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "result": "orch-token" })))
        .mount(&orchestrator)
        .await;
    let job = |id: u64, state: &str, name: &str| {
        json!({
            "Id": id, "Key": format!("00000000-0000-4000-8000-{id:012}"), "State": state,
            "StartTime": "2026-11-23T01:00:00Z", "EndTime": format!("2026-11-23T01:{:02}:00Z", id % 60),
            "ReleaseName": name, "HostMachineName": "PC-1", "Info": "done", "InputArguments": "{}"
        })
    };
    for (folder, jobs) in [
        (
            "1",
            vec![
                job(11, "Faulted", "Billing"),
                job(12, "Successful", "Billing"),
            ],
        ),
        ("2", vec![job(21, "Stopped", "Reports")]),
    ] {
        Mock::given(method("GET"))
            .and(path("/odata/Jobs"))
            .and(header("x-uipath-organizationunitid", folder))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "@odata.count": jobs.len(), "value": jobs })),
            )
            .mount(&orchestrator)
            .await;
    }
    let mut source = orchestrator_source(&orchestrator.uri(), vec![1, 2]);
    source.initial_lookback = Duration::from_secs(365 * 86_400);
    source.requests_per_minute = 6000;
    let crash = Arc::new(Crash::new(at, lost));
    let records = Arc::new(Crashing {
        inner: DynamoStore::new(h.dynamodb.clone(), &h.table),
        crash: crash.clone(),
    });
    let queue = Arc::new(Crashing {
        inner: SqsQueue::new(h.sqs.clone(), &h.queue_url),
        crash: crash.clone(),
    });
    let pollers = Pollers::new(
        vec![OrchestratorClient::new(
            source,
            opsbell_core::http::client(),
            RetryPolicy::default(),
        )],
        Vec::new(),
        chrono_tz::UTC,
        None,
        records,
        queue,
    );
    // Three scheduled runs (the crash may come in the first or the second; a folder that failed
    // keeps its watermark and is read again by the next run, even when the run as a whole
    // reported success because another folder was polled).
    let mut runs = Vec::new();
    for _ in 0..3 {
        let mut context = Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
        crash.restart();
        let result = job_poller::handle(lambda_event(json!({}), context), &pollers).await;
        runs.push(result.map_err(|e| e.to_string()));
    }
    assert!(runs[2].is_ok(), "the last run completes");
    if (at, lost) == (2, false) {
        // Folder 1 was polled, folder 2 died: the run fails so the poller alarm tells someone.
        let err = runs[0].as_ref().unwrap_err();
        assert!(err.contains("folders (tenants) [2] failed"), "{err}");
    }

    // Copies of one job in one batch race for the delivery log; the loser (Busy) is redelivered.
    let mut batch = h.receive().await;
    for _ in 0..5 {
        let failed: Vec<String> = h
            .fan_out(batch.clone())
            .await
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        batch
            .records
            .retain(|r| failed.contains(r.message_id.as_ref().unwrap()));
        if batch.records.is_empty() {
            break;
        }
    }
    assert!(batch.records.is_empty(), "redeliveries finish the batch");
    let bodies = json_bodies(&h.slack).await;
    let distinct: std::collections::BTreeSet<String> =
        bodies.iter().map(|b| b.to_string()).collect();
    assert_eq!(
        (bodies.len(), distinct.len()),
        (3, 3),
        "crash at side effect {at} (lost answer: {lost}): each job once"
    );
    for folder in ["1", "2"] {
        assert!(
            DynamoStore::new(h.dynamodb.clone(), &h.table)
                .get_record("WATERMARK#uipath:prod", folder)
                .await
                .unwrap()
                .is_some(),
            "crash at {at}: folder {folder}'s watermark saved by the next run"
        );
    }
    crash.fired.load(std::sync::atomic::Ordering::SeqCst)
}

/// A password-authenticated Orchestrator source named `prod` at `url`.
fn orchestrator_source(url: &str, folders: Vec<i64>) -> OrchestratorSource {
    OrchestratorSource {
        name: "prod".into(),
        url: url.into(),
        auth: OrchestratorAuth::Password {
            tenancy_name: "default".into(),
            username: "poller".into(),
            password: "orchestrator-password".to_string().into(),
        },
        folders,
        page_size: 1000,
        overlap: Duration::from_secs(120),
        initial_lookback: Duration::from_secs(3600),
        interval: Duration::from_secs(300),
        requests_per_minute: 90,
        api_key: None,
        tenant_id: None,
        schedules: Vec::new(),
        triggers: None,
        hung: None,
    }
}

/// opsbell's dead man's switch: job-poller pings `self_ping.url` after every cycle, `/fail`
/// when a poll failed, the URL (a secret) in no log line.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_self_ping_runs_after_every_cycle_and_says_fail_when_a_poll_fails() {
    captured_logs();
    let orchestrator = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/Account/Authenticate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "result": "orch-token" })))
        .mount(&orchestrator)
        .await;
    Mock::given(method("GET"))
        .and(path("/odata/Jobs"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"@odata.count": 0, "value": []})),
        )
        .up_to_n_times(2)
        .mount(&orchestrator)
        .await;
    Mock::given(method("GET"))
        .and(path("/odata/Jobs"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"message": "bad filter"})))
        .mount(&orchestrator)
        .await;
    let pings = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
        .mount(&pings)
        .await;
    let world = Deployment::start().await;
    let file = json!({
        "webhook": {"orchestrator": {"secret": SECRET}},
        "self_ping": {"url": format!("{}/ping/slack-secret-path", pings.uri())},
        "sources": {"orchestrator": [{"name": "prod", "url": orchestrator.uri(), "folders": [1],
            "auth": {"type": "password", "tenancy_name": "default", "username": "poller",
                     "password": "orchestrator-secret-password"}}]},
        "channels": {"console": {"type": "console"}}
    });
    let config = opsbell_core::config::Config::load(&file.to_string(), &[]).unwrap();
    let pollers = world.pollers(&config);
    for _ in 0..3 {
        let mut context = Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
        let _ = job_poller::handle(lambda_event(json!({}), context), &pollers).await;
    }
    let paths: Vec<String> = (pings.received_requests().await.unwrap().iter())
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/ping/slack-secret-path",
            "/ping/slack-secret-path",
            "/ping/slack-secret-path/fail"
        ]
    );
    let last = &pings.received_requests().await.unwrap()[2];
    assert!(
        String::from_utf8_lossy(&last.body).contains("prod"),
        "the failure says which source"
    );
    assert_no_secret_logged();
}
