use std::sync::Arc;

use chrono::{DateTime, Duration as Days, Utc};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use super::tickets::{marker, problem_of};
use super::*;
use crate::event::State;
use crate::notify::testkit::{self, Kit};
use crate::testing::{ManualClock, MemoryRecords};

fn config(kit: &Kit, lifecycle: Value) -> BacklogConfig {
    let mut v = json!({"api_key": "SECRET-BACKLOG", "base_url": kit.base, "project_id": 12345,
        "issue_type_id": "67890"});
    v.as_object_mut()
        .unwrap()
        .extend(lifecycle.as_object().unwrap().clone());
    serde_json::from_value(v).unwrap()
}

fn tickets(kit: &Kit) -> BacklogNotifier {
    BacklogNotifier::new(kit.ctx("ops-backlog"), config(kit, json!({})))
}

#[tokio::test]
async fn opens_an_issue_and_201_is_success() {
    let kit = Kit::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/issues"))
        .and(query_param("apiKey", "SECRET-BACKLOG"))
        .and(body_string_contains("projectId=12345"))
        .and(body_string_contains("issueTypeId=67890"))
        .and(body_string_contains("priorityId=3"))
        .and(body_string_contains(
            "summary=FailingJob+faulted+%28PC-DOC%29",
        ))
        .and(body_string_contains(
            "description=Info%3A%0AThis+workflow+always+fails",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 1, "issueKey": "OPS-7", "summary": "FailingJob faulted (PC-DOC)"
        })))
        .expect(1)
        .mount(&kit.server)
        .await;
    let receipt = tickets(&kit)
        .notify(&kit.event, kit.deadline())
        .await
        .unwrap();
    assert_eq!(
        receipt,
        Receipt {
            detail: "OPS-7".into(),
            attempts: 1
        }
    );
}

#[tokio::test]
async fn status_matrix() {
    testkit::status_matrix(|kit| Arc::new(tickets(kit)), &["SECRET-BACKLOG"]).await;
}

/// What the fake Backlog was asked, in order: method, path, and the form or query fields that
/// matter to the lifecycle.
async fn requests(kit: &Kit) -> Vec<String> {
    let mut out = Vec::new();
    for r in kit.server.received_requests().await.unwrap() {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&r.body).unwrap_or_default();
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let first_line =
            |k: &str| field(k).map(|v| v.lines().next().unwrap_or_default().to_string());
        let what = match (r.method.as_str(), r.url.path()) {
            ("POST", "/api/v2/issues") => format!("open {}", field("summary").unwrap()),
            ("GET", "/api/v2/issues") => {
                let keyword = r.url.query_pairs().find(|(k, _)| k == "keyword").unwrap().1;
                format!("search {keyword}")
            }
            ("POST", p) => format!(
                "comment {} {}",
                p.split('/').nth(4).unwrap(),
                first_line("content").unwrap()
            ),
            ("PATCH", p) => format!(
                "status {} {} {}",
                p.split('/').nth(4).unwrap(),
                field("statusId").unwrap(),
                first_line("comment").unwrap()
            ),
            other => format!("{other:?}"),
        };
        out.push(what);
    }
    out
}

/// Comments and status changes on any issue, and a search that finds nothing.
async fn mount_issue_changes(kit: &Kit) {
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(
            "^/api/v2/issues/OPS-[0-9]+/comments$",
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .mount(&kit.server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"issueKey": "OPS-7"})))
        .mount(&kit.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/issues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&kit.server)
        .await;
}

fn at(kit: &Kit, state: State, minutes: i64) -> Event {
    let mut e = kit.event.clone();
    e.state = state;
    e.key = crate::event::EventKey::new(e.source, "", &format!("job-{state}-{minutes}"), state);
    e.occurred_at = DateTime::UNIX_EPOCH + Days::minutes(minutes);
    e
}

