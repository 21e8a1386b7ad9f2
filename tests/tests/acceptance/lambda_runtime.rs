//! The five deployed binaries as Lambda runs them: each release binary is started with the
//! environment the rendered template gives its function, in a folder holding its
//! `config.json`, against a Runtime API emulator (`support::runtime`), and takes one real event.
//! Every AWS call goes through an IAM proxy that enforces exactly the function's own role from
//! the template (`support::iam`), in front of moto, so a permission missing from
//! serverless.yml fails here, naming the action and the resource.

use std::time::Duration;

use crate::support::deployment::{
    STAGE, Stack, chat_headers, console_event, google_keys, http_event, orchestrator_with_token,
    schedule_tick,
};
use crate::support::iam::IamProxy;
use crate::support::runtime::Answer;
use crate::support::template::{Resource, glob};
use crate::support::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TIMEOUT: Duration = Duration::from_secs(30);

fn assert_calls(proxy: &IamProxy, expected: &[&str]) {
    proxy.assert_nothing_denied();
    let calls: Vec<String> = proxy.calls().into_iter().map(|c| c.action).collect();
    for action in expected {
        assert!(
            calls.iter().any(|c| c == action),
            "no {action} in {calls:?}"
        );
    }
}

#[test]
fn the_iam_evaluator_matches_wildcards_as_iam_does() {
    assert!(glob(
        "arn:aws:ssm:*:1:parameter/opsbell/ci/*",
        "arn:aws:ssm:r:1:parameter/opsbell/ci/x"
    ));
    assert!(!glob(
        "arn:aws:ssm:*:1:parameter/opsbell/ci/*",
        "arn:aws:ssm:r:1:parameter/opsbell/dev/x"
    ));
    assert!(glob("s3:Get*", "s3:GetObject"));
    assert!(glob("secret:a-??????", "secret:a-AbCdEf"));
    assert!(!glob("secret:a-??????", "secret:a-AbCdE"));
    assert!(!glob("table/a", "table/a/index/b"));
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn webhook_ingest_takes_a_signed_webhook_under_its_role() {
    let stack = Stack::new().await;
    let config = json!({
        "webhook": { "orchestrator": {
            "secret": stack.secret("ssm", "orchestrator-secret", SECRET).await,
            "url": ORCHESTRATOR } }
    });
    let (runtime, mut function, proxy) = stack.start("webhook-ingest", config, &[], None).await;
    let body = job_sample("faulted");
    let event = http_event(
        "/webhook/orchestrator",
        json!({ "content-type": "application/json", "x-uipath-signature": signature(&body) }),
        &body,
    );
    let answer = runtime
        .invoke(&mut function, event, TIMEOUT)
        .await
        .response();
    assert_eq!(answer["statusCode"], 202, "{answer}\n{}", function.log());
    let queued = stack.queued(&stack.events_queue).await;
    assert_eq!(queued.len(), 1, "one job, one queued event");
    assert_eq!(queued[0]["state"], "faulted");
    assert_calls(&proxy, &["ssm:GetParameter", "sqs:SendMessage"]);
    // What the Lambda benchmark reads: INIT ended at the first `next`, one timed invocation,
    // and each AWS request kept with its answer.
    let init_end = runtime
        .first_next()
        .expect("the function asked for an event");
    assert!(init_end > function.spawned);
    assert_eq!(runtime.durations().len(), 1);
    assert!(function.peak_rss_kib().is_some_and(|kib| kib > 0));
    let sends: Vec<Value> = (proxy.exchanges().iter())
        .map(|e| e.summary())
        .filter(|e| e["service"] == "sqs")
        .collect();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0]["operation"], "SendMessageBatch");
    assert_eq!(sends[0]["status"], 200);
    assert!(
        sends[0]["request_bytes"].as_u64().unwrap() > 500,
        "{sends:?}"
    );
    assert!(!function.log().contains(SECRET), "no secret in the log");
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn job_poller_takes_a_schedule_tick_under_its_role() {
    let stack = Stack::new().await;
    let orchestrator = orchestrator_with_token().await;
    let ended = (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339();
    Mock::given(method("GET"))
        .and(path("/odata/Jobs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.count": 1,
            "value": [{ "Id": 901, "Key": "00000000-0000-4000-8000-000000000901", "State": "Faulted",
                        "StartTime": ended, "EndTime": ended, "ReleaseName": "Billing",
                        "HostMachineName": "PC-1", "Info": "boom" }]
        })))
        .mount(&orchestrator)
        .await;
    let config = stack
        .poller_config(&orchestrator, "orchestrator-client-secret")
        .await;
    let (runtime, mut function, proxy) = stack.start("job-poller", config, &[], None).await;
    let tick = schedule_tick();
    let answer = runtime.invoke(&mut function, tick, TIMEOUT).await;
    let Answer::Response(report) = answer else {
        panic!("{answer:?}\n{}", function.log())
    };
    assert!(report["polled"].is_array(), "{report}");
    let queued = stack.queued(&stack.events_queue).await;
    assert_eq!(queued.len(), 1, "{report}");
    assert_eq!(stack.records("WATERMARK#uipath:cloud").await, ["1"]);
    assert_calls(
        &proxy,
        &[
            "secretsmanager:GetSecretValue",
            "sqs:SendMessage",
            "dynamodb:PutItem",
        ],
    );
    // The poll lag, as an embedded-metric log line the poll-lag alarm watches.
    let lag = function
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l.get("PollLagSeconds").is_some())
        .unwrap_or_else(|| panic!("no poll-lag metric in the log:\n{}", function.log()));
    assert_eq!(
        (lag["Source"].as_str(), lag["PollLagSeconds"].as_i64()),
        (Some("cloud"), Some(0))
    );
    assert_eq!(lag["_aws"]["CloudWatchMetrics"][0]["Namespace"], "opsbell");
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_heartbeat_is_pinged_through_webhook_ingest_and_judged_by_the_job_poller_under_their_roles()
 {
    const KEY: &str = "7c2e9d14-5b3a-4f68-8e1d-0a9b8c7d6e5f";
    let stack = Stack::new().await;
    let config = json!({
        "webhook": { "orchestrator": { "allow_unsigned": true } },
        "heartbeats": [{ "name": "nightly-batch", "key": KEY, "period": "1s", "grace": "1s" }]
    });
    let (runtime, mut function, proxy) = stack
        .start("webhook-ingest", config.clone(), &[], None)
        .await;
    let mut ping = http_event(&format!("/ping/{KEY}"), json!({}), b"started 02:00, ok");
    ping["routeKey"] = json!("POST /ping/{proxy+}");
    let answer = runtime
        .invoke(&mut function, ping, TIMEOUT)
        .await
        .response();
    assert_eq!(answer["statusCode"], 200, "{answer}\n{}", function.log());
    assert_eq!(stack.records("HEARTBEAT#ALL").await, ["nightly-batch"]);
    // The ping's role reaches its check's row only (a condition on the partition key).
    assert_calls(&proxy, &["dynamodb:GetItem", "dynamodb:PutItem"]);
    assert!(!function.log().contains(KEY), "the key is a secret");
    drop((runtime, function));

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (runtime, mut function, proxy) = stack.start("job-poller", config, &[], None).await;
    let answer = runtime
        .invoke(&mut function, schedule_tick(), TIMEOUT)
        .await;
    let Answer::Response(_) = answer else {
        panic!("{answer:?}\n{}", function.log())
    };
    let queued = stack.queued(&stack.events_queue).await;
    let mut states: Vec<&str> = queued
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    states.sort();
    assert_eq!(states, ["down", "late"], "{}", function.log());
    assert_eq!(queued[0]["source"], "heartbeat");
    assert_calls(
        &proxy,
        &["dynamodb:GetItem", "sqs:SendMessage", "dynamodb:PutItem"],
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn job_poller_watches_triggers_and_hung_jobs_under_its_role() {
    let stack = Stack::new().await;
    let orchestrator = orchestrator_with_token().await;
    let schedules: Value =
        serde_json::from_slice(&sample("uipath-odata-process-schedules.json")).unwrap();
    Mock::given(method("GET"))
        .and(path("/odata/ProcessSchedules"))
        .respond_with(ResponseTemplate::new(200).set_body_json(schedules))
        .mount(&orchestrator)
        .await;
    // One job still running (the documented shape): neither an end for the poll nor a run
    // for the triggers, and remembered by the hung-job watch.
    let jobs: Value = serde_json::from_slice(&sample("uipath-odata-jobs.json")).unwrap();
    let mut running = jobs["value"][0].clone();
    running["State"] = json!("Running");
    running["EndTime"] = Value::Null;
    Mock::given(method("GET"))
        .and(path("/odata/Jobs"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "@odata.count": 1, "value": [running] })),
        )
        .mount(&orchestrator)
        .await;
    // A secret of its own: the emulator is shared with the other tests.
    let mut config = stack
        .poller_config(&orchestrator, "orchestrator-triggers-secret")
        .await;
    config["sources"]["orchestrator"][0]["triggers"] = json!({ "grace": "10m" });
    config["sources"]["orchestrator"][0]["hung"] = json!({});
    let (runtime, mut function, proxy) = stack.start("job-poller", config, &[], None).await;
    let answer = runtime
        .invoke(&mut function, schedule_tick(), TIMEOUT)
        .await;
    let Answer::Response(report) = answer else {
        panic!("{answer:?}\n{}", function.log())
    };
    let watched = (report["polled"].as_array().unwrap().iter())
        .find(|r| r["source"] == "cloud:triggers")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        (watched["folders"].as_u64(), watched["pages"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    let hung = (report["polled"].as_array().unwrap().iter())
        .find(|r| r["source"] == "cloud:hung")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        (hung["folders"].as_u64(), hung["pages"].as_u64()),
        (Some(1), Some(1))
    );
    // The folder's triggers and its running job, kept for the next cycles, under the poller's
    // own role.
    assert_eq!(stack.records("TRIGGERS#cloud").await, ["1"]);
    assert_eq!(stack.records("HUNG#cloud").await, ["1"]);
    assert_calls(&proxy, &["dynamodb:GetItem", "dynamodb:PutItem"]);
    let requests = orchestrator.received_requests().await.unwrap();
    assert!(requests.iter().any(|r| {
        r.url.path() == "/odata/ProcessSchedules"
            && r.headers
                .get("x-uipath-organizationunitid")
                .is_some_and(|v| v == "1")
    }));
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn alarm_fanout_takes_an_sqs_batch_and_an_sns_alarm_under_its_role() {
    let stack = Stack::new().await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let url = format!("{}{SLACK_PATH}", slack.uri());
    // Flood control after one event: the rest of the window (the second job of the batch, then
    // the alarm) waits for its digest, a delayed message on the events queue itself
    // (sqs:SendMessage under this role).
    // An `oncall` channel hears the jobs too: each starts an escalation on the caller's queue.
    let config = json!({
        "channels": {
            "ops-slack": { "type": "slack",
                "webhook_url": stack.secret("secretsmanager", "slack-webhook-url", &url).await,
                "flood": { "burst": 1, "window": "15m" } },
            "pager": { "type": "oncall" }
        }
    });
    let (runtime, mut function, proxy) = stack.start("alarm-fanout", config, &[], None).await;
    let faulted = &events_of(&job_sample("faulted"))[0];
    let stopped = &events_of(&job_sample("stopped"))[0];
    let record = |id: &str, event: &opsbell_core::event::Event| {
        json!({
            "messageId": id, "receiptHandle": id, "body": serde_json::to_string(event).unwrap(),
            "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:ap-northeast-1:123456789012:events", "awsRegion": "ap-northeast-1"
        })
    };
    let batch = json!({ "Records": [record("m-1", faulted), record("m-2", stopped)] });
    let answer = runtime
        .invoke(&mut function, batch, TIMEOUT)
        .await
        .response();
    assert_eq!(
        answer,
        json!({"batchItemFailures": []}),
        "{}",
        function.log()
    );
    let alarm: Value = serde_json::from_slice(&sample(
        "sns-cloudwatch-alarm-single-metric-lambda-event.json",
    ))
    .unwrap();
    let answer = runtime
        .invoke(&mut function, alarm, TIMEOUT)
        .await
        .response();
    assert!(answer["delivered"].is_array(), "{answer}");
    assert_eq!(
        slack.received_requests().await.unwrap().len(),
        1,
        "the first job; the second and the alarm wait for the window's digest"
    );
    assert_calls(
        &proxy,
        &[
            "secretsmanager:GetSecretValue",
            "dynamodb:UpdateItem",
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "sqs:SendMessage",
        ],
    );
    let sent_to = |queue: &str| {
        let arn = Resource::queue(queue).attributes["Arn"].clone();
        (proxy.calls().iter()).any(|c| c.action == "sqs:SendMessage" && c.resource == arn)
    };
    assert!(
        sent_to(&stack.events_queue),
        "the digest waits on the events queue"
    );
    assert!(
        sent_to(&stack.check_queue),
        "the escalation starts on the caller's queue"
    );
    assert!(
        !function.log().contains("slack-secret-path"),
        "no webhook URL in the log"
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn oncall_caller_takes_an_sns_alarm_under_its_role() {
    let stack = Stack::new().await;
    let connect = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/contact/outbound-voice"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ContactId": "contact-1"})))
        .mount(&connect)
        .await;
    let (runtime, mut function, proxy) = stack
        .start("oncall-caller", json!({}), &[], Some(connect.uri()))
        .await;
    let mut alarm: Value = serde_json::from_slice(&sample(
        "sns-cloudwatch-alarm-single-metric-lambda-event.json",
    ))
    .unwrap();
    alarm["Records"][0]["Sns"]["TopicArn"] = json!(format!(
        "arn:aws:sns:ap-northeast-1:123456789012:opsbell-{STAGE}-oncall"
    ));
    let answer = runtime.invoke(&mut function, alarm, TIMEOUT).await;
    let Answer::Response(report) = answer else {
        panic!("{answer:?}\n{}", function.log())
    };
    assert_eq!(report["batchItemFailures"], json!([]), "{report}");
    let calls = connect.received_requests().await.unwrap();
    assert_eq!(calls.len(), 1, "one call placed\n{}", function.log());
    let call: Value = serde_json::from_slice(&calls[0].body).unwrap();
    assert_eq!(call["InstanceId"], "11111111-2222-3333-4444-555555555555");
    assert_calls(
        &proxy,
        &[
            "s3:GetObject",
            "connect:StartOutboundVoiceContact",
            "sqs:SendMessage",
            "dynamodb:PutItem",
        ],
    );
    // The answer check is scheduled on the caller's own queue.
    let check_arn = Resource::queue(&stack.check_queue).attributes["Arn"].clone();
    assert!(
        proxy
            .calls()
            .iter()
            .any(|c| c.action == "sqs:SendMessage" && c.resource == check_arn),
        "no check scheduled on {check_arn}: {:?}",
        proxy.calls()
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn chat_listener_takes_a_chat_event_under_its_role() {
    let stack = Stack::new().await;
    let google = google_keys().await;
    let (runtime, mut function, proxy) = stack
        .start(
            "chat-listener",
            json!({}),
            &[("CHAT_KEYS_URL", google.uri())],
            None,
        )
        .await;
    let headers = chat_headers();
    let added = sample("googlechat-event-added-to-space-room-docs.json");
    let answer = runtime
        .invoke(
            &mut function,
            http_event("/chat/events", headers.clone(), &added),
            TIMEOUT,
        )
        .await
        .response();
    assert_eq!(answer["statusCode"], 200, "{answer}\n{}", function.log());
    let space: Value = serde_json::from_slice(&added).unwrap();
    let space = space["space"]["name"].as_str().unwrap();
    assert_eq!(stack.records("SPACE#opsbell").await, [space]);
    // `oncall` reads today's rotation from the bucket.
    let mut message: Value =
        serde_json::from_slice(&sample("googlechat-event-message-room-docs.json")).unwrap();
    message["message"]["text"] = json!("@opsbell oncall");
    message["message"]["argumentText"] = json!(" oncall");
    let body = message.to_string().into_bytes();
    let answer = runtime
        .invoke(
            &mut function,
            http_event("/chat/events", headers, &body),
            TIMEOUT,
        )
        .await
        .response();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    // `status` lists the spaces and what was delivered (dynamodb:Query).
    message["message"]["text"] = json!("@opsbell status");
    message["message"]["argumentText"] = json!(" status");
    let body = message.to_string().into_bytes();
    let answer = runtime
        .invoke(
            &mut function,
            http_event("/chat/events", chat_headers(), &body),
            TIMEOUT,
        )
        .await
        .response();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    // Removed from the space: it is forgotten (dynamodb:DeleteItem under this role).
    let removed = sample("googlechat-event-removed-from-space-docs.json");
    let answer = runtime
        .invoke(
            &mut function,
            http_event("/chat/events", chat_headers(), &removed),
            TIMEOUT,
        )
        .await
        .response();
    assert_eq!(answer["statusCode"], 200, "{answer}\n{}", function.log());
    assert!(stack.records("SPACE#opsbell").await.is_empty());
    assert_calls(
        &proxy,
        &[
            "dynamodb:PutItem",
            "s3:GetObject",
            "dynamodb:Query",
            "dynamodb:DeleteItem",
        ],
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn console_serves_pages_and_takes_a_silence_and_a_redrive_under_its_role() {
    let stack = Stack::new().await;
    let (config, cookie, csrf) = stack.console().await;
    // A fault the fan-out told, in the history the pages read.
    stack.told_fault("InvoiceBot").await;
    // A dead message to redrive.
    (stack
        .sqs
        .send_message()
        .queue_url(&stack.events_dlq)
        .message_body("{}")
        .send())
    .await
    .unwrap();

    let (runtime, mut function, proxy) = stack.start("console", config, &[], None).await;
    let mut invoke =
        async |event: Value| (runtime.invoke(&mut function, event, TIMEOUT).await).response();
    let now_page = invoke(console_event("GET", "/console/", &cookie, None)).await;
    assert_eq!(now_page["statusCode"], 200, "{now_page}");
    assert!(
        now_page["body"].as_str().unwrap().contains("InvoiceBot"),
        "{now_page}"
    );
    let anonymous = invoke(console_event("GET", "/console/history", "x=y", None)).await;
    assert_eq!(anonymous["statusCode"], 303, "no session: to the sign-in");
    let form = format!("csrf={csrf}&text=process%3DInvoice*+for+1h+deploy&save=1");
    let saved = invoke(console_event(
        "POST",
        "/console/silences",
        &cookie,
        Some(&form),
    ))
    .await;
    assert_eq!(saved["statusCode"], 303, "{saved}");
    assert_eq!(stack.records("SILENCE#ALL").await.len(), 1);
    let health = invoke(console_event("GET", "/console/health", &cookie, None)).await;
    assert!(
        health["body"].as_str().unwrap().contains("1 dead"),
        "{health}"
    );
    let redrive = invoke(console_event(
        "POST",
        "/console/redrive",
        &cookie,
        Some(&format!("csrf={csrf}")),
    ))
    .await;
    assert_eq!(redrive["statusCode"], 303, "{redrive}");
    assert_eq!(
        stack.queued(&stack.events_queue).await.len(),
        1,
        "moved back to the events queue"
    );
    assert_calls(
        &proxy,
        &[
            "dynamodb:Query",
            "dynamodb:PutItem",
            "sqs:GetQueueAttributes",
            "sqs:StartMessageMoveTask",
            "ssm:GetParameter",
            "secretsmanager:GetSecretValue",
        ],
    );
}
