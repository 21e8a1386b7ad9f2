//! A seeded scenario: jobs that reach opsbell by webhook (once, twice, or never) and by poll,
//! alarms and their SNS redeliveries, silences for the whole run or part of it, and the
//! fault rates. The webhook and poll copies are made by opsbell's own parsers from the
//! payloads Orchestrator sends, so a difference between the two paths shows up here.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use opsbell_core::client::orchestrator::config::{HungWatch, Learn};
use opsbell_core::event::{Event, Source, State};
use opsbell_core::heartbeat::{Heartbeat, Ping, Row, on_ping, on_tick};
use opsbell_core::poll::orchestrator::normalize;
use opsbell_core::source::Inbound;
use opsbell_core::source::uipath::{Job, UipathContext, parse_webhook};

pub const PROCESSES: [&str; 3] = ["Invoice", "Billing", "Payroll"];

/// One copy of an event reaching the queue at `at` after the start.
pub struct Arrival {
    pub at: Duration,
    pub event: Event,
}

/// A silence: `process=<process> channel=<channel>`, from `from` to `until` after the start.
pub struct SilenceSpec {
    pub process: String,
    pub channel: String,
    pub from: Duration,
    pub until: Duration,
}

pub struct Scenario {
    pub arrivals: Vec<Arrival>,
    /// Every distinct event, by key (the first copy).
    pub events: Vec<Event>,
    pub silences: Vec<SilenceSpec>,
    pub store: f64,
    pub crash: f64,
    pub vendor: f64,
    /// When every Chat space answers 404 (a wrong `api_base`), after the start.
    pub misconfigured: Option<(Duration, Duration)>,
    /// Robots that went away and never came back: the keys of each one's away reports. Which
    /// report is the news depends on the order they are taken in, so these are judged apart
    /// (`oracle::robots`): each robot is announced offline once at every routed target.
    pub robots: Vec<Vec<String>>,
    /// How long after the run the dead letters are redriven (past the flood window's TTL in
    /// some scenarios).
    pub redrive_after: Duration,
}

fn webhook(job: &serde_json::Value, tenant: u32, folder: u32, kind: &str) -> Vec<Event> {
    let mut body = json!({
        "Type": kind, "EventId": "e", "Timestamp": job["EndTime"],
        "TenantId": tenant, "OrganizationUnitId": folder,
    });
    match kind {
        "job.stopped" => body["Jobs"] = json!([job]),
        _ => body["Job"] = job.clone(),
    }
    let ctx = UipathContext::default();
    match parse_webhook(body.to_string().as_bytes(), &ctx).unwrap() {
        Inbound::Events(events) => events,
        Inbound::Ignored { .. } => panic!("a job event"),
    }
}

fn polled(job: &serde_json::Value, tenant: u32, folder: u32, process: &str) -> Event {
    let mut odata = job.clone();
    odata["ReleaseName"] = json!(format!("{process}_Production"));
    let job: Job = serde_json::from_value(odata).unwrap();
    let ctx = UipathContext {
        tenant: Some(tenant.to_string()),
        ..UipathContext::default()
    };
    normalize(&[job], i64::from(folder), &ctx).remove(0)
}

