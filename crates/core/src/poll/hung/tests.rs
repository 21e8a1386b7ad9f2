//! The hung-job judge: each state's limit, where a Running limit comes from, once per job and
//! state, and the learned limit's arithmetic.

use std::collections::BTreeMap;

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::client::orchestrator::config::Learn;
use crate::testing::MemoryRecords;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap()
}

fn watch() -> HungWatch {
    HungWatch {
        running: Some(Duration::from_secs(6 * 3600)),
        learn: Some(Learn {
            k: 3.0,
            runs: 20,
            floor: Duration::from_secs(15 * 60),
        }),
        pending: Some(Duration::from_secs(3600)),
        suspended: Some(Duration::from_secs(24 * 3600)),
        stopping: Some(Duration::from_secs(30 * 60)),
        max_running: BTreeMap::from([("Nightly".to_string(), Duration::from_secs(2 * 3600))]),
    }
}

fn job(
    id: i64,
    process: &str,
    state: &str,
    created: DateTime<Utc>,
    start: Option<DateTime<Utc>>,
) -> Job {
    serde_json::from_value(json!({
        "Id": id, "Key": format!("key-{id}"), "State": state,
        "CreationTime": created.to_rfc3339(), "StartTime": start.map(|s| s.to_rfc3339()),
        "Release": {"ProcessKey": process}
    }))
    .unwrap()
}

fn ctx() -> UipathContext {
    UipathContext {
        orchestrator_url: Some("https://cloud.uipath.com/acme/Default".into()),
        received_at: at(0, 0),
        tenant: Some("7".into()),
    }
}

async fn judged(records: &MemoryRecords, jobs: &[Job], now: DateTime<Utc>) -> Vec<(String, State)> {
    let events = judge(records, "prod", &watch(), &ctx(), 3, jobs, now)
        .await
        .unwrap();
    events
        .into_iter()
        .map(|e| (e.key.to_string(), e.state))
        .collect()
}

#[tokio::test]
async fn each_state_has_its_limit_and_each_job_is_told_once_per_state() {
    let records = MemoryRecords::default();
    let t0 = at(9, 0);
    let jobs = [
        // Pending since its creation: 61 minutes at 10:01.
        job(1, "Invoice", "Pending", t0, None),
        // Running since its start, no runs learned: the 6h `running` holds.
        job(2, "Invoice", "Running", t0, Some(t0)),
        // Its own max_running of 2h.
        job(
            3,
            "Nightly",
            "Running",
            t0 - chrono::Duration::hours(2),
            Some(t0 - chrono::Duration::hours(2)),
        ),
        // Suspended and Stopping: from when the watch first saw them.
        job(4, "Invoice", "Suspended", t0, Some(t0)),
        job(5, "Invoice", "Stopping", t0, Some(t0)),
    ];
    assert_eq!(
        judged(&records, &jobs, t0).await,
        [("uipath::key-3:running:hung".to_string(), State::Hung)]
    );
    let later = judged(&records, &jobs, t0 + chrono::Duration::minutes(61)).await;
    assert_eq!(
        later,
        [
            ("uipath::key-1:pending:stuck".to_string(), State::Stuck),
            ("uipath::key-5:stopping:hung".to_string(), State::Hung),
        ]
    );
    // Nothing again; the suspended job at its day; the running one at 6h.
    assert_eq!(
        judged(&records, &jobs, t0 + chrono::Duration::minutes(90)).await,
        []
    );
    let day = judged(&records, &jobs, t0 + chrono::Duration::hours(24)).await;
    assert_eq!(
        day,
        [
            ("uipath::key-2:running:hung".to_string(), State::Hung),
            ("uipath::key-4:suspended:stuck".to_string(), State::Stuck),
        ]
    );
    // A job that moves on to another state is judged there afresh.
    let resumed = [job(4, "Invoice", "Resumed", t0, Some(t0))];
    let day2 = t0 + chrono::Duration::hours(24 + 7);
    assert_eq!(judged(&records, &resumed, day2).await, []);
    assert_eq!(
        judged(&records, &resumed, day2 + chrono::Duration::hours(6)).await,
        [("uipath::key-4:running:hung".to_string(), State::Hung)]
    );
}

#[tokio::test]
async fn a_learned_limit_replaces_the_default_once_enough_runs_are_known() {
    let records = MemoryRecords::default();
    let t0 = at(9, 0);
    let ended = |id: i64, minutes: i64| -> Job {
        let start = t0 - chrono::Duration::hours(5) + chrono::Duration::minutes(20 * id);
        let mut j = job(id, "Invoice", "Successful", start, Some(start));
        j.end_time = Some(start + chrono::Duration::minutes(minutes));
        j
    };
    let running = [job(50, "Invoice", "Running", t0, Some(t0))];
    let four: Vec<Job> = (1..=4).map(|i| ended(i, 10)).collect();
    runtimes::learn(&records, "prod", 3, &four, 20, t0)
        .await
        .unwrap();
    // Four runs teach nothing: 40 minutes is inside the 6h default.
    assert_eq!(
        judged(&records, &running, t0 + chrono::Duration::minutes(40)).await,
        []
    );
    // The same jobs again count once; a fifth makes the limit 3 × 10m = 30m.
    let five: Vec<Job> = (1..=5).map(|i| ended(i, 10)).collect();
    runtimes::learn(&records, "prod", 3, &five, 20, t0)
        .await
        .unwrap();
    let events = judge(
        &records,
        "prod",
        &watch(),
        &ctx(),
        3,
        &running,
        t0 + chrono::Duration::minutes(41),
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.state, e.process.as_str(), e.folder.as_deref()),
        (State::Hung, "Invoice", Some("3"))
    );
    assert_eq!(
        e.details,
        [
            ("State".to_string(), "Running".to_string()),
            ("For".to_string(), "41m".to_string()),
            (
                "Limit".to_string(),
                "30m (3 × the p95 of the last 5 successful runs, at least 15m)".to_string()
            ),
        ]
    );
    assert!(
        e.link.as_deref().is_some_and(|l| l.contains("key-50")),
        "{:?}",
        e.link
    );
}

#[test]
fn the_learned_limit_is_k_times_the_p95_at_least_the_floor() {
    let learn = Learn {
        k: 3.0,
        runs: 20,
        floor: Duration::from_secs(15 * 60),
    };
    assert_eq!(runtimes::limit(&[60; 4], &learn), None, "too few runs");
    // Twenty runs: the p95 (nearest rank) is the 19th smallest.
    let mut secs: Vec<u64> = (1..=20).map(|i| i * 60).collect();
    secs.reverse();
    assert_eq!(
        runtimes::limit(&secs, &learn),
        Some(Duration::from_secs(3 * 19 * 60))
    );
    assert_eq!(
        runtimes::limit(&[60; 5], &learn),
        Some(learn.floor),
        "the floor"
    );
}
