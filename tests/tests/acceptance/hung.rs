//! A job that hangs: the poll learns how long its process's successful runs take, judges the
//! running job against k × their p95, announces it once (a Backlog issue), and the job's end
//! closes the issue. On the emulator's state table and queue, through the same `Pollers` the
//! job-poller and `opsbell serve` run.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use opsbell_core::config::Config;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;
use crate::tickets::{backlog_with_one_issue, line};

/// What the fake Orchestrator lists: jobs that ended, and jobs that have not.
#[derive(Default)]
struct Jobs {
    ended: Vec<Value>,
    active: Vec<Value>,
}

/// A job of InvoiceBot in the documented shape (`samplejson/uipath-odata-jobs.json`).
fn job(id: i64, state: &str, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Value {
    let sample: Value = serde_json::from_slice(&sample("uipath-odata-jobs.json")).unwrap();
    let mut j = sample["value"][0].clone();
    j["Id"] = json!(id);
    j["Key"] = json!(format!("1c7222dc-416f-4c60-9b17-{id:012}"));
    j["State"] = json!(state);
    j["CreationTime"] = json!((start - Duration::seconds(2)).to_rfc3339());
    j["StartTime"] = json!(start.to_rfc3339());
    j["EndTime"] = json!(end.map(|e| e.to_rfc3339()));
    j["Info"] = json!(if end.is_some() { "Job completed" } else { "" });
    // `$expand=Release`: the process, as webhooks name it.
    j["Release"] = json!({"ProcessKey": "InvoiceBot", "Name": "InvoiceBot_Production"});
    j
}

async fn orchestrator(jobs: Arc<Mutex<Jobs>>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"result": "t", "success": true})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(move |r: &Request| {
            let filter: String = (r.url.query_pairs())
                .find(|(k, _)| k == "$filter")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let jobs = jobs.lock().unwrap();
            let value = match filter.contains("State eq 'Running'") {
                true => jobs.active.clone(),
                false => jobs.ended.clone(),
            };
            ResponseTemplate::new(200)
                .set_body_json(json!({"@odata.count": value.len(), "value": value}))
        })
        .mount(&server)
        .await;
    server
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_hung_job_is_caught_by_its_learned_limit_and_its_end_closes_the_ticket() {
    captured_logs();
    let now = Utc::now();
    let jobs = Arc::new(Mutex::new(Jobs::default()));
    // Six successful runs of 8 to 11 minutes: p95 11m, × 3 = 33m (the floor is 15m).
    jobs.lock().unwrap().ended = [8, 9, 10, 10, 10, 11]
        .into_iter()
        .enumerate()
        .map(|(i, minutes)| {
            let start = now - Duration::hours(6) + Duration::minutes(30 * i as i64);
            job(
                100 + i as i64,
                "Successful",
                start,
                Some(start + Duration::minutes(minutes)),
            )
        })
        .collect();
    let orchestrator = orchestrator(jobs.clone()).await;
    let backlog = backlog_with_one_issue().await;
    let file = json!({
        "language": "en", "timezone": "UTC",
        "sources": {"orchestrator": [{"name": "prod", "url": orchestrator.uri(), "folders": [1],
            "initial_lookback_minutes": 600,
            "auth": {"type": "password", "tenancy_name": "default", "username": "poller",
                     "password": "orchestrator-secret-password"},
            "hung": {}}]},
        "channels": {"tickets": {"type": "backlog", "api_key": BACKLOG_KEY, "base_url": backlog.uri(),
            "project_id": 12345, "issue_type_id": 67890, "close_on_recovery": true}}
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    let world = Deployment::start().await;
    let pollers = world.pollers(&config);
    let cycle = |at: DateTime<Utc>| {
        let pollers = &pollers;
        async move {
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
            for report in pollers.run(&[], &[], at, deadline).await {
                report.unwrap();
            }
        }
    };
    // The first cycle learns the runs. Then a run has been going for 40 minutes: past the
    // learned 33m, well inside the 6h that holds before anything is learned.
    cycle(now).await;
    world.fan_out(&config).await;
    jobs.lock().unwrap().active = vec![job(200, "Running", now - Duration::minutes(40), None)];
    cycle(now).await;
    world.fan_out(&config).await;
    // Announced once: the next cycles say nothing more of it.
    cycle(now + Duration::minutes(5)).await;
    world.fan_out(&config).await;
    // It ends, successfully.
    {
        let mut jobs = jobs.lock().unwrap();
        jobs.active.clear();
        let start = now - Duration::minutes(40);
        jobs.ended.push(job(
            200,
            "Successful",
            start,
            Some(now + Duration::minutes(6)),
        ));
    }
    cycle(now + Duration::minutes(7)).await;
    world.fan_out(&config).await;

    let lines: Vec<String> = (backlog.received_requests().await.unwrap().iter())
        .map(line)
        .filter(|l| !l.starts_with("GET"))
        .collect();
    assert_eq!(
        lines,
        [
            "POST issue projectId=12345 issueTypeId=67890 priorityId=3 summary=InvoiceBot has been running too long",
            "PATCH OPS-1 statusId=4 comment Recovered: InvoiceBot completed successfully",
        ]
    );
    let issue = &backlog.received_requests().await.unwrap();
    let opened = (issue.iter())
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/api/v2/issues")
        .unwrap();
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&opened.body).unwrap();
    let body = (form.iter().find(|(k, _)| k == "description")).map_or("", |(_, v)| v.as_str());
    assert!(
        body.contains("33m (3 × the p95 of the last 6 successful runs, at least 15m)"),
        "{body}"
    );
    assert_no_secret_logged();
}