pub fn generate(seed: u64, base: DateTime<Utc>) -> Scenario {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut arrivals = Vec::new();
    let mut events = Vec::new();
    let span = rng.u64(60..600);
    let mut at = || Duration::from_secs(rng.u64(0..span));
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    for n in 0..rng.usize(3..30) {
        let process = PROCESSES[rng.usize(0..3)];
        let (tenant, folder) = (rng.u32(1..3), rng.u32(1..4));
        let (state, kind) = [
            ("Faulted", "job.faulted"),
            ("Successful", "job.completed"),
            ("Stopped", "job.stopped"),
        ][rng.usize(0..3)];
        let end = base + chrono::Duration::seconds(rng.i64(0..600));
        let job = json!({
            "Id": n, "Key": format!("job-{seed}-{n}"), "State": state,
            "StartTime": base.to_rfc3339(), "EndTime": end.to_rfc3339(), "Info": "boom",
            "Release": {"ProcessKey": process},
        });
        let by_webhook = webhook(&job, tenant, folder, kind).remove(0);
        let by_poll = polled(&job, tenant, folder, process);
        events.push(by_webhook.clone());
        // The webhook: lost, once, or twice; the poll: found, maybe in two overlapping polls.
        for _ in 0..rng.usize(0..3) {
            arrivals.push(Arrival {
                at: at(),
                event: by_webhook.clone(),
            });
        }
        for _ in 0..rng.usize(1..3) {
            arrivals.push(Arrival {
                at: at(),
                event: by_poll.clone(),
            });
        }
    }
    for n in 0..rng.usize(0..4) {
        let mut alarm = Event::new(
            Source::Cloudwatch,
            "123456789012",
            &format!("cpu-{n}:{seed}"),
            State::Alarm,
            format!("cpu-{n}"),
            base,
        );
        alarm.tenant = Some("123456789012".into());
        events.push(alarm.clone());
        for _ in 0..rng.usize(1..3) {
            arrivals.push(Arrival {
                at: at(),
                event: alarm.clone(),
            });
        }
    }
    // Triggers that could not start (`schedule.failed`), each failure delivered once or twice;
    // drawn from a stream of their own, so that older seeds replay the runs they always did.
    let mut triggers = fastrand::Rng::with_seed(seed ^ 0x7219);
    for n in 0..triggers.usize(0..3) {
        for failure in 0..triggers.usize(1..4) {
            let process = PROCESSES[triggers.usize(0..3)];
            let body = json!({
                "Type": "schedule.failed", "EventId": format!("{seed}-{n}-{failure}"),
                "Timestamp": base.to_rfc3339(), "TenantId": triggers.u32(1..3), "OrganizationUnitId": 1,
                "ProcessSchedule": {"Id": n, "Name": format!("trigger-{n}"), "StartProcessCron": "0 0/15 * ? * * *",
                                    "TimeZoneIana": "Asia/Tokyo", "Release": {"ProcessKey": process}},
                "Reason": "The robots already have pending jobs for this Process",
            });
            let Inbound::Events(mut parsed) =
                parse_webhook(body.to_string().as_bytes(), &UipathContext::default()).unwrap()
            else {
                panic!("a not_started event")
            };
            let event = parsed.remove(0);
            events.push(event.clone());
            for _ in 0..triggers.usize(1..3) {
                let at = Duration::from_secs(triggers.u64(0..span));
                arrivals.push(Arrival {
                    at,
                    event: event.clone(),
                });
            }
        }
    }
    // A heartbeat check: a random run of pings and ticks through the real state machine, each
    // event it says arriving once or twice; a stream of its own, as the triggers'.
    let mut beats = fastrand::Rng::with_seed(seed ^ 0x4ea7);
    if beats.bool() {
        let check = heartbeat();
        let (mut row, mut now) = (Row::default(), base);
        for _ in 0..beats.usize(1..12) {
            now += chrono::Duration::minutes(beats.i64(1..90));
            let said: Vec<Event> = match beats.u8(0..3) {
                0 => {
                    let ping = [Ping::Success, Ping::Fail, Ping::Start, Ping::Exit(2)];
                    let ping = ping[beats.usize(0..4)];
                    let (next, event) = on_ping(&check, &row, ping, "log tail", now);
                    row = next;
                    event.into_iter().collect()
                }
                _ => {
                    let (next, events) = on_tick(&check, &row, now);
                    row = next;
                    events
                }
            };
            for event in said {
                events.push(event.clone());
                for _ in 0..beats.usize(1..3) {
                    let at = Duration::from_secs(beats.u64(0..span));
                    arrivals.push(Arrival {
                        at,
                        event: event.clone(),
                    });
                }
            }
        }
    }
    // Jobs that do not end: a folder's jobs in random states, judged by the real hung-job watch
    // at a few later times, each event it says arriving once or twice; a stream of its own.
    let mut hung = fastrand::Rng::with_seed(seed ^ 0x4a6e);
    if hung.bool() {
        let records = opsbell_core::testing::MemoryRecords::default();
        let states = [
            "Pending",
            "Running",
            "Suspended",
            "Resumed",
            "Stopping",
            "Terminating",
        ];
        let jobs: Vec<Job> = (0..hung.usize(1..5))
            .map(|n| {
                let since = base - chrono::Duration::minutes(hung.i64(0..600));
                serde_json::from_value(json!({
                    "Id": 900 + n, "Key": format!("hung-{seed}-{n}"), "State": states[hung.usize(0..6)],
                    "CreationTime": since.to_rfc3339(), "StartTime": since.to_rfc3339(),
                    "Release": {"ProcessKey": PROCESSES[hung.usize(0..3)]},
                }))
                .unwrap()
            })
            .collect();
        let (ctx, watch, mut now) = (UipathContext::default(), hung_watch(), base);
        for _ in 0..hung.usize(1..5) {
            now += chrono::Duration::minutes(hung.i64(1..240));
            let judged =
                opsbell_core::poll::hung::judge(&records, "sim", &watch, &ctx, 1, &jobs, now);
            for event in futures::executor::block_on(judged).unwrap() {
                events.push(event.clone());
                for _ in 0..hung.usize(1..3) {
                    let at = Duration::from_secs(hung.u64(0..span));
                    arrivals.push(Arrival {
                        at,
                        event: event.clone(),
                    });
                }
            }
        }
    }
    // Robots that go away and stay away: several away reports (`robot.status`), each delivered
    // once or twice, in any order, through the real parser and the fan-out's presence stage.
    let mut away = fastrand::Rng::with_seed(seed ^ 0x40b0);
    let mut robots = Vec::new();
    if away.bool() {
        for r in 0..away.usize(1..3) {
            let mut keys = Vec::new();
            for n in 0..away.usize(1..4) {
                let at = (base + chrono::Duration::minutes(5 * n as i64)).to_rfc3339();
                let body = json!({
                    "Type": "robot.status", "EventId": format!("{seed}-{r}-{n}"), "Timestamp": at,
                    "Sessions": [{"SessionId": 100 + r, "RobotId": 100 + r, "HostMachineName": format!("PC-{r}"),
                                  "State": "Disconnected", "ReportingTime": at, "IsUnresponsive": true}],
                    "TenantId": 1, "OrganizationUnitId": 1,
                });
                let Inbound::Events(mut parsed) =
                    parse_webhook(body.to_string().as_bytes(), &UipathContext::default()).unwrap()
                else {
                    panic!("an away report")
                };
                let report = parsed.remove(0);
                keys.push(report.key.to_string());
                for _ in 0..away.usize(1..3) {
                    let at = Duration::from_secs(away.u64(0..span));
                    arrivals.push(Arrival {
                        at,
                        event: report.clone(),
                    });
                }
            }
            robots.push(keys);
        }
    }
    let mut silences = Vec::new();
    if rng.bool() {
        let (process, channel) = (
            PROCESSES[rng.usize(0..3)],
            ["slack", "chatwork", "bot"][rng.usize(0..3)],
        );
        let (from, until) = match rng.bool() {
            true => (Duration::ZERO, Duration::from_secs(30 * 86_400)),
            false => (at(), at() + Duration::from_secs(rng.u64(1..300))),
        };
        silences.push(SilenceSpec {
            process: process.into(),
            channel: channel.into(),
            from,
            until,
        });
    }
    let misconfigured = rng.bool().then(|| {
        let from = at();
        (from, from + Duration::from_secs(rng.u64(10..900)))
    });
    let rate = |rng: &mut fastrand::Rng, most: f64| if rng.bool() { rng.f64() * most } else { 0.0 };
    Scenario {
        arrivals,
        events,
        silences,
        store: rate(&mut rng, 0.15),
        crash: rate(&mut rng, 0.08),
        vendor: rate(&mut rng, 0.4),
        misconfigured,
        robots,
        redrive_after: Duration::from_secs(match rng.u8(0..3) {
            0 => 60,
            1 => 86_400,
            _ => 5 * 86_400,
        }),
    }
}

