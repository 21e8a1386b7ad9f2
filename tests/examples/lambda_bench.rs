//! The Lambda benchmark (`scripts/bench-lambda.sh`): each of the five release binaries is started
//! as Lambda starts it, against the Runtime API emulator of the runtime-protocol tests, with moto
//! and a local HTTP sink behind it, and timed as Lambda bills it:
//! - INIT: from the spawn to the first `next`;
//! - the first invocation, then the warm ones (p50, p99 over N events);
//! - the peak RSS.
//!
//! A second, short run of each function goes through the IAM proxy, which keeps every AWS request
//! with its body and answer: the per-invocation AWS requests the cost table prices.
//! Usage: `cargo run --release -p opsbell-tests --example lambda_bench -- [events] [out.json]`
//! with moto at `AWS_ENDPOINT_URL` and the release Lambdas built.

#![allow(dead_code)]

#[path = "../tests/acceptance/support/mod.rs"]
mod support;

use opsbell_core::event::{Source, State};
use opsbell_core::state::{Fate, History, Told};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::deployment::{
    STAGE, Stack, chat_headers, console_event, google_keys, http_event, orchestrator_with_token,
    schedule_tick,
};
use support::iam::{Exchange, IamProxy};
use support::runtime::{Function, RuntimeApi};
use support::{events_of, job_sample, sample, signature};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TIMEOUT: Duration = Duration::from_secs(30);
/// Invocations of the counting run (after its first, which is not counted).
const COUNTED: usize = 20;

