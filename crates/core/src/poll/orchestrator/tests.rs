//! The poller against a fake Orchestrator that really filters, orders and pages (wiremock).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::config::{OrchestratorAuth, OrchestratorSource};
use crate::http::RetryPolicy;
use crate::testing::{MemoryQueue, MemoryRecords};
use crate::time::parse_utc;

#[derive(Clone)]
struct FakeJob {
    folder: i64,
    id: i64,
    end: DateTime<Utc>,
    /// When the job becomes visible to the API (a late commit is after `end`).
    visible_at: DateTime<Utc>,
    state: &'static str,
}

#[derive(Default)]
struct Fake {
    jobs: Mutex<Vec<FakeJob>>,
    now: Mutex<Option<DateTime<Utc>>>,
    /// The largest page the server returns, whatever `$top` asks.
    cap: usize,
    logins: AtomicUsize,
    job_requests: AtomicUsize,
    /// Job requests after which every job request fails with 400 (a run dying mid-way).
    fail_after: Mutex<Option<usize>>,
    /// Job requests after which the token is revoked once.
    revoke_after: Mutex<Option<usize>>,
    throttle_next: Mutex<bool>,
}

struct Handler(Arc<Fake>);

fn between<'a>(s: &'a str, start: &str, end: char) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let rest = &s[i..];
    Some(&rest[..rest.find(end).unwrap_or(rest.len())])
}