/// The channels the scenario's configuration routes `event` to, written from the scenario's
/// rules (see `config`), not from opsbell's router.
pub fn expected_channels(event: &Event) -> Vec<&'static str> {
    let mut channels = Vec::new();
    if matches!(
        event.state,
        State::Faulted
            | State::Stopped
            | State::Alarm
            | State::NotStarted
            | State::Down
            | State::Hung
            | State::Offline
    ) {
        channels.extend(["slack", "bot"]);
    }
    if event.process.starts_with("Invoice") || event.tenant.as_deref() == Some("2") {
        channels.push("chatwork");
    }
    channels
}

/// The scenario's routes as a user writes them.
pub fn config() -> serde_json::Value {
    json!([
        {"channels": ["slack", "bot"], "states": ["faulted", "stopped", "alarm", "not_started", "down", "hung", "offline"]},
        {"channels": ["chatwork"], "processes": ["Invoice*"]},
        {"channels": ["chatwork"], "tenants": ["2"]},
    ])
}

/// The scenario's hung-job watch: the defaults, nothing learned.
fn hung_watch() -> HungWatch {
    let hour = Duration::from_secs(3600);
    HungWatch {
        running: Some(2 * hour),
        learn: Some(Learn {
            k: 3.0,
            runs: 20,
            floor: hour / 4,
        }),
        pending: Some(hour),
        suspended: Some(3 * hour),
        stopping: Some(hour / 2),
        max_running: Default::default(),
    }
}

/// The scenario's heartbeat check: hourly, a grace of 30 minutes.
fn heartbeat() -> Heartbeat {
    let raw = json!([{ "name": "nightly", "key": "0b8f6a4e-2c1d-4e7f-9a3b", "period": "1h", "grace": "30m" }]);
    let mut problems = opsbell_core::problem::Problems::default();
    let mut checks =
        opsbell_core::heartbeat::read(Some(raw), chrono_tz::Asia::Tokyo, &mut problems);
    assert!(problems.0.is_empty());
    checks.remove(0)
}
