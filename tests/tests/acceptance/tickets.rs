//! Backlog keeps one issue per problem, on the emulator's state table: a robot that fails all
//! night leaves one issue with comments, and a lost state record still makes no duplicate.

use std::sync::Arc;

use chrono::Utc;
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::config::Config;
use opsbell_core::event::{Event, EventKey, State};
use opsbell_core::ports::{Queue, Records};
use opsbell_core::testing::ManualClock;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;

/// One request to the fake Backlog as a line: what it did and its lifecycle fields.
pub(crate) fn line(r: &Request) -> String {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&r.body).unwrap_or_default();
    let field = |k: &str| {
        let v = form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        v.unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let key = r
        .url
        .query_pairs()
        .find(|(k, _)| k == "apiKey")
        .map(|(_, v)| v.to_string());
    assert_eq!(
        key.as_deref(),
        Some(BACKLOG_KEY),
        "every request carries the key"
    );
    let issue = r
        .url
        .path()
        .split('/')
        .nth(4)
        .unwrap_or_default()
        .to_string();
    match (r.method.as_str(), r.url.path()) {
        ("GET", "/api/v2/issues") => {
            let q: Vec<(String, String)> = r.url.query_pairs().into_owned().collect();
            let q: Vec<String> = q
                .iter()
                .filter(|(k, _)| k != "apiKey")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("GET issues {}", q.join("&"))
        }
        ("POST", "/api/v2/issues") => format!(
            "POST issue projectId={} issueTypeId={} priorityId={} summary={}",
            field("projectId"),
            field("issueTypeId"),
            field("priorityId"),
            field("summary")
        ),
        ("POST", _) => format!("POST {issue} comment {}", field("content")),
        ("PATCH", _) => format!(
            "PATCH {issue} statusId={} comment {}",
            field("statusId"),
            field("comment")
        ),
        other => panic!("unexpected request {other:?}"),
    }
}

/// A Backlog whose first issue is OPS-1, taking comments and updates on it, and whose search
/// finds nothing.
pub(crate) async fn backlog_with_one_issue() -> MockServer {
    let backlog = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/issues"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 1, "issueKey": "OPS-1"})),
        )
        .mount(&backlog)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/api/v2/issues/OPS-1/comments$"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 10})))
        .mount(&backlog)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex("^/api/v2/issues/OPS-1$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"issueKey": "OPS-1"})))
        .mount(&backlog)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/issues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&backlog)
        .await;
    backlog
}

fn occurrence(base: &Event, state: State, n: u32) -> Event {
    let mut e = base.clone();
    e.state = state;
    e.key = EventKey::new(e.source, "", &format!("night-run-{n}"), state);
    e
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn backlog_keeps_one_issue_per_process_through_repeats_recovery_reopening_and_a_lost_record()
{
    captured_logs();
    let backlog = MockServer::start().await;
    for (key, n) in [("OPS-1", 1), ("OPS-2", 1)] {
        Mock::given(method("POST"))
            .and(path("/api/v2/issues"))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(json!({"id": 1, "issueKey": key})),
            )
            .up_to_n_times(n)
            .mount(&backlog)
            .await;
    }
    Mock::given(method("POST"))
        .and(path_regex("^/api/v2/issues/OPS-[0-9]+/comments$"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 10, "content": "…"})))
        .mount(&backlog)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex("^/api/v2/issues/OPS-[0-9]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"issueKey": "OPS-1"})))
        .mount(&backlog)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/issues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&backlog)
        .await;
    let file = json!({
        "language": "en", "timezone": "UTC",
        "webhook": {"orchestrator": {"secret": SECRET}},
        "channels": {"tickets": {"type": "backlog", "api_key": BACKLOG_KEY, "base_url": backlog.uri(),
            "project_id": 12345, "issue_type_id": 67890, "close_on_recovery": true,
            "reopen_within": "24h"}}
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    let mut world = Deployment::start().await;
    let clock = Arc::new(ManualClock::at(Utc::now()));
    world.deps.clock = clock.clone();
    let queue = SqsQueue::new(world.sqs.clone(), &world.queue_url);
    let faulted = events_of(&job_sample("faulted")).remove(0);
    let mut n = 0;
    let mut deliver = async |state: State| {
        n += 1;
        queue
            .enqueue(&[occurrence(&faulted, state, n)])
            .await
            .unwrap();
        assert_eq!(world.fan_out(&config).await, 1);
    };
    for _ in 0..4 {
        deliver(State::Faulted).await;
    }
    deliver(State::Successful).await;
    clock.advance(chrono::Duration::hours(3));
    deliver(State::Faulted).await;
    deliver(State::Successful).await;
    clock.advance(chrono::Duration::hours(25));
    deliver(State::Faulted).await;
    // The state record is lost; the next fault finds OPS-2 by its marker.
    let rows = world.store.list_records("TICKET#tickets").await.unwrap();
    assert_eq!(rows.len(), 1);
    world
        .store
        .delete_record("TICKET#tickets", &rows[0].0)
        .await
        .unwrap();
    let requests = backlog.received_requests().await.unwrap();
    let search = requests
        .iter()
        .find(|r| r.method.as_str() == "GET")
        .unwrap();
    let marker = search
        .url
        .query_pairs()
        .find(|(k, _)| k == "keyword")
        .unwrap()
        .1
        .to_string();
    Mock::given(method("GET"))
        .and(path("/api/v2/issues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 2, "issueKey": "OPS-2", "summary": "FailingJob faulted (PC-DOC)",
             "description": format!("Info:\nThis workflow always fails\nopsbell-ticket: {marker}"),
             "status": {"id": 1, "name": "Open"}, "updated": "2026-12-01T00:00:00Z"}
        ])))
        .with_priority(1)
        .mount(&backlog)
        .await;
    deliver(State::Faulted).await;
    deliver(State::Faulted).await;

    let lines: Vec<String> = backlog
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(line)
        .collect();
    let search =
        format!("GET issues projectId[]=12345&keyword={marker}&sort=created&order=desc&count=20");
    let open = "POST issue projectId=12345 issueTypeId=67890 priorityId=3 summary=FailingJob faulted (PC-DOC)";
    assert_eq!(
        lines,
        [
            search.as_str(),
            open,
            "POST OPS-1 comment Occurred again (#2): FailingJob faulted (PC-DOC)",
            "POST OPS-1 comment Occurred again (#3): FailingJob faulted (PC-DOC)",
            "POST OPS-1 comment Occurred again (#4): FailingJob faulted (PC-DOC)",
            "PATCH OPS-1 statusId=4 comment Recovered: FailingJob completed successfully (PC-DOC)",
            "PATCH OPS-1 statusId=1 comment Occurred again after it was closed: FailingJob faulted (PC-DOC)",
            "PATCH OPS-1 statusId=4 comment Recovered: FailingJob completed successfully (PC-DOC)",
            open,
            search.as_str(),
            "POST OPS-2 comment Occurred again: FailingJob faulted (PC-DOC)",
            "POST OPS-2 comment Occurred again (#3): FailingJob faulted (PC-DOC)",
        ]
    );
    // Each issue's description ends with the marker line the search looks for.
    let requests = backlog.received_requests().await.unwrap();
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&requests[1].body).unwrap();
    let description = &form.iter().find(|(k, _)| k == "description").unwrap().1;
    assert!(
        description.ends_with(&format!("\nopsbell-ticket: {marker}")),
        "{description}"
    );
    assert_no_secret_logged();
}

