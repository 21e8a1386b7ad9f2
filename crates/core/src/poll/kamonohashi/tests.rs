//! The KAMONOHASHI poller against a fake server with three tenants (wiremock).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeZone;
use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::config::{KamonohashiSource, Watch, WatchDay};
use crate::http::RetryPolicy;
use crate::testing::{MemoryQueue, MemoryRecords};

/// (tenant, "training" or "inferences"); its jobs are (id, status).
type List = (i64, &'static str);

#[derive(Default)]
struct Fake {
    jobs: Mutex<BTreeMap<List, Vec<(i64, &'static str)>>>,
    v2: bool,
    /// Largest page served.
    cap: usize,
    tenant_tokens: Mutex<BTreeSet<i64>>,
    /// `createdAt` of the jobs that have one, as the server writes it.
    created: Mutex<BTreeMap<i64, String>>,
    requests: Mutex<usize>,
}

struct Handler(Arc<Fake>);

impl Respond for Handler {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let f = &self.0;
        *f.requests.lock().unwrap() += 1;
        let path = req.url.path().to_string();
        let version = if path.starts_with("/api/v2/") { 2 } else { 1 };
        if version == 2 && !f.v2 {
            return ResponseTemplate::new(404);
        }
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let rest = path.trim_start_matches(&format!("/api/v{version}/"));
        if rest == "account/login" {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(body["password"], "kqi-password");
            return ResponseTemplate::new(200)
                .set_body_json(json!({ "token": "login", "userName": "bot", "tenantId": 1 }));
        }
        if rest == "account" {
            assert_eq!(auth, "Bearer login");
            return ResponseTemplate::new(200).set_body_json(
                json!({ "userName": "bot", "tenants": [
                    { "id": 1, "name": "t1", "displayName": "Team One" },
                    { "id": 2, "name": "t2", "displayName": "" },
                    { "id": 3, "name": "t3", "displayName": "Filtered" }
                ]}),
            );
        }
        if let Some(t) = rest
            .strip_prefix("account/tenants/")
            .and_then(|r| r.strip_suffix("/token"))
        {
            let t: i64 = t.parse().unwrap();
            f.tenant_tokens.lock().unwrap().insert(t);
            return ResponseTemplate::new(200)
                .set_body_json(json!({ "token": format!("tenant-{t}") }));
        }
        let tenant: i64 = auth.trim_start_matches("Bearer tenant-").parse().unwrap();
        let kind: &'static str = if rest == "training" {
            "training"
        } else {
            "inferences"
        };
        let page: usize = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let all = f
            .jobs
            .lock()
            .unwrap()
            .get(&(tenant, kind))
            .cloned()
            .unwrap_or_default();
        let items: Vec<_> = all
            .iter()
            .skip((page - 1) * f.cap)
            .take(f.cap)
            .map(|(id, status)| {
                let created = f.created.lock().unwrap().get(id).cloned();
                json!({ "id": id, "name": format!("{kind}-job-{id}"), "status": status, "createdBy": "alice", "createdAt": created })
            })
            .collect();
        ResponseTemplate::new(200)
            .insert_header("X-Total-Count", all.len().to_string())
            .set_body_json(items)
    }
}

fn source(server: &MockServer, watch: Watch) -> KamonohashiSource {
    KamonohashiSource {
        name: "kqi".into(),
        server: server.uri(),
        username: "bot".into(),
        password: "kqi-password".to_string().into(),
        tenants: vec![1, 2],
        mentions: BTreeMap::from([(1, vec!["U0123ABCD".to_string()])]),
        from: vec!["Pending".into(), "Running".into()],
        notify: ["Completed", "Killed", "UserCanceled", "Failed", "Error"]
            .map(String::from)
            .to_vec(),
        watch,
        interval: Duration::from_secs(60),
        slack_uri: None,
        phrases: Default::default(),
        enter_leave: false,
        long: Default::default(),
    }
}

async fn start(fake: Arc<Fake>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Handler(fake))
        .mount(&server)
        .await;
    server
}