#[tokio::test]
async fn one_issue_per_process_comments_closes_reopens_and_survives_a_lost_record() {
    let kit = Kit::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/issues"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"issueKey": "OPS-7"})))
        .up_to_n_times(1)
        .mount(&kit.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/issues"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"issueKey": "OPS-8"})))
        .mount(&kit.server)
        .await;
    mount_issue_changes(&kit).await;
    let records = Arc::new(MemoryRecords::default());
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let lifecycle = json!({"close_on_recovery": true, "reopen_within": "24h"});
    let backlog = BacklogNotifier::new(kit.ctx("ops-backlog"), config(&kit, lifecycle))
        .with_tickets(records.clone(), clock.clone());
    let send = |e: Event| {
        let backlog = &backlog;
        async move {
            backlog
                .notify(&e, Instant::now() + std::time::Duration::from_secs(5))
                .await
                .unwrap()
                .detail
        }
    };
    assert_eq!(send(at(&kit, State::Faulted, 0)).await, "OPS-7");
    for n in 1..=3 {
        assert_eq!(
            send(at(&kit, State::Faulted, n)).await,
            format!("OPS-7 comment #{}", n + 1)
        );
    }
    assert_eq!(send(at(&kit, State::Successful, 4)).await, "OPS-7 closed");
    assert_eq!(send(at(&kit, State::Successful, 5)).await, "no open issue");
    clock.advance(Days::hours(2));
    assert_eq!(send(at(&kit, State::Faulted, 6)).await, "OPS-7 reopened");
    assert_eq!(send(at(&kit, State::Successful, 7)).await, "OPS-7 closed");
    clock.advance(Days::hours(25));
    assert_eq!(send(at(&kit, State::Faulted, 8)).await, "OPS-8");
    let problem = problem_of(&kit.event, TicketPer::Process);
    let marker = marker("ops-backlog", &problem);
    let got = requests(&kit).await;
    assert_eq!(
        got,
        [
            // No row yet: the marker search comes first (a lost row looks the same).
            format!("search {marker}"),
            "open FailingJob faulted (PC-DOC)".into(),
            "comment OPS-7 Occurred again (#2): FailingJob faulted (PC-DOC)".into(),
            "comment OPS-7 Occurred again (#3): FailingJob faulted (PC-DOC)".into(),
            "comment OPS-7 Occurred again (#4): FailingJob faulted (PC-DOC)".into(),
            "status OPS-7 4 Recovered: FailingJob completed successfully (PC-DOC)".into(),
            "status OPS-7 1 Occurred again after it was closed: FailingJob faulted (PC-DOC)".into(),
            "status OPS-7 4 Recovered: FailingJob completed successfully (PC-DOC)".into(),
            // Closed beyond the window, as the row says: a new issue, without a search.
            "open FailingJob faulted (PC-DOC)".into(),
        ]
    );
    let created = kit.server.received_requests().await.unwrap();
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&created[1].body).unwrap();
    let description = &form.iter().find(|(k, _)| k == "description").unwrap().1;
    assert!(created[1].url.path() == "/api/v2/issues" && created[1].method.as_str() == "POST");
    assert!(
        description.ends_with(&format!("\nopsbell-ticket: {marker}")),
        "{description}"
    );

    // The row is lost; the search finds the open issue by its marker and comments on it.
    records.0.lock().unwrap().clear();
    Mock::given(method("GET"))
        .and(path("/api/v2/issues"))
        .and(query_param("keyword", marker.as_str()))
        .and(query_param("projectId[]", "12345"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"issueKey": "OPS-3", "summary": "someone else's", "description": "mentions ob but not the line", "status": {"id": 1}},
            {"issueKey": "OPS-8", "summary": "FailingJob faulted (PC-DOC)",
             "description": format!("Info:\n…\nopsbell-ticket: {marker}"), "status": {"id": 1},
             "updated": "2026-12-01T00:00:00Z"}
        ])))
        .with_priority(1)
        .mount(&kit.server)
        .await;
    assert_eq!(
        send(at(&kit, State::Faulted, 9)).await,
        "OPS-8 comment (found by marker)"
    );
    assert_eq!(send(at(&kit, State::Faulted, 10)).await, "OPS-8 comment #3");
    let got = requests(&kit).await;
    assert_eq!(
        got[9..],
        [
            format!("search {marker}"),
            "comment OPS-8 Occurred again: FailingJob faulted (PC-DOC)".into(),
            "comment OPS-8 Occurred again (#3): FailingJob faulted (PC-DOC)".into(),
        ]
    );
}

