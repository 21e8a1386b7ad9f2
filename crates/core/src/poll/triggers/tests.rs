//! The trigger watch against a fake Orchestrator that answers `ProcessSchedules` from its
//! triggers and `Jobs` from the jobs its triggers started, filtered by folder and creation time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::TimeZone;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::client::orchestrator::config::{OrchestratorAuth, OrchestratorSource};
use crate::http::RetryPolicy;
use crate::testing::{MemoryQueue, MemoryRecords};
use crate::time::parse_utc;

#[derive(Default)]
struct Fake {
    /// Triggers by folder, as Orchestrator lists them.
    triggers: Mutex<BTreeMap<i64, Vec<Value>>>,
    /// (folder, trigger, created)
    jobs: Mutex<Vec<(i64, i64, DateTime<Utc>)>>,
    requests: Mutex<Vec<String>>,
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
            return ResponseTemplate::new(200)
                .set_body_json(json!({ "result": "t", "success": true }));
        }
        let folder: i64 =
            match req.headers.get("X-UIPATH-OrganizationUnitId") {
                Some(v) => v.to_str().unwrap().parse().unwrap(),
                None => return ResponseTemplate::new(400).set_body_json(
                    json!({"message": "A folder is required for this action.", "errorCode": 1101}),
                ),
            };
        f.requests.lock().unwrap().push(req.url.path().to_string());
        let query: BTreeMap<String, String> = req.url.query_pairs().into_owned().collect();
        match req.url.path() {
            "/odata/ProcessSchedules" => {
                let select = query.get("$select").map(String::as_str).unwrap_or_default();
                assert!(select.contains("StartProcessCron,TimeZoneIana"), "{select}");
                let value = f
                    .triggers
                    .lock()
                    .unwrap()
                    .get(&folder)
                    .cloned()
                    .unwrap_or_default();
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "@odata.count": value.len(), "value": value }))
            }
            "/odata/Jobs" => {
                let filter = &query["$filter"];
                assert!(filter.contains("StartingScheduleId ne null"), "{filter}");
                let from = parse_utc(between(filter, "CreationTime ge ", ' ').unwrap()).unwrap();
                let to = parse_utc(between(filter, "CreationTime lt ", ' ').unwrap()).unwrap();
                let top: usize = query["$top"].parse().unwrap();
                let skip: usize = query["$skip"].parse().unwrap();
                let mut jobs: Vec<_> = (f.jobs.lock().unwrap().iter())
                    .filter(|(fo, _, c)| *fo == folder && *c >= from && *c < to)
                    .cloned()
                    .collect();
                jobs.sort_by_key(|j| j.2);
                let value: Vec<Value> = (jobs.iter().enumerate().skip(skip).take(top))
                    .map(|(i, (_, s, c))| json!({ "Id": i, "StartingScheduleId": s, "CreationTime": c.to_rfc3339() }))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({ "value": value }))
            }
            other => panic!("unexpected {other}"),
        }
    }
}