fn set(fake: &Fake, tenant: i64, kind: &'static str, jobs: &[(i64, &'static str)]) {
    fake.jobs
        .lock()
        .unwrap()
        .insert((tenant, kind), jobs.to_vec());
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

#[tokio::test]
async fn transitions_are_notified_once_and_first_sightings_are_silent() {
    let fake = Arc::new(Fake {
        v2: true,
        cap: 2,
        ..Fake::default()
    });
    set(
        &fake,
        1,
        "training",
        &[(1, "Running"), (2, "Completed"), (3, "Pending")],
    );
    set(&fake, 1, "inferences", &[(10, "Running")]);
    set(&fake, 2, "training", &[(5, "Running")]);
    set(&fake, 3, "training", &[(7, "Running")]);
    let server = start(fake.clone()).await;
    let client = KamonohashiClient::new(
        source(&server, Watch::always()),
        reqwest::Client::new(),
        RetryPolicy::default(),
    );
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let tz = chrono_tz::Asia::Tokyo;

    let report = poll(&client, tz, &records, &queue, Utc::now(), deadline())
        .await
        .unwrap();
    assert_eq!(
        (report.folders, report.jobs),
        (2, 0),
        "the first snapshot is silent"
    );

    set(
        &fake,
        1,
        "training",
        &[
            (1, "Completed"),
            (2, "Completed"),
            (3, "Running"),
            (4, "Completed"),
        ],
    );
    set(&fake, 1, "inferences", &[(10, "Failed")]);
    set(&fake, 2, "training", &[(5, "Killed")]);
    poll(&client, tz, &records, &queue, Utc::now(), deadline())
        .await
        .unwrap();
    let mut events = queue.take();
    events.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let got: Vec<(&str, State)> = events.iter().map(|e| (e.key.as_str(), e.state)).collect();
    assert_eq!(
        got,
        [
            ("kamonohashi:kqi/1:inference-10:faulted", State::Faulted),
            ("kamonohashi:kqi/1:training-1:successful", State::Successful),
            ("kamonohashi:kqi/2:training-5:stopped", State::Stopped),
        ]
    );
    let t1 = &events[1];
    assert_eq!(t1.tenant.as_deref(), Some("Team One"));
    assert_eq!(t1.mentions, ["U0123ABCD"]);
    assert_eq!(
        t1.link.as_deref(),
        Some(format!("{}/#/training/1?tenantId=1", server.uri()).as_str())
    );
    assert_eq!(events[2].tenant.as_deref(), Some("t2"));
    assert!(events[2].mentions.is_empty());

    poll(&client, tz, &records, &queue, Utc::now(), deadline())
        .await
        .unwrap();
    assert!(queue.take().is_empty(), "each transition once");
    assert_eq!(
        *fake.tenant_tokens.lock().unwrap(),
        BTreeSet::from([1, 2]),
        "tenant 3 is never polled"
    );
}

#[tokio::test]
async fn outside_watch_hours_nothing_is_polled_and_an_overnight_end_is_told_at_enter() {
    let fake = Arc::new(Fake {
        v2: true,
        cap: 1000,
        ..Fake::default()
    });
    set(&fake, 1, "training", &[(1, "Running")]);
    let server = start(fake.clone()).await;
    let watch = Watch {
        default: WatchDay {
            active: true,
            enter: 9,
            leave: 18,
        },
        days: Default::default(),
    };
    let client = KamonohashiClient::new(
        source(&server, watch),
        reqwest::Client::new(),
        RetryPolicy::default(),
    );
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let tz = chrono_tz::Asia::Tokyo;
    let at = |d, h| tz.with_ymd_and_hms(2026, 11, d, h, 30, 0).unwrap().to_utc();

    poll(&client, tz, &records, &queue, at(24, 17), deadline())
        .await
        .unwrap();
    set(&fake, 1, "training", &[(1, "Completed")]);
    let before = *fake.requests.lock().unwrap();
    let night = poll(&client, tz, &records, &queue, at(24, 22), deadline())
        .await
        .unwrap();
    assert!(night.skipped);
    assert_eq!(
        *fake.requests.lock().unwrap(),
        before,
        "no request outside watch hours"
    );
    assert!(queue.take().is_empty());

    poll(&client, tz, &records, &queue, at(25, 9), deadline())
        .await
        .unwrap();
    let events = queue.take();
    assert_eq!(
        events.len(),
        1,
        "the overnight end is told at the next watch start"
    );
    assert_eq!(events[0].state, State::Successful);
}

#[tokio::test]
async fn a_v1_server_is_used_when_v2_is_missing() {
    let fake = Arc::new(Fake {
        v2: false,
        cap: 1000,
        ..Fake::default()
    });
    set(&fake, 2, "training", &[(5, "Running")]);
    let server = start(fake.clone()).await;
    let client = KamonohashiClient::new(
        source(&server, Watch::always()),
        reqwest::Client::new(),
        RetryPolicy::default(),
    );
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    poll(
        &client,
        chrono_tz::UTC,
        &records,
        &queue,
        Utc::now(),
        deadline(),
    )
    .await
    .unwrap();
    set(&fake, 2, "training", &[(5, "UserCanceled")]);
    poll(
        &client,
        chrono_tz::UTC,
        &records,
        &queue,
        Utc::now(),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(queue.take().len(), 1);
}

#[tokio::test]
async fn a_weekday_tenant_override_polls_that_days_tenants_and_phrases_title_the_notice() {
    let fake = Arc::new(Fake {
        v2: true,
        cap: 1000,
        ..Fake::default()
    });
    for tenant in [1, 3] {
        set(&fake, tenant, "training", &[(tenant * 10, "Running")]);
    }
    let server = start(fake.clone()).await;
    let mut watch = Watch::always();
    // Saturdays watch tenant 3 only (the default list is 1 and 2).
    watch.days[5] = Some(crate::config::WatchOverride {
        tenant: Some(vec![3]),
        ..Default::default()
    });
    let mut source = source(&server, watch);
    source.phrases = BTreeMap::from([
        ("Completed".to_string(), vec!["完了カモ".to_string()]),
        (
            "Unknown".to_string(),
            vec!["よくわからないカモ...".to_string()],
        ),
    ]);
    let client = KamonohashiClient::new(source, reqwest::Client::new(), RetryPolicy::default());
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let tz = chrono_tz::Asia::Tokyo;
    // 2026-11-28 is a Saturday, 2026-11-30 a Monday.
    let at = |d, h| tz.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap().to_utc();
    for (day, hour) in [(28, 10), (30, 10)] {
        poll(&client, tz, &records, &queue, at(day, hour), deadline())
            .await
            .unwrap();
    }
    set(&fake, 1, "training", &[(10, "Completed")]);
    set(&fake, 3, "training", &[(30, "Error")]);
    let saturday = poll(&client, tz, &records, &queue, at(28, 11), deadline())
        .await
        .unwrap();
    assert_eq!(saturday.folders, 1);
    let events = queue.take();
    let titles: Vec<_> = events.iter().map(|e| e.headline.as_deref()).collect();
    assert_eq!(
        titles,
        [Some("Filteredテナントのジョブ(30)はよくわからないカモ...")]
    );
    let monday = poll(&client, tz, &records, &queue, at(30, 11), deadline())
        .await
        .unwrap();
    assert_eq!(monday.folders, 2);
    let titles: Vec<_> = queue.take().into_iter().map(|e| e.headline).collect();
    assert_eq!(
        titles,
        [Some("Team Oneテナントのジョブ(10)は完了カモ".to_string())]
    );
}

#[tokio::test]
async fn enter_and_leave_notices_open_and_close_each_watched_day_once() {
    let fake = Arc::new(Fake {
        v2: true,
        cap: 1000,
        ..Fake::default()
    });
    set(&fake, 1, "training", &[(1, "Running")]);
    let server = start(fake.clone()).await;
    let watch = Watch {
        default: WatchDay {
            active: true,
            enter: 9,
            leave: 18,
        },
        days: Default::default(),
    };
    let mut source = source(&server, watch);
    source.enter_leave = true;
    source.phrases = BTreeMap::from([
        ("System.Enter".to_string(), vec!["出社カモ".to_string()]),
        ("System.Leave".to_string(), vec!["退社カモ".to_string()]),
        (
            "System.Leave.Friday".to_string(),
            vec!["金曜日カモ".to_string()],
        ),
        (
            "System.Leave.Silent".to_string(),
            vec!["暇だったカモ".to_string()],
        ),
    ]);
    let client = KamonohashiClient::new(source, reqwest::Client::new(), RetryPolicy::default());
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let tz = chrono_tz::Asia::Tokyo;
    let at = |d, h, m| tz.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap().to_utc();
    let mut said = Vec::new();
    // Thursday the 26th: a silent day. Friday the 27th: one job ends. Saturday the 28th: first
    // poll after Leave, so neither notice.
    let polls = [
        (26, 8, 30),
        (26, 9, 30),
        (26, 10, 0),
        (26, 18, 30),
        (26, 19, 30),
        (26, 20, 0),
        (27, 9, 0),
        (27, 19, 0),
        (28, 19, 0),
    ];
    for (d, h, m) in polls {
        // Friday: the job ends between the morning poll and one at 18:30 (the Leave hour is
        // still watched), so Friday's Leave notice is not the silent one.
        if (d, h, m) == (27, 9, 0) {
            poll(&client, tz, &records, &queue, at(d, h, m), deadline())
                .await
                .unwrap();
            set(&fake, 1, "training", &[(1, "Completed")]);
            poll(&client, tz, &records, &queue, at(27, 18, 30), deadline())
                .await
                .unwrap();
        } else {
            poll(&client, tz, &records, &queue, at(d, h, m), deadline())
                .await
                .unwrap();
        }
        for e in queue.take() {
            said.push((d, e.headline.unwrap_or_else(|| e.process.clone())));
        }
    }
    let said: Vec<(u32, &str)> = said.iter().map(|(d, s)| (*d, s.as_str())).collect();
    assert_eq!(
        said,
        [
            (26, "出社カモ"),
            (26, "暇だったカモ"),
            (27, "出社カモ"),
            (27, "training-job-1"),
            (27, "金曜日カモ"),
        ]
    );
}

#[tokio::test]
async fn a_job_submitted_and_ended_between_two_polls_is_notified() {
    let fake = Arc::new(Fake {
        v2: true,
        cap: 10,
        ..Fake::default()
    });
    set(&fake, 1, "training", &[(1, "Running")]);
    let server = start(fake.clone()).await;
    let client = KamonohashiClient::new(
        source(&server, Watch::always()),
        reqwest::Client::new(),
        RetryPolicy::default(),
    );
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let tz = chrono_tz::Asia::Tokyo;
    let evening = tz.with_ymd_and_hms(2026, 12, 4, 19, 0, 0).unwrap().to_utc();
    poll(&client, tz, &records, &queue, evening, deadline())
        .await
        .unwrap();
    assert!(queue.take().is_empty(), "the first snapshot is silent");

    // Overnight: job 2 was submitted at 23:10 Tokyo time and failed; job 3 is an old job whose
    // stored status expired, seen again.
    fake.created.lock().unwrap().extend([
        (2, "2026-12-04 23:10:00".to_string()),
        (3, "2026-10-01 09:00:00".to_string()),
    ]);
    set(
        &fake,
        1,
        "training",
        &[(1, "Running"), (2, "Failed"), (3, "Completed")],
    );
    let morning = tz.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap().to_utc();
    poll(&client, tz, &records, &queue, morning, deadline())
        .await
        .unwrap();
    let events = queue.take();
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.key.as_str(), e.info.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        [(
            "kamonohashi:kqi/1:training-2:faulted",
            "training 2: (new) → Failed"
        )]
    );
}

#[tokio::test]
async fn a_job_pending_past_its_limit_is_stuck_once_and_its_end_is_told_as_usual() {
    let fake = Arc::new(Fake {
        v2: true,
        cap: 10,
        ..Fake::default()
    });
    let tz = chrono_tz::Asia::Tokyo;
    let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap();
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
    for (id, created) in [
        (1, t0 - chrono::Duration::hours(7)),
        (2, t0 - chrono::Duration::hours(1)),
        (5, t0 - chrono::Duration::hours(3)),
    ] {
        fake.created.lock().unwrap().insert(id, local(created));
    }
    set(
        &fake,
        1,
        "training",
        &[(1, "Pending"), (2, "Pending"), (3, "Running")],
    );
    set(&fake, 2, "training", &[(5, "Pending")]);
    let server = start(fake.clone()).await;
    let mut source = source(&server, Watch::always());
    // Six hours for Pending, no limit for Running; tenant 2 waits two hours at most.
    source.long = crate::client::kamonohashi::config::LongLimits {
        pending: Some(Duration::from_secs(6 * 3600)),
        running: None,
        tenants: BTreeMap::from([(2, (Some(Duration::from_secs(2 * 3600)), None))]),
    };
    let client = KamonohashiClient::new(source, reqwest::Client::new(), RetryPolicy::default());
    let (records, queue) = (MemoryRecords::default(), MemoryQueue::default());
    let at = |minutes: i64| t0 + chrono::Duration::minutes(minutes);
    let polled = |now: DateTime<Utc>| {
        let (client, records, queue) = (&client, &records, &queue);
        async move {
            poll(client, tz, records, queue, now, deadline())
                .await
                .unwrap();
            let mut keys: Vec<String> = queue.take().iter().map(|e| e.key.to_string()).collect();
            keys.sort();
            keys
        }
    };
    assert!(
        polled(at(0)).await.is_empty(),
        "the first snapshot is silent"
    );
    assert_eq!(
        polled(at(5)).await,
        [
            "kamonohashi:kqi/1:training-1-stuck-pending:stuck",
            "kamonohashi:kqi/2:training-5-stuck-pending:stuck"
        ]
    );
    assert!(polled(at(10)).await.is_empty(), "stuck is said once");
    set(
        &fake,
        1,
        "training",
        &[(1, "Completed"), (2, "Pending"), (3, "Running")],
    );
    assert_eq!(
        polled(at(15)).await,
        ["kamonohashi:kqi/1:training-1:successful"]
    );
    // Job 2, Pending since its creation an hour before t0, passes six hours at t0 + 5 h.
    assert!(polled(at(299)).await.is_empty());
    let stuck = {
        poll(&client, tz, &records, &queue, at(300), deadline())
            .await
            .unwrap();
        queue.take()
    };
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!(stuck[0].state, State::Stuck);
    assert_eq!(
        stuck[0].info.as_deref(),
        Some("training 2: Pending for 6h 00m, since 2026-12-07 11:00 JST (limit 6h)")
    );
    // Running has no limit: job 3 never is.
    assert!(polled(at(3000)).await.is_empty());
}