/// A hung job is an issue of its own, whatever `ticket_per`: a fault of another job of the
/// process does not touch it, and the job's end closes it, even an end as faulted (which the
/// process's issue then counts).
#[tokio::test]
async fn a_hung_job_is_its_own_issue_and_its_end_closes_it_however_it_ends() {
    let kit = Kit::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/issues"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"issueKey": "OPS-7"})))
        .mount(&kit.server)
        .await;
    mount_issue_changes(&kit).await;
    let records = Arc::new(MemoryRecords::default());
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let lifecycle = json!({"close_on_recovery": true});
    let backlog = BacklogNotifier::new(kit.ctx("ops-backlog"), config(&kit, lifecycle))
        .with_tickets(records.clone(), clock.clone());
    let send = |state: State, job: &str, minutes: i64| {
        let mut e = at(&kit, state, minutes);
        e.job_key = Some(job.into());
        let backlog = &backlog;
        async move {
            let deadline = Instant::now() + std::time::Duration::from_secs(5);
            backlog.notify(&e, deadline).await.unwrap().detail
        }
    };
    assert_eq!(send(State::Hung, "JOB-A", 0).await, "OPS-7");
    assert_eq!(
        send(State::Faulted, "JOB-B", 1).await,
        "OPS-7",
        "the process's own issue"
    );
    assert_eq!(
        send(State::Faulted, "JOB-A", 2).await,
        "OPS-7 comment #2; hung: OPS-7 closed"
    );
    assert_eq!(
        send(State::Successful, "JOB-A", 3).await,
        "OPS-7 closed",
        "the process's"
    );
    let got = requests(&kit).await;
    let got: Vec<&str> = got
        .iter()
        .map(String::as_str)
        .filter(|r| !r.starts_with("search"))
        .collect();
    assert_eq!(
        got,
        [
            "open FailingJob has been running too long (PC-DOC)",
            "open FailingJob faulted (PC-DOC)",
            "comment OPS-7 Occurred again (#2): FailingJob faulted (PC-DOC)",
            "status OPS-7 4 Recovered: FailingJob faulted (PC-DOC)",
            "status OPS-7 4 Recovered: FailingJob completed successfully (PC-DOC)",
        ]
    );
}

#[tokio::test]
async fn a_second_delivery_waits_while_the_first_opens_the_issue() {
    let kit = Kit::start().await;
    let records = Arc::new(MemoryRecords::default());
    let clock = Arc::new(ManualClock::at(Utc::now()));
    let problem = problem_of(&kit.event, TicketPer::Process);
    let opening = crate::state::Ticket {
        issue: String::new(),
        status: crate::state::TicketStatus::Opening {
            until: clock.now() + Days::minutes(1),
        },
        count: 0,
        last_at: clock.now(),
    };
    assert!(
        opening
            .swap(records.as_ref(), "ops-backlog", &problem, None)
            .await
            .unwrap()
            .is_some()
    );
    let backlog = BacklogNotifier::new(kit.ctx("ops-backlog"), config(&kit, json!({})))
        .with_tickets(records.clone(), clock.clone());
    let err = backlog
        .notify(&kit.event, kit.deadline())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(kit.server.received_requests().await.unwrap().is_empty());
}

#[test]
fn problems_are_processes_jobs_or_alarms() {
    let mut e = Event::new(
        crate::event::Source::Uipath,
        "",
        "k",
        State::Faulted,
        "Invoice",
        DateTime::UNIX_EPOCH,
    );
    e.job_key = Some("ABC".into());
    assert_eq!(problem_of(&e, TicketPer::Process), "process:uipath:Invoice");
    assert_eq!(problem_of(&e, TicketPer::Job), "job:uipath:abc");
    e.source = crate::event::Source::Cloudwatch;
    e.tenant = Some("123456789012".into());
    e.folder = Some("ap-northeast-1".into());
    assert_eq!(
        problem_of(&e, TicketPer::Job),
        "alarm:123456789012:ap-northeast-1:Invoice"
    );
    assert_eq!(marker("a", "p"), marker("a", "p"));
    assert_ne!(marker("a", "p"), marker("b", "p"));
    assert_eq!(marker("a", "p").len(), 18);
}

#[test]
fn check_reads_and_refuses_lifecycle_settings() {
    let read = |v: Value| {
        let mut p = Problems::default();
        let c = BacklogConfig::parse(v, "channels.t", &mut p);
        (c, p.0.iter().map(|p| p.to_string()).collect::<Vec<_>>())
    };
    let base = json!({"api_key": "k", "space_key": "acme", "project_id": 1, "issue_type_id": 2});
    let with = |extra: Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let (c, p) = read(with(
        json!({"close_on_recovery": true, "reopen_within": "1d"}),
    ));
    assert!(p.is_empty(), "{p:?}");
    let c = c.unwrap();
    assert_eq!(
        c.default_states(),
        [
            State::Faulted,
            State::NotStarted,
            State::Stopped,
            State::Down,
            State::Hung,
            State::Successful,
            State::Up
        ]
    );
    assert_eq!(
        c.lifecycle(),
        "an issue per process (per alarm for CloudWatch); repeats are comments; recovery closes it (status 4); a repeat within 1day reopens it (status 1)"
    );
    let (_, p) = read(with(json!({"reopen_within": "soon"})));
    assert!(
        p[0].contains("reopen_within") && p[0].contains("\"soon\""),
        "{p:?}"
    );
    let (_, p) = read(with(
        json!({"ticket_per": "event", "close_on_recovery": true}),
    ));
    assert!(p[0].contains("channels.t.ticket_per"), "{p:?}");
    let (_, p) = read(with(json!({"ticket_per": "folder"})));
    assert!(p[0].contains("ticket_per"), "{p:?}");
}