/// The sample's first trigger (`0 0/15 9-17 ? * MON-FRI *`, Asia/Tokyo) with id `id`.
fn trigger(id: i64, enabled: bool) -> Value {
    let path = format!(
        "{}/../../samplejson/uipath-odata-process-schedules.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let sample: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut t = sample["value"][0].clone();
    t["Id"] = json!(id);
    t["Enabled"] = json!(enabled);
    t
}

async fn start(fake: Arc<Fake>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Handler(fake.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(Handler(fake))
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> OrchestratorClient {
    let source = OrchestratorSource {
        name: "prod".into(),
        url: server.uri(),
        auth: OrchestratorAuth::Password {
            tenancy_name: "default".into(),
            username: "admin".into(),
            password: "pw".to_string().into(),
        },
        folders: Vec::new(),
        page_size: 1000,
        overlap: StdDuration::from_secs(120),
        initial_lookback: StdDuration::from_secs(3600),
        interval: StdDuration::from_secs(300),
        requests_per_minute: 60_000,
        api_key: None,
        tenant_id: Some(7),
        schedules: Vec::new(),
        triggers: Some(TRIGGERS),
        hung: None,
    };
    OrchestratorClient::new(source, reqwest::Client::new(), RetryPolicy::default())
}

const TRIGGERS: TriggerWatch = TriggerWatch {
    grace: StdDuration::from_secs(600),
    refresh: StdDuration::from_secs(900),
};

fn tokyo(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(2026, 12, d, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn ctx() -> UipathContext {
    UipathContext {
        orchestrator_url: Some("https://cloud.uipath.com/acme/DefaultTenant".into()),
        received_at: Utc::now(),
        tenant: Some("7".into()),
    }
}

async fn cycle(
    c: &OrchestratorClient,
    records: &MemoryRecords,
    queue: &MemoryQueue,
    folder: i64,
    now: DateTime<Utc>,
    budget: &mut usize,
) -> Watch {
    let deadline = Instant::now() + StdDuration::from_secs(60);
    watch(
        c,
        &TRIGGERS,
        &ctx(),
        records,
        queue,
        folder,
        now,
        deadline,
        budget,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_weekday_quartz_trigger_in_tokyo_with_one_missing_run_alarms_once_at_the_grace() {
    let fake = Arc::new(Fake::default());
    fake.triggers
        .lock()
        .unwrap()
        .insert(1, vec![trigger(2, true)]);
    // Monday 7 December: every run from 09:00 to 12:30 starts a job a few seconds late,
    // except 10:15's.
    let mut at = tokyo(7, 9, 0);
    while at <= tokyo(7, 12, 30) {
        if at != tokyo(7, 10, 15) {
            fake.jobs
                .lock()
                .unwrap()
                .push((1, 2, at + Duration::seconds(4)));
        }
        at += Duration::minutes(15);
    }
    // A job of another trigger at 10:15 does not count.
    fake.jobs.lock().unwrap().push((1, 99, tokyo(7, 10, 15)));
    let server = start(fake.clone()).await;
    let c = client(&server);
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    // Polled every 5 minutes from 08:50 (a weekend before it: nothing expected) to 12:30.
    let mut heard = Vec::new();
    let mut now = tokyo(7, 8, 50);
    while now <= tokyo(7, 12, 30) {
        cycle(&c, &records, &queue, 1, now, &mut 1).await;
        heard.extend(queue.take().into_iter().map(|e| (now, e)));
        now += Duration::minutes(5);
    }
    assert_eq!(heard.len(), 1, "{heard:#?}");
    let (when, e) = &heard[0];
    assert_eq!(*when, tokyo(7, 10, 25), "at the grace after 10:15");
    assert_eq!(e.state, State::NotStarted);
    assert_eq!(e.process, "InvoiceBot");
    assert_eq!(e.trigger_id.as_deref(), Some("2"));
    assert_eq!(
        (e.folder.as_deref(), e.tenant.as_deref()),
        (Some("1"), Some("7"))
    );
    assert_eq!(
        e.key.as_str(),
        format!(
            "uipath::trigger-2-missed-{}:not_started",
            tokyo(7, 10, 15).timestamp()
        )
    );
    assert!(
        e.details
            .contains(&("Expected".into(), "2026-12-07 10:15:00 JST".into())),
        "{:?}",
        e.details
    );
    assert_eq!(
        e.info.as_deref(),
        Some("No job of this trigger started within 10m of 2026-12-07 10:15:00 JST.")
    );
    assert_eq!(
        e.link.as_deref(),
        Some("https://cloud.uipath.com/acme/DefaultTenant/orchestrator_/triggers?fid=1")
    );
}

#[tokio::test]
async fn a_trigger_disabled_between_polls_alarms_once_and_is_no_longer_expected() {
    let fake = Arc::new(Fake::default());
    fake.triggers
        .lock()
        .unwrap()
        .insert(1, vec![trigger(2, true), trigger(3, false)]);
    let server = start(fake.clone()).await;
    let c = client(&server);
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    // Saturday: nothing expected; trigger 3 was never enabled, so it says nothing.
    let mut now = tokyo(5, 10, 0);
    cycle(&c, &records, &queue, 1, now, &mut 1).await;
    assert!(queue.take().is_empty());
    fake.triggers
        .lock()
        .unwrap()
        .insert(1, vec![trigger(2, false), trigger(3, false)]);
    let mut heard = Vec::new();
    for _ in 0..12 {
        now += Duration::minutes(5);
        cycle(&c, &records, &queue, 1, now, &mut 1).await;
        heard.extend(queue.take());
    }
    assert_eq!(heard.len(), 1, "{heard:#?}");
    assert_eq!(heard[0].trigger_id.as_deref(), Some("2"));
    assert!(heard[0].key.as_str().contains("trigger-2-disabled-"));
    assert!(
        heard[0]
            .info
            .as_deref()
            .unwrap()
            .starts_with("The trigger was disabled.")
    );
    // Disabled on Monday morning: none of its runs is missed.
    let mut now = tokyo(7, 8, 0);
    while now <= tokyo(7, 12, 0) {
        cycle(&c, &records, &queue, 1, now, &mut 1).await;
        now += Duration::minutes(5);
    }
    assert!(queue.take().is_empty());
}

#[test]
fn quartz_crons_as_orchestrator_writes_them() {
    let next = |cron: &str, after: DateTime<Utc>| {
        let c = quartz(cron).unwrap_or_else(|| panic!("{cron}"));
        c.find_next_occurrence(&after.with_timezone(&chrono_tz::Asia::Tokyo), false)
            .unwrap()
            .with_timezone(&Utc)
    };
    let friday_evening = tokyo(4, 17, 50);
    assert_eq!(
        next("0 0/15 9-17 ? * MON-FRI *", friday_evening),
        tokyo(7, 9, 0)
    );
    assert_eq!(
        next("0 0 12 ? * 2", friday_evening),
        tokyo(7, 12, 0),
        "2 is Monday in Quartz"
    );
    assert_eq!(
        next("0 15 10 ? * 6#3", friday_evening),
        tokyo(18, 10, 15),
        "the third Friday"
    );
    assert_eq!(
        next("0 15 10 ? * 6L", friday_evening),
        tokyo(25, 10, 15),
        "the last Friday"
    );
    assert_eq!(next("0 0 1 1/1 * ? *", friday_evening), tokyo(5, 1, 0));
    assert!(quartz("0 61 * * * ?").is_none());
}

/// 50 folders × 20 triggers, each every 15 minutes on weekdays, polled every 5 minutes for
/// two hours: the requests each cycle makes (schedules read at most `folders × interval /
/// refresh` a cycle once first read), and how long a cycle takes against the fake.
#[tokio::test]
async fn fifty_folders_of_twenty_triggers_stay_within_the_request_budget() {
    let fake = Arc::new(Fake::default());
    for folder in 1..=50 {
        let triggers = (0..20).map(|i| trigger(folder * 100 + i, true)).collect();
        fake.triggers.lock().unwrap().insert(folder, triggers);
        let mut at = tokyo(7, 9, 0);
        while at <= tokyo(7, 11, 0) {
            for i in 0..20 {
                fake.jobs.lock().unwrap().push((
                    folder,
                    folder * 100 + i,
                    at + Duration::seconds(3),
                ));
            }
            at += Duration::minutes(15);
        }
    }
    let server = start(fake.clone()).await;
    let c = client(&server);
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let mut now = tokyo(7, 9, 0);
    let mut per_cycle = Vec::new();
    let mut slowest = StdDuration::ZERO;
    let mut reads = Vec::new();
    let budget = TRIGGERS.reads_per_cycle(50, StdDuration::from_secs(300));
    while now <= tokyo(7, 11, 0) {
        let started = std::time::Instant::now();
        let mut left = budget;
        let mut requests = 0;
        for folder in 1..=50 {
            requests += cycle(&c, &records, &queue, folder, now, &mut left)
                .await
                .requests;
        }
        slowest = slowest.max(started.elapsed());
        per_cycle.push(requests);
        let made = std::mem::take(&mut *fake.requests.lock().unwrap());
        reads.push(
            made.iter()
                .filter(|p| *p == "/odata/ProcessSchedules")
                .count(),
        );
        now += Duration::minutes(5);
    }
    assert!(queue.take().is_empty(), "every run happened");
    let first = per_cycle[0];
    let most_after = per_cycle[1..].iter().max().copied().unwrap();
    println!(
        "50 folders x 20 triggers: {first} requests in the first cycle, at most {most_after} in later ones (schedules {budget} a cycle + triggered jobs), slowest cycle {slowest:?} against the fake"
    );
    assert_eq!(
        first, 50,
        "the first cycle reads every folder's triggers; no run is due yet"
    );
    // Later: each folder's triggered jobs once a cycle, plus at most the budget of reads.
    assert!(most_after <= 50 + budget, "{per_cycle:?}");
    assert_eq!(budget, 17);
    // The triggers are read again spread over the cycles, each folder once per refresh.
    assert_eq!(reads[0], 50);
    assert!(reads[1..].iter().all(|n| *n <= budget), "{reads:?}");
    assert!(
        reads[3..].windows(3).all(|w| w.iter().sum::<usize>() == 50),
        "{reads:?}"
    );
    // Within Automation Cloud's 100 requests a minute for a 5-minute cycle.
    assert!(most_after <= 5 * 100);
}