/// One function as the benchmark runs it.
struct Case {
    name: &'static str,
    config: Value,
    overrides: Vec<(&'static str, String)>,
    /// Connect's fake: behind the IAM proxy in the counting run, straight in the timing run.
    connect: Option<String>,
    /// The `i`th event.
    event: Box<dyn Fn(usize) -> Value>,
    /// Fewer warm events, this far apart: for a function that paces a vendor on purpose.
    paced: Option<(usize, Duration)>,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().map_or(1000, |n| n.parse().expect("events"));
    let out = args.next();
    let stack = Stack::new().await;
    let sink = sink().await;
    let mut rows = Vec::new();
    let only = std::env::var("BENCH_ONLY").ok();
    for case in cases(&stack, &sink).await {
        if only.as_ref().is_some_and(|o| o != case.name) {
            continue;
        }
        let timing = time(&stack, &case, events).await;
        let calls = count(&stack, &case).await;
        eprintln!("{}: done", case.name);
        rows.push(json!({ "function": case.name, "timing": timing, "calls": calls }));
    }
    let report = json!({ "events": events, "functions": rows });
    match out {
        Some(path) => std::fs::write(path, report.to_string()).unwrap(),
        None => println!("{report:#}"),
    }
}

/// INIT, first and warm invocations and peak RSS of `case`, its AWS calls straight to moto.
async fn time(stack: &Stack, case: &Case, events: usize) -> Value {
    let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto)");
    let mut env = case.overrides.clone();
    if std::env::var("BENCH_LOG").is_ok_and(|n| n == case.name) {
        env.push(("AWS_LAMBDA_LOG_LEVEL", "info".into()));
    }
    if let Some(connect) = &case.connect {
        env.push(("AWS_ENDPOINT_URL_CONNECT", connect.clone()));
    }
    let (runtime, mut function) = stack
        .spawn(case.name, case.config.clone(), &env, &moto)
        .await;
    let init = loop {
        if let Some(at) = runtime.first_next() {
            break at - function.spawned;
        }
        assert!(
            function.spawned.elapsed() < TIMEOUT,
            "{} never asked for an event:\n{}",
            case.name,
            function.log()
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let (events, gap) = case.paced.unwrap_or((events, Duration::ZERO));
    for i in 0..=events {
        invoke(&runtime, &mut function, (case.event)(i)).await;
        tokio::time::sleep(gap).await;
    }
    if std::env::var("BENCH_LOG").is_ok_and(|n| n == case.name) {
        eprintln!("{}", function.log());
    }
    let durations = runtime.durations();
    let mut warm: Vec<f64> = durations[1..].iter().map(|d| ms(*d)).collect();
    warm.sort_by(f64::total_cmp);
    let at = |q: f64| warm[((warm.len() as f64 * q).ceil() as usize).clamp(1, warm.len()) - 1];
    json!({
        "init_ms": ms(init),
        "first_ms": ms(durations[0]),
        "p50_ms": at(0.50),
        "p99_ms": at(0.99),
        "mean_ms": warm.iter().sum::<f64>() / warm.len() as f64,
        "warm_events": warm.len(),
        "gap_ms": ms(gap),
        "peak_rss_mib": function.peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
    })
}

/// The AWS requests of `case`'s first invocation and, per invocation, of the next [`COUNTED`],
/// each as the IAM proxy saw it (the role is enforced, too).
async fn count(stack: &Stack, case: &Case) -> Value {
    let (runtime, mut function, proxy) = stack
        .start(
            case.name,
            case.config.clone(),
            &case.overrides,
            case.connect.clone(),
        )
        .await;
    let init_ms = loop {
        if let Some(at) = runtime.first_next() {
            break ms(at - function.spawned);
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let init = proxy.exchanges().len();
    let init_aws: Duration = proxy.exchanges().iter().map(|e| e.took).sum();
    // Each invocation's time outside its AWS requests (as the proxy timed them upstream).
    let mut own = Vec::new();
    let mut own_time = |runtime: &RuntimeApi, proxy: &IamProxy, from: usize| {
        let aws: Duration = proxy.exchanges()[from..].iter().map(|e| e.took).sum();
        let took = *runtime.durations().last().unwrap();
        own.push(ms(took.saturating_sub(aws)));
    };
    invoke(&runtime, &mut function, (case.event)(0)).await;
    own_time(&runtime, &proxy, init);
    let first = proxy.exchanges().len();
    let logged = function.log().len();
    for i in 1..=COUNTED {
        if let Some((_, gap)) = case.paced {
            tokio::time::sleep(gap).await;
        }
        let from = proxy.exchanges().len();
        invoke(&runtime, &mut function, (case.event)(1_000_000 + i)).await;
        own_time(&runtime, &proxy, from);
    }
    let log_bytes = (function.log().len() - logged) / COUNTED;
    let counted = proxy.exchanges().len();
    // Every job comes twice, by webhook and by poll, under one event key: the fan-out's second
    // copy finds its claim refused. Its requests and time, for the cost table.
    let mut repeat_ms = 0.0;
    if case.name == "alarm-fanout" {
        invoke(&runtime, &mut function, (case.event)(1_000_001)).await;
        repeat_ms = ms(*runtime.durations().last().unwrap());
    }
    proxy.assert_nothing_denied();
    let all = proxy.exchanges();
    let list = |calls: &[Exchange]| calls.iter().map(Exchange::summary).collect::<Vec<_>>();
    json!({
        "init": list(&all[..init]),
        "first": list(&all[init..first]),
        "warm": list(&all[first..counted]),
        "repeat": list(&all[counted..]),
        "repeat_ms": repeat_ms,
        "warm_invocations": COUNTED,
        "log_bytes_per_invocation": log_bytes,
        "own_init_ms": init_ms - ms(init_aws),
        "own_first_ms": own[0],
        "own_warm_ms": own[1..].iter().sum::<f64>() / COUNTED as f64,
    })
}

/// Invokes and checks the answer: an HTTP answer below 300, no failed batch item, no error.
async fn invoke(runtime: &RuntimeApi, function: &mut Function, event: Value) {
    let answer = match runtime.invoke(function, event, TIMEOUT).await {
        support::runtime::Answer::Response(answer) => answer,
        failed => panic!("{failed:?}\n{}", function.log()),
    };
    let http_ok = answer["statusCode"].as_u64().is_none_or(|s| s < 300);
    let batch_ok = answer["batchItemFailures"]
        .as_array()
        .is_none_or(|f| f.is_empty());
    assert!(http_ok && batch_ok, "{answer}\n{}", function.log());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A keep-alive HTTP sink that answers every POST `200 ok` (Slack's answer).
async fn sink() -> MockServer {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    server
}

/// Orchestrator's job list with one new job a call, ended a minute ago.
struct NewJobEachCall(AtomicU64);

impl Respond for NewJobEachCall {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        let ended = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        ResponseTemplate::new(200).set_body_json(json!({
            "@odata.count": 1,
            "value": [{ "Id": n, "Key": format!("00000000-0000-4000-8000-{n:012}"), "State": "Faulted",
                        "StartTime": ended, "EndTime": ended, "ReleaseName": "Billing",
                        "HostMachineName": "PC-1", "Info": "boom" }]
        }))
    }
}

async fn cases(stack: &Stack, sink: &MockServer) -> Vec<Case> {
    let slack = format!("{}/services/T0/B0/bench", sink.uri());
    // The default flood control, with a burst no benchmark reaches and a short window, so every
    // event is posted and its window row stays small; no pacing, so no post waits a second.
    let channel = json!({ "type": "slack", "webhook_url": slack,
        "flood": { "burst": 1_000_000, "window": "1s" }, "spacing": "0s" });

    let webhook = {
        let config = json!({ "webhook": { "orchestrator": {
            "secret": stack.secret("ssm", "bench-orchestrator-secret", support::SECRET).await,
            "url": support::ORCHESTRATOR } } });
        let body = job_sample("faulted");
        let event = http_event(
            "/webhook/orchestrator",
            json!({ "content-type": "application/json", "x-uipath-signature": signature(&body) }),
            &body,
        );
        Case {
            name: "webhook-ingest",
            config,
            overrides: vec![],
            connect: None,
            paced: None,
            event: Box::new(move |_| event.clone()),
        }
    };

    let poller = {
        let orchestrator = orchestrator_with_token().await;
        Mock::given(method("GET"))
            .and(path("/odata/Jobs"))
            .respond_with(NewJobEachCall(AtomicU64::new(0)))
            .mount(&orchestrator)
            .await;
        let mut config = stack
            .poller_config(&orchestrator, "bench-orchestrator-client-secret")
            .await;
        // Back-to-back ticks, not 5 minutes apart: no pacing of Orchestrator's API.
        config["sources"]["orchestrator"][0]["requests_per_minute"] = json!(600_000);
        // The mock lives as long as the process.
        std::mem::forget(orchestrator);
        Case {
            name: "job-poller",
            config,
            overrides: vec![],
            connect: None,
            paced: None,
            event: Box::new(|_| schedule_tick()),
        }
    };

    let fanout = {
        let config = json!({ "channels": { "ops-slack": channel } });
        let event = serde_json::to_value(&events_of(&job_sample("faulted"))[0]).unwrap();
        Case {
            name: "alarm-fanout",
            config,
            overrides: vec![],
            connect: None,
            paced: None,
            event: Box::new(move |i| {
                let mut event = event.clone();
                event["key"] = json!(format!("{}-{i}", event["key"].as_str().unwrap()));
                json!({ "Records": [{
                    "messageId": format!("m-{i}"), "receiptHandle": format!("r-{i}"),
                    "body": event.to_string(), "attributes": {}, "messageAttributes": {},
                    "eventSource": "aws:sqs", "awsRegion": "ap-northeast-1",
                    "eventSourceARN": "arn:aws:sqs:ap-northeast-1:123456789012:events" }]})
            }),
        }
    };

    let caller = {
        let connect = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        Mock::given(method("PUT"))
            .and(path("/contact/outbound-voice"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"ContactId": "contact-1"})),
            )
            .mount(&connect)
            .await;
        let uri = connect.uri();
        std::mem::forget(connect);
        let alarm: Value = serde_json::from_slice(&sample(
            "sns-cloudwatch-alarm-single-metric-lambda-event.json",
        ))
        .unwrap();
        Case {
            name: "oncall-caller",
            config: json!({}),
            overrides: vec![],
            connect: Some(uri),
            // The caller paces Connect at 2 calls a second (its quota); alarms are that rare.
            paced: Some((40, Duration::from_millis(510))),
            event: Box::new(move |i| {
                let mut alarm = alarm.clone();
                let sns = &mut alarm["Records"][0]["Sns"];
                sns["TopicArn"] = json!(format!(
                    "arn:aws:sns:ap-northeast-1:123456789012:opsbell-{STAGE}-oncall"
                ));
                let mut message: Value =
                    serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
                message["AlarmName"] = json!(format!("bench-alarm-{i}"));
                sns["Message"] = json!(message.to_string());
                sns["MessageId"] = json!(format!("bench-{i}"));
                alarm
            }),
        }
    };

    let listener = {
        let google = google_keys().await;
        let uri = google.uri();
        std::mem::forget(google);
        let headers = chat_headers();
        let mut message: Value =
            serde_json::from_slice(&sample("googlechat-event-message-room-docs.json")).unwrap();
        message["message"]["text"] = json!("@opsbell oncall");
        message["message"]["argumentText"] = json!(" oncall");
        let event = http_event("/chat/events", headers, message.to_string().as_bytes());
        Case {
            name: "chat-listener",
            config: json!({}),
            overrides: vec![("CHAT_KEYS_URL", uri)],
            connect: None,
            paced: None,
            event: Box::new(move |_| event.clone()),
        }
    };
    // The console's Now page for a signed-in responder, over a day of history (1,000 events).
    let console = {
        let (config, cookie, _) = stack.console().await;
        let store = opsbell_aws::dynamodb::DynamoStore::new(stack.dynamodb.clone(), &stack.table);
        let now = chrono::Utc::now();
        for n in 0..1000 {
            let state = if n % 10 == 0 {
                State::Faulted
            } else {
                State::Successful
            };
            let at = now - chrono::Duration::seconds(n * 86);
            let process = format!("Proc{:03}", n % 100);
            let e = opsbell_core::event::Event::new(
                Source::Uipath,
                "1/7",
                &format!("job-{n}"),
                state,
                &process,
                at,
            );
            let told = Told {
                fate: Fate::Delivered,
                detail: "ts".into(),
                at,
            };
            History::note(&store, &e, &[("ops-slack".into(), told)], at)
                .await
                .unwrap();
        }
        let event = console_event("GET", "/console/", &cookie, None);
        Case {
            name: "console",
            config,
            overrides: vec![],
            connect: None,
            paced: None,
            event: Box::new(move |_| event.clone()),
        }
    };
    vec![webhook, poller, fanout, caller, listener, console]
}