/// A trigger that cannot start, ten times (Orchestrator then disables it): signed
/// `schedule.failed` webhooks through webhook-ingest, the queue and alarm-fanout make one
/// Backlog issue with the count in each comment, and the trigger's next successful job closes it.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_trigger_that_cannot_start_ten_times_is_one_issue_with_ten_counts_closed_by_its_next_success()
 {
    captured_logs();
    let backlog = backlog_with_one_issue().await;
    let file = json!({
        "language": "en", "timezone": "UTC",
        "webhook": {"orchestrator": {"secret": SECRET}},
        "channels": {"tickets": {"type": "backlog", "api_key": BACKLOG_KEY, "base_url": backlog.uri(),
            "project_id": 12345, "issue_type_id": 67890, "close_on_recovery": true}}
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    let world = Deployment::start().await;
    let queue = SqsQueue::new(world.sqs.clone(), &world.queue_url);
    let ingest = opsbell_core::ingest::Ingest::new(
        &config,
        Arc::new(queue),
        Arc::new(opsbell_core::ports::SystemClock),
    )
    .unwrap();
    let failed: serde_json::Value =
        serde_json::from_slice(&sample("uipath-webhook-schedule-failed.json")).unwrap();
    for n in 0..10 {
        let mut body = failed.clone();
        body["EventId"] = json!(format!("failure-{n}"));
        let body = body.to_string().into_bytes();
        let (status, reply) =
            ingest_via_gateway(&ingest, Format::HttpV2, &body, Some(&signature(&body))).await;
        assert_eq!((status, &reply["queued"]), (202, &json!(1)), "{reply}");
        assert_eq!(world.fan_out(&config).await, 1);
    }
    // The trigger's next job succeeds (the poll's copy names its trigger).
    let mut job: serde_json::Value = serde_json::from_slice(&job_sample("completed")).unwrap();
    job["Job"]["Release"]["ProcessKey"] = json!("Args_AddNumbers");
    job["Job"]["StartingScheduleId"] = json!(134);
    let body = job.to_string().into_bytes();
    let (status, _) =
        ingest_via_gateway(&ingest, Format::HttpV2, &body, Some(&signature(&body))).await;
    assert_eq!(status, 202);
    assert_eq!(world.fan_out(&config).await, 1);

    let lines: Vec<String> = (backlog.received_requests().await.unwrap().iter())
        .map(line)
        .filter(|l| !l.starts_with("GET"))
        .collect();
    let mut expected =
        vec!["POST issue projectId=12345 issueTypeId=67890 priorityId=3 summary=Args_AddNumbers could not start".to_string()];
    for n in 2..=10 {
        expected.push(format!(
            "POST OPS-1 comment Occurred again (#{n}): Args_AddNumbers could not start"
        ));
    }
    expected.push(
        "PATCH OPS-1 statusId=4 comment Recovered: Args_AddNumbers completed successfully (PC-DOC)"
            .into(),
    );
    assert_eq!(lines, expected);
    assert_no_secret_logged();
}