impl Respond for Handler {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let f = &self.0;
        if req.url.path() == "/api/Account/Authenticate" {
            let n = f.logins.fetch_add(1, Ordering::SeqCst) + 1;
            return ResponseTemplate::new(200)
                .set_body_json(json!({ "result": format!("token-{n}"), "success": true }));
        }
        let token = format!("Bearer token-{}", f.logins.load(Ordering::SeqCst));
        if req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            != Some(token.as_str())
        {
            return ResponseTemplate::new(401);
        }
        if req.url.path() == "/odata/Folders" {
            return ResponseTemplate::new(200)
                .set_body_json(json!({ "value": [{"Id": 1}, {"Id": 2}, {"Id": 3}] }));
        }
        let n = f.job_requests.fetch_add(1, Ordering::SeqCst) + 1;
        if f.fail_after.lock().unwrap().is_some_and(|after| n > after) {
            return ResponseTemplate::new(400).set_body_string("injected failure");
        }
        {
            let mut revoke = f.revoke_after.lock().unwrap();
            if revoke.is_some_and(|after| n > after) {
                *revoke = None;
                f.logins.fetch_add(100, Ordering::SeqCst); // the current token no longer matches
                return ResponseTemplate::new(401);
            }
        }
        if std::mem::take(&mut *f.throttle_next.lock().unwrap()) {
            return ResponseTemplate::new(429).insert_header("Retry-After", "1");
        }
        let folder: i64 = req
            .headers
            .get(crate::client::orchestrator::FOLDER_HEADER)
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let query: Vec<(String, String)> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let get = |k: &str| {
            query
                .iter()
                .find(|(q, _)| q == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let filter = get("$filter");
        let from = parse_utc(between(&filter, "EndTime ge ", ' ').unwrap()).unwrap();
        let to = parse_utc(between(&filter, "EndTime lt ", ' ').unwrap()).unwrap();
        let after = between(&filter, "EndTime gt ", ' ').map(|t| {
            (
                parse_utc(t).unwrap(),
                between(&filter, "Id gt ", ')')
                    .unwrap()
                    .parse::<i64>()
                    .unwrap(),
            )
        });
        let top: usize = get("$top").parse().unwrap();
        let now = f.now.lock().unwrap().unwrap_or_else(Utc::now);
        let mut matching: Vec<FakeJob> = f
            .jobs
            .lock()
            .unwrap()
            .iter()
            .filter(|j| j.folder == folder && j.visible_at <= now && j.end >= from && j.end < to)
            .filter(|j| ["Faulted", "Successful", "Stopped"].contains(&j.state))
            .filter(|j| after.is_none_or(|(t, id)| j.end > t || (j.end == t && j.id > id)))
            .cloned()
            .collect();
        matching.sort_by_key(|j| (j.end, j.id));
        let count = matching.len();
        let value: Vec<Value> = matching
            .iter()
            .take(top.min(f.cap))
            .map(|j| {
                json!({
                    "Id": j.id, "Key": format!("key-{}", j.id), "State": j.state,
                    "EndTime": j.end.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    "StartTime": "2026-01-01T00:00:00Z", "ReleaseName": "Proc_Env", "HostMachineName": "M1",
                    "InputArguments": "{}", "Info": "done"
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "@odata.count": count, "value": value }))
    }
}

async fn start(fake: Arc<Fake>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/Account/Authenticate"))
        .respond_with(Handler(fake.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(Handler(fake))
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, page_size: u32) -> OrchestratorClient {
    let source = OrchestratorSource {
        name: "prod".into(),
        url: server.uri(),
        auth: OrchestratorAuth::Password {
            tenancy_name: "default".into(),
            username: "admin".into(),
            password: "pw".to_string().into(),
        },
        folders: Vec::new(),
        page_size,
        overlap: Duration::from_secs(120),
        initial_lookback: Duration::from_secs(24 * 3600),
        interval: Duration::from_secs(300),
        requests_per_minute: 60_000,
        api_key: None,
        tenant_id: None,
        schedules: Vec::new(),
        triggers: None,
        hung: None,
    };
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    OrchestratorClient::new(source, reqwest::Client::new(), policy)
}

fn ctx() -> UipathContext {
    UipathContext {
        orchestrator_url: None,
        received_at: Utc::now(),
        tenant: None,
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn jobs(n: i64, folders: &[(i64, i64)], base: DateTime<Utc>) -> Vec<FakeJob> {
    // Orchestrator keeps 100 ns ticks at most; a nanosecond base would not round-trip.
    let base = base
        .with_nanosecond(base.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap();
    // `folders`: (folder, how many). Ids interleave, EndTimes collide in pairs (same millisecond).
    let mut out = Vec::new();
    let mut id = 1000;
    for &(folder, count) in folders {
        for i in 0..count {
            id += 1;
            let end = base + chrono::Duration::milliseconds(i / 2 * 1000);
            let state = ["Faulted", "Successful", "Stopped"][(id % 3) as usize];
            out.push(FakeJob {
                folder,
                id,
                end,
                visible_at: end,
                state,
            });
        }
    }
    assert_eq!(out.len() as i64, n);
    out
}

fn keys(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.key.to_string()).collect()
}

#[tokio::test]
async fn every_ended_job_is_queued_once_across_folders_and_pages() {
    let base = Utc::now() - chrono::Duration::hours(1);
    let fake = Arc::new(Fake {
        cap: 1000,
        ..Fake::default()
    });
    fake.jobs
        .lock()
        .unwrap()
        .extend(jobs(2500, &[(1, 1200), (2, 900), (3, 400)], base));
    fake.jobs.lock().unwrap().push(FakeJob {
        folder: 1,
        id: 1,
        end: base,
        visible_at: base,
        state: "Running",
    });
    let server = start(fake.clone()).await;
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());

    let report = poll(
        &client(&server, 1000),
        "prod",
        &ctx(),
        &records,
        &queue,
        Utc::now(),
        deadline(),
    )
    .await
    .unwrap();
    let queued = keys(&queue.take());
    assert_eq!(queued.len(), 2500);
    assert_eq!(
        queued.iter().collect::<BTreeSet<_>>().len(),
        2500,
        "no duplicates"
    );
    assert_eq!((report.folders, report.pages, report.jobs), (3, 4, 2500));
    assert_eq!(
        fake.logins.load(Ordering::SeqCst),
        1,
        "one token for every page and folder"
    );
    assert_eq!(
        records
            .list_records("WATERMARK#uipath:prod")
            .await
            .unwrap()
            .len(),
        3
    );

    // A server that caps pages below `$top` is paged through too.
    let capped = Arc::new(Fake {
        cap: 100,
        ..Fake::default()
    });
    capped
        .jobs
        .lock()
        .unwrap()
        .extend(jobs(2500, &[(1, 1200), (2, 900), (3, 400)], base));
    let server = start(capped).await;
    let queue = MemoryQueue::default();
    poll(
        &client(&server, 1000),
        "prod",
        &ctx(),
        &MemoryRecords::default(),
        &queue,
        Utc::now(),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(queue.take().len(), 2500);
}

#[tokio::test]
async fn a_run_that_dies_after_page_one_misses_nothing_and_the_log_drops_the_rest() {
    let base = Utc::now() - chrono::Duration::hours(1);
    let fake = Arc::new(Fake {
        cap: 1000,
        ..Fake::default()
    });
    fake.jobs
        .lock()
        .unwrap()
        .extend(jobs(2500, &[(1, 2500)], base));
    *fake.fail_after.lock().unwrap() = Some(1);
    let server = start(fake.clone()).await;
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let c = client(&server, 1000);

    assert!(
        poll(&c, "prod", &ctx(), &records, &queue, Utc::now(), deadline())
            .await
            .is_err()
    );
    let first = keys(&queue.take());
    assert_eq!(first.len(), 1000, "page 1 was queued before the failure");

    *fake.fail_after.lock().unwrap() = None;
    poll(&c, "prod", &ctx(), &records, &queue, Utc::now(), deadline())
        .await
        .unwrap();
    let second = keys(&queue.take());
    let all: BTreeSet<&String> = first.iter().chain(&second).collect();
    assert_eq!(all.len(), 2500, "nothing missed");
    // Re-read only the overlap window of page 1 (its last 2 minutes), never all of it.
    let again = second.iter().filter(|k| first.contains(k)).count();
    assert!(again < 1000, "{again} re-read");
}

#[tokio::test]
async fn a_job_committed_late_inside_the_overlap_is_caught() {
    let now = Utc::now();
    let fake = Arc::new(Fake {
        cap: 1000,
        ..Fake::default()
    });
    fake.jobs
        .lock()
        .unwrap()
        .extend(jobs(10, &[(1, 10)], now - chrono::Duration::minutes(10)));
    let server = start(fake.clone()).await;
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let c = client(&server, 1000);
    poll(&c, "prod", &ctx(), &records, &queue, now, deadline())
        .await
        .unwrap();
    assert_eq!(queue.take().len(), 10);

    // Ended 60 s before the newest job already seen, but committed only now.
    let newest = records
        .get_record("WATERMARK#uipath:prod", "1")
        .await
        .unwrap()
        .unwrap();
    let mark: crate::state::Watermark = serde_json::from_value(newest).unwrap();
    let late = FakeJob {
        folder: 1,
        id: 1,
        end: mark.end_time - chrono::Duration::seconds(60),
        visible_at: now,
        state: "Faulted",
    };
    fake.jobs.lock().unwrap().push(late);
    poll(
        &c,
        "prod",
        &ctx(),
        &records,
        &queue,
        now + chrono::Duration::seconds(30),
        deadline(),
    )
    .await
    .unwrap();
    assert!(keys(&queue.take()).contains(&"uipath::key-1:faulted".to_string()));
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_and_429_waits_as_told() {
    let base = Utc::now() - chrono::Duration::hours(1);
    let fake = Arc::new(Fake {
        cap: 1000,
        ..Fake::default()
    });
    fake.jobs
        .lock()
        .unwrap()
        .extend(jobs(300, &[(1, 100), (2, 100), (3, 100)], base));
    *fake.revoke_after.lock().unwrap() = Some(1);
    *fake.throttle_next.lock().unwrap() = true;
    let server = start(fake.clone()).await;
    let queue = MemoryQueue::default();
    let started = std::time::Instant::now();
    poll(
        &client(&server, 1000),
        "prod",
        &ctx(),
        &MemoryRecords::default(),
        &queue,
        Utc::now(),
        deadline(),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 honoured"
    );
    assert_eq!(queue.take().len(), 300);
    assert_eq!(
        fake.logins.load(Ordering::SeqCst),
        102,
        "exactly one re-login (the revocation adds 100)"
    );
}

/// Property: whatever the arrival order and poll schedule, with commits delayed less than the
/// overlap, the set delivered (after the delivery log) is exactly the set of ended jobs.
#[tokio::test]
async fn random_schedules_deliver_every_job_exactly_once() {
    for seed in 0..25u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let start_at = Utc::now().with_nanosecond(0).unwrap() - chrono::Duration::hours(2);
        let fake = Arc::new(Fake {
            cap: 1 + rng.usize(..50),
            ..Fake::default()
        });
        let n = 50 + rng.i64(0..150);
        for id in 0..n {
            let end = start_at + chrono::Duration::seconds(rng.i64(0..3600));
            let visible_at = end + chrono::Duration::seconds(rng.i64(0..110));
            let state = ["Faulted", "Successful", "Stopped"][rng.usize(..3)];
            fake.jobs.lock().unwrap().push(FakeJob {
                folder: 1 + rng.i64(0..2),
                id,
                end,
                visible_at,
                state,
            });
        }
        let server = start(fake.clone()).await;
        let c = client(&server, 1 + rng.u32(..60));
        let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
        let mut now = start_at;
        let mut delivered = BTreeSet::new();
        while now < start_at + chrono::Duration::minutes(65) {
            now += chrono::Duration::seconds(1 + rng.i64(0..300));
            *fake.now.lock().unwrap() = Some(now);
            poll(&c, "prod", &ctx(), &records, &queue, now, deadline())
                .await
                .unwrap();
            for key in keys(&queue.take()) {
                delivered.insert(key); // the delivery log keeps the first copy only
            }
        }
        *fake.now.lock().unwrap() = Some(start_at + chrono::Duration::hours(3));
        poll(
            &c,
            "prod",
            &ctx(),
            &records,
            &queue,
            start_at + chrono::Duration::hours(3),
            deadline(),
        )
        .await
        .unwrap();
        delivered.extend(keys(&queue.take()));
        let expected: BTreeSet<String> = fake
            .jobs
            .lock()
            .unwrap()
            .iter()
            .map(|j| format!("uipath::key-{}:{}", j.id, j.state.to_ascii_lowercase()))
            .collect();
        assert_eq!(delivered, expected, "seed {seed}");
    }
}

/// Everything a route, a silence or a ticket reads is the same whichever path brought the job:
/// the poll's copy has the tenant (from the source's `tenant_id`) and the process key (from
/// the expanded `Release`), not the release name.
#[test]
fn the_polls_copy_of_a_job_equals_the_webhooks_in_every_routed_field() {
    let body = include_bytes!("../../../../../samplejson/uipath-webhook-job-faulted.json");
    let ctx = UipathContext {
        tenant: Some("1".into()),
        ..ctx()
    };
    let crate::source::Inbound::Events(hooked) =
        crate::source::uipath::parse_webhook(body, &ctx).unwrap()
    else {
        panic!("a job event")
    };
    let odata: crate::source::uipath::Job = serde_json::from_value(serde_json::json!({
        "Id": 148671, "Key": "9cc6c2e4-237d-42f6-8cb8-43010652fb22", "State": "Faulted",
        "StartTime": "2018-11-26T14:14:25.637Z", "EndTime": "2018-11-26T14:14:26.2529616Z",
        "ReleaseName": "FailingJob_Production", "HostMachineName": "PC-DOC",
        "Info": "This workflow always fails", "InputArguments": "{}", "OutputArguments": null,
        "Release": {"Id": 358, "Key": "8fad9c36-237b-49a6-a939-47963fb8099a", "ProcessKey": "FailingJob",
                    "Name": "FailingJob_Production"}
    }))
    .unwrap();
    let polled = normalize(&[odata], 1, &ctx);
    let (w, p) = (&hooked[0], &polled[0]);
    let routed = |e: &crate::event::Event| {
        (
            e.key.clone(),
            e.state,
            e.source,
            e.tenant.clone(),
            e.process.clone(),
            e.folder.clone(),
            e.machine.clone(),
        )
    };
    assert_eq!(routed(w), routed(p));
    assert_eq!(p.tenant.as_deref(), Some("1"));
    assert_eq!(p.process, "FailingJob");
}
