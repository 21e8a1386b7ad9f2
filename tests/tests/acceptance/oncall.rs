//! The on-call caller end to end: rotation files in S3, the check queue and incidents on moto, the
//! Connect REST API faked with wiremock (moto has no Connect), the real AWS SDK throughout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lambda_runtime::Context;
use oncall_caller::Caller;
use opsbell_aws::connect::ConnectDialer;
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::s3::S3Files;
use opsbell_aws::sqs::{SqsCheckQueue, SqsQueue};
use opsbell_aws::testing::{emulator, unique};
use opsbell_core::escalation::Escalation;
use opsbell_core::escalation::narrate::mask;
use opsbell_core::event::{Event, Source, State};
use opsbell_core::oncall::plan::plan;
use opsbell_core::oncall::rotation::Rotation;
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::ports::Records;
use opsbell_core::state::{Incident, Status};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const INSTANCE: &str = "inst-1";

/// Speaks Connect's REST-JSON: one ContactId per ClientToken; answered when the contact's number
/// is the one that picks up.
#[derive(Default)]
struct FakeConnect {
    calls: Mutex<Vec<(String, String)>>,
    /// Every StartOutboundVoiceContact body, as sent.
    bodies: Mutex<Vec<Value>>,
    answer_on: Mutex<Option<String>>,
    /// How many StartOutboundVoiceContact requests to answer 503 before taking calls.
    unavailable: Mutex<usize>,
    /// Refuse every StartOutboundVoiceContact with this (status, error type) while set.
    refuse: Mutex<Option<(u16, &'static str)>>,
}

struct Start(Arc<FakeConnect>);
struct Attributes(Arc<FakeConnect>);

impl Respond for Start {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        self.0.bodies.lock().unwrap().push(body.clone());
        let mut unavailable = self.0.unavailable.lock().unwrap();
        if *unavailable > 0 {
            *unavailable -= 1;
            return ResponseTemplate::new(503)
                .insert_header("x-amzn-ErrorType", "ServiceUnavailableException")
                .set_body_json(json!({ "message": "Service Unavailable" }));
        }
        drop(unavailable);
        if let Some((status, kind)) = *self.0.refuse.lock().unwrap() {
            return ResponseTemplate::new(status)
                .insert_header("x-amzn-ErrorType", kind)
                .set_body_json(json!({ "message": format!("{kind} (simulated)") }));
        }
        assert_eq!(body["InstanceId"], INSTANCE);
        assert_eq!(body["Attributes"]["isTalking"], "false");
        let number = body["DestinationPhoneNumber"].as_str().unwrap().to_string();
        let token = body["ClientToken"].as_str().unwrap().to_string();
        let mut calls = self.0.calls.lock().unwrap();
        let same = calls.iter().position(|(_, t)| *t == token);
        let index = same.unwrap_or_else(|| {
            calls.push((number, token));
            calls.len() - 1
        });
        ResponseTemplate::new(200).set_body_json(json!({ "ContactId": format!("contact-{index}") }))
    }
}

impl Respond for Attributes {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let contact = req.url.path().rsplit('/').next().unwrap();
        let index: usize = contact.trim_start_matches("contact-").parse().unwrap();
        let number = self.0.calls.lock().unwrap()[index].0.clone();
        let answered = self.0.answer_on.lock().unwrap().as_deref() == Some(number.as_str());
        ResponseTemplate::new(200).set_body_json(
            json!({ "Attributes": { "isTalking": answered.to_string(), "message": "x" } }),
        )
    }
}

struct World {
    dialer: ConnectDialer,
    checks: SqsCheckQueue,
    events_queue: SqsQueue,
    sqs: aws_sdk_sqs::Client,
    check_url: String,
    events_url: String,
    store: DynamoStore,
    files: S3Files,
    /// Kept alive for the dialer (a dropped server stops answering).
    _connect_server: MockServer,
    connect: Arc<FakeConnect>,
    settings: OncallSettings,
}

impl World {
    async fn start(rotation: &[u8], fallback: Option<&str>, repeat: u32) -> World {
        World::start_with(rotation, fallback, repeat, &[]).await
    }

    /// With more of lambda-connect's environment variables.
    async fn start_with(
        rotation: &[u8],
        fallback: Option<&str>,
        repeat: u32,
        more: &[(&str, &str)],
    ) -> World {
        let aws = emulator().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&aws)
                .force_path_style(true)
                .build(),
        );
        let bucket = unique("rotations").to_lowercase();
        let region = aws.region().map(|r| r.to_string()).unwrap_or_default();
        let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                region.as_str(),
            ))
            .build();
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(location)
            .send()
            .await
            .unwrap();
        let put = |key: &str, body: Vec<u8>| {
            s3.put_object()
                .bucket(&bucket)
                .key(key)
                .body(body.into())
                .send()
        };
        put(
            "mapping.json",
            include_bytes!("../../../samplejson/lambda-connect-mapping.json").to_vec(),
        )
        .await
        .unwrap();
        put("b-phoneNumber.json", rotation.to_vec()).await.unwrap();
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let check_url = sqs
            .create_queue()
            .queue_name(unique("checks"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let events_url = sqs
            .create_queue()
            .queue_name(unique("events"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let table = unique("state");
        DynamoStore::create_table(&dynamodb, &table).await.unwrap();

        let connect = Arc::new(FakeConnect::default());
        let connect_server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path("/contact/outbound-voice"))
            .respond_with(Start(connect.clone()))
            .mount(&connect_server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/contact/attributes/inst-1/contact-\d+$"))
            .respond_with(Attributes(connect.clone()))
            .mount(&connect_server)
            .await;

        let mut env = vec![
            ("PHONE_NUMBER_BUCKET", bucket.as_str()),
            ("MAPPING_JSON_FILE", "mapping.json"),
            ("CONNECT_INSTANCE_ID", INSTANCE),
            ("CONNECT_CONTACT_FLOW_ID", "flow-1"),
            ("CONNECT_SOURCE_PHONE_NUMBER", "+815000000000"),
            ("CALL_STATE_CHACK_INTERVAL_SECONDS", "1"),
        ];
        let repeat = repeat.to_string();
        env.push(("CALL_REPEAT_COUNT", &repeat));
        if let Some(f) = fallback {
            env.push(("CONNECT_EXTRA_DESTINATION_PHONE_NUMBER", f));
        }
        env.extend_from_slice(more);
        let env: Vec<(String, String)> =
            env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let settings = OncallSettings::from_env(&env).unwrap();
        let conf = aws_sdk_connect::config::Builder::from(&aws)
            .endpoint_url(connect_server.uri())
            .build();
        let dialer = ConnectDialer::new(
            aws_sdk_connect::Client::from_conf(conf),
            settings.connect.clone().unwrap(),
        );
        World {
            dialer,
            checks: SqsCheckQueue(SqsQueue::new(sqs.clone(), &check_url)),
            events_queue: SqsQueue::new(sqs.clone(), &events_url),
            files: S3Files::from_config(&aws, &bucket),
            store: DynamoStore::new(dynamodb, &table),
            sqs,
            check_url,
            events_url,
            _connect_server: connect_server,
            connect,
            settings,
        }
    }

    /// The caller as the Lambda wires it, on this world's queues, table, bucket and Connect fake.
    fn caller(&self) -> Caller<'_> {
        let escalation = Escalation {
            records: &self.store,
            dialer: &self.dialer,
            checks: &self.checks,
            events: &self.events_queue,
            interval: self.settings.interval,
            dry_run: false,
        };
        Caller {
            settings: &self.settings,
            files: &self.files,
            escalation,
        }
    }

    fn dialed(&self) -> Vec<String> {
        self.connect
            .calls
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    async fn incident(&self, id: &str) -> Incident {
        self.maybe_incident(id).await.expect("incident recorded")
    }

    async fn maybe_incident(&self, id: &str) -> Option<Incident> {
        let opsbell_core::state::Key { pk, sk } = Incident::key(id);
        self.store
            .get_record(&pk, &sk)
            .await
            .unwrap()
            .map(|v| serde_json::from_value(v).unwrap())
    }

    async fn events(&self) -> Vec<Event> {
        crate::support::queued_events(&self.sqs, &self.events_url).await
    }
}

fn sns_event(message_id: &str) -> Value {
    let mut e: Value = serde_json::from_slice(include_bytes!(
        "../../../samplejson/sns-cloudwatch-alarm-single-metric-lambda-event.json"
    ))
    .unwrap();
    e["Records"][0]["Sns"]["TopicArn"] = json!("arn:aws:sns:ap-northeast-1:123456789012:b-topic");
    e["Records"][0]["Sns"]["MessageId"] = json!(message_id);
    e
}

fn context() -> Context {
    let mut c = Context::default();
    c.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
    c
}

/// Runs the handler on `event`; returns its answer and how long it took.
async fn invoke(caller: &Caller<'_>, event: Value) -> (Value, Duration) {
    let started = Instant::now();
    let reply = oncall_caller::handle(crate::support::lambda_event(event, context()), caller)
        .await
        .unwrap();
    (crate::support::answer_json(reply), started.elapsed())
}

/// Delivers delayed checks from the (moto) check queue to the handler until the incident ends;
/// returns the longest invocation.
async fn drive(w: &World, caller: &Caller<'_>, id: &str) -> Duration {
    let longest = std::cell::Cell::new(Duration::ZERO);
    deliver_checks(w, id, |event| async {
        let (reply, took) = invoke(caller, event).await;
        longest.set(longest.get().max(took));
        assert_eq!(reply["batchItemFailures"], json!([]));
        Vec::new()
    })
    .await;
    longest.get()
}

/// Plays the check queue's Lambda trigger until the incident ends: `run` invokes the handler on
/// a batch and returns the message ids that failed; those come back after 1 s, the rest are
/// deleted.
async fn deliver_checks<F, Fut>(w: &World, id: &str, mut run: F)
where
    F: FnMut(Value) -> Fut,
    Fut: Future<Output = Vec<Value>>,
{
    for _ in 0..60 {
        if w.maybe_incident(id)
            .await
            .is_some_and(|i| i.status != Status::Calling)
        {
            return;
        }
        let out = w
            .sqs
            .receive_message()
            .queue_url(&w.check_url)
            .max_number_of_messages(10)
            .visibility_timeout(1)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        let records: Vec<Value> = out
            .messages()
            .iter()
            .map(|m| json!({ "messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(), "eventSource": "aws:sqs" }))
            .collect();
        if records.is_empty() {
            continue;
        }
        let failed = run(json!({ "Records": records })).await;
        for m in out.messages() {
            if failed.contains(&json!(m.message_id())) {
                continue;
            }
            w.sqs
                .delete_message()
                .queue_url(&w.check_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    panic!("the escalation did not end");
}

fn rotation_sample() -> Vec<u8> {
    include_bytes!("../../../samplejson/lambda-connect-rotation-new-format.json").to_vec()
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn an_alarm_calls_in_the_documented_order_until_someone_answers_and_never_dials_twice() {
    let w = World::start(&rotation_sample(), Some("+815099999999"), 3).await;
    let rotation = Rotation::parse("b", &rotation_sample()).unwrap();
    let expected: Vec<String> = plan(Some(&rotation), chrono::Utc::now(), &w.settings.plan)
        .into_iter()
        .map(|c| c.number)
        .collect();
    *w.connect.answer_on.lock().unwrap() = Some(expected[2].clone());
    let caller = w.caller();

    let (_, first) = invoke(&caller, sns_event("sns-msg-1")).await;
    let (again, _) = invoke(&caller, sns_event("sns-msg-1")).await;
    assert_eq!(
        again["started"],
        json!(["Ignored"]),
        "a duplicated SNS delivery"
    );
    let longest = drive(&w, &caller, "sns-msg-1").await.max(first);

    assert_eq!(
        w.dialed(),
        expected[..3],
        "calls in order until the third answers"
    );
    assert_eq!(
        w.incident("sns-msg-1").await.status,
        Status::Answered {
            step: 2,
            number: expected[2].clone()
        }
    );
    assert!(
        longest < Duration::from_secs(5),
        "one step per invocation; the longest took {longest:?}"
    );
    println!("3 groups x 2 numbers x 3 repeats: the longest invocation took {longest:?}");
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn an_ack_from_chat_between_steps_stops_the_escalation() {
    let w = World::start(&rotation_sample(), None, 3).await;
    let caller = w.caller();
    invoke(&caller, sns_event("sns-msg-2")).await;
    assert!(
        caller
            .escalation
            .ack("sns-msg-2", "users/1234", chrono::Utc::now())
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = w
        .sqs
        .receive_message()
        .queue_url(&w.check_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let records: Vec<Value> = out
        .messages()
        .iter()
        .map(|m| json!({ "messageId": m.message_id(), "body": m.body(), "eventSource": "aws:sqs" }))
        .collect();
    invoke(&caller, json!({ "Records": records })).await;
    assert_eq!(w.dialed().len(), 1, "nobody else is called after the ack");
    assert_eq!(
        w.incident("sns-msg-2").await.status,
        Status::Acked {
            by: "users/1234".into()
        }
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn nobody_answers_then_the_fallback_then_chat_and_an_invalid_rotation_still_calls_the_fallback()
 {
    let one = br#"[{"start_day": 1, "end_day": 31, "phone_number": ["+815011111111"]}]"#;
    for (rotation, expected) in [
        (one.to_vec(), vec!["+815011111111", "+815099999999"]),
        (b"{ this is not json".to_vec(), vec!["+815099999999"]),
    ] {
        let w = World::start(&rotation, Some("+815099999999"), 1).await;
        let caller = w.caller();
        invoke(&caller, sns_event("sns-msg-3")).await;
        drive(&w, &caller, "sns-msg-3").await;
        assert_eq!(w.dialed(), expected);
        let incident = w.incident("sns-msg-3").await;
        assert_eq!(incident.status, Status::Exhausted);
        let mut events = w.events().await;
        events.sort_by_key(|e| e.occurred_at);
        assert!(
            events
                .iter()
                .all(|e| (e.source, e.state, e.origin_id.as_deref())
                    == (Source::Oncall, State::Alarm, Some("sns-msg-3")))
        );
        let told: Vec<String> = events.iter().map(|e| e.info.clone().unwrap()).collect();
        let (title, short) = (
            &incident.title,
            opsbell_core::escalation::short_id("sns-msg-3"),
        );
        let first = &incident.calls[0];
        let mut narration = vec![format!(
            "Calling {} ({}) for {title} — reply `ack {short}` to stop.",
            first.group,
            mask(&first.number)
        )];
        if expected.len() == 2 {
            narration
                .push("No answer from …1111; nobody answered, calling the fallback …9999.".into());
        }
        let called: Vec<String> = expected.iter().map(|n| mask(n)).collect();
        narration.push(format!(
            "Nobody answered. Called {} time(s): {}\n{}",
            expected.len(),
            called.join(", "),
            incident.message
        ));
        assert_eq!(
            told, narration,
            "chat hears each step, in order, with masked numbers"
        );
    }
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn an_oncall_route_target_starts_the_escalation_through_the_callers_queue() {
    use opsbell_core::ports::Escalations;
    let w = World::start(&rotation_sample(), Some("+815099999999"), 1).await;
    let caller = w.caller();
    // What alarm-fanout's `oncall` sink sends (twice: a redelivered event starts nothing twice).
    let starts = opsbell_aws::sqs::SqsEscalations(SqsQueue::new(w.sqs.clone(), &w.check_url));
    let mut event = Event::new(
        Source::Cloudwatch,
        "",
        "db-cpu",
        State::Alarm,
        "db-cpu-high",
        chrono::Utc::now(),
    );
    event.info = Some("Threshold Crossed".into());
    let start = opsbell_core::ports::Start::of(&event);
    starts.start(&start).await.unwrap();
    starts.start(&start).await.unwrap();
    drive(&w, &caller, &start.id).await;
    // The default rotation file is phoneNumber.json, absent here: an error, and the fallback is called.
    assert_eq!(w.dialed(), ["+815099999999"]);
}

/// An on-call alarm whose SNS invocation failed past Lambda's retries waits in the check DLQ as
/// Lambda's failure record; redriven into the check queue, it starts the escalation as it would
/// have, and a second redrive of the same record dials nobody again (same incident id).
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_redriven_failure_record_starts_the_escalation_once() {
    let w = World::start(&rotation_sample(), None, 1).await;
    let caller = w.caller();
    let record = opsbell_core::source::lambda::failure_record(
        &sns_event("sns-redriven"),
        "arn:aws:lambda:ap-northeast-1:123456789012:function:opsbell-ci-oncall-caller",
        "Connect was throttling",
    );
    let batch = json!({ "Records": [{ "messageId": "dlq-1", "body": record.to_string() }] });
    let (reply, _) = invoke(&caller, batch.clone()).await;
    assert_eq!(reply["batchItemFailures"], json!([]), "{reply}");
    assert_eq!(
        reply["started"].as_array().map(Vec::len),
        Some(1),
        "{reply}"
    );
    let first = w.dialed();
    assert_eq!(first.len(), 1, "the first call is placed");
    invoke(&caller, batch).await;
    assert_eq!(w.dialed(), first, "a repeated redrive dials nobody twice");
    assert!(w.maybe_incident("sns-redriven").await.is_some());
}

/// The caller dying at each of its side effects in turn (incident writes, dials, check
/// scheduling, chat events), before the effect or right after it with the answer lost; the
/// retry (SNS's, or the check queue's redelivery) picks up. Nobody is ever dialled twice and the
/// escalation ends the same way.
mod crash {
    use std::sync::atomic::Ordering;

    use async_trait::async_trait;
    use opsbell_core::ports::{Check, CheckQueue, Dialer, EscalationError};

    use super::*;
    use crate::support::chaos::{Crash, Crashing};

    /// The caller's Connect and check-queue ports through `crash`.
    pub struct Ports<'a> {
        pub w: &'a World,
        pub crash: &'a Crash,
    }

    #[async_trait]
    impl Dialer for Ports<'_> {
        async fn dial(
            &self,
            number: &str,
            message: &str,
            token: &str,
        ) -> Result<String, EscalationError> {
            let dial = async {
                self.w
                    .dialer
                    .dial(number, message, token)
                    .await
                    .map_err(|e| e.to_string())
            };
            self.crash.effect(dial).await.map_err(EscalationError::Dial)
        }
        async fn answered(&self, contact_id: &str) -> Result<bool, EscalationError> {
            self.w.dialer.answered(contact_id).await
        }
    }

    #[async_trait]
    impl CheckQueue for Ports<'_> {
        async fn schedule(&self, check: &Check, delay: Duration) -> Result<(), EscalationError> {
            let schedule = async {
                self.w
                    .checks
                    .schedule(check, delay)
                    .await
                    .map_err(|e| e.to_string())
            };
            self.crash
                .effect(schedule)
                .await
                .map_err(EscalationError::Schedule)
        }
    }

    /// Runs one escalation (answered at the second call) with a crash at side effect `at`:
    /// SNS redelivers the start until it succeeds, the check queue redelivers failed checks.
    /// Returns whether the crash fired (false once `at` is past the last effect).
    pub async fn run(at: usize, lost: bool) -> bool {
        let w = World::start(&rotation_sample(), None, 1).await;
        let rotation = Rotation::parse("b", &rotation_sample()).unwrap();
        let expected: Vec<String> = plan(Some(&rotation), chrono::Utc::now(), &w.settings.plan)
            .into_iter()
            .map(|c| c.number)
            .collect();
        *w.connect.answer_on.lock().unwrap() = Some(expected[1].clone());
        let crash = Arc::new(Crash::new(at, lost));
        let records = Crashing {
            inner: w.store.clone(),
            crash: crash.clone(),
        };
        let events = Crashing {
            inner: w.events_queue.clone(),
            crash: crash.clone(),
        };
        let ports = Ports {
            w: &w,
            crash: &crash,
        };
        let caller = Caller {
            settings: &w.settings,
            files: &w.files,
            escalation: Escalation {
                records: &records,
                dialer: &ports,
                checks: &ports,
                events: &events,
                interval: w.settings.interval,
                dry_run: false,
            },
        };
        let id = format!("crash-{at}-{lost}");
        let invoke = |event: Value| {
            crash.restart();
            let event = crate::support::lambda_event(event, context());
            async {
                oncall_caller::handle(event, &caller)
                    .await
                    .map(crate::support::answer_json)
            }
        };
        // SNS: a failed invocation is retried.
        let mut started = false;
        for _ in 0..3 {
            if invoke(sns_event(&id)).await.is_ok() {
                started = true;
                break;
            }
        }
        assert!(
            started,
            "the start succeeded on a retry (crash at {at}, lost {lost})"
        );
        // The check queue: failed messages come back.
        deliver_checks(&w, &id, |event| {
            let ids: Vec<Value> = event["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["messageId"].clone())
                .collect();
            let run = invoke(event);
            async move {
                match run.await {
                    Ok(reply) => reply["batchItemFailures"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f["itemIdentifier"].clone())
                        .collect(),
                    Err(_) => ids,
                }
            }
        })
        .await;
        assert_eq!(
            w.dialed(),
            expected[..2],
            "crash at side effect {at} (lost answer: {lost}): called in order, nobody twice"
        );
        assert_eq!(
            w.incident(&id).await.status,
            Status::Answered {
                step: 1,
                number: expected[1].clone()
            },
            "crash at side effect {at} (lost answer: {lost})"
        );
        crash.fired.load(Ordering::SeqCst)
    }
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_caller_dying_at_any_side_effect_never_dials_twice() {
    let mut runs = Vec::new();
    for at in 0..10 {
        for lost in [false, true] {
            runs.push(crash::run(at, lost));
        }
    }
    let fired: Vec<bool> = futures::future::join_all(runs).await;
    assert!(
        fired.iter().filter(|f| **f).count() >= 10,
        "the crash points cover the escalation's side effects: {fired:?}"
    );
}

/// lambda-connect's own environment (its README's `.env` sample: CONNECT_ALARM_MSG, the extra
/// number) and a rotation with no group for today: the extra number is called, CONNECT_ALARM_MSG
/// is what it says (twice, as the predecessor's flows expect), and chat is told of the gap.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_day_no_group_covers_calls_the_extra_number_and_says_connect_alarm_msg() {
    use chrono::Datelike;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .day();
    // Every day but today (and, around midnight, its neighbours) is covered.
    let days: Vec<u32> = (1..=31u32).filter(|d| d.abs_diff(today) > 1).collect();
    let rotation: Vec<Value> = days
        .iter()
        .map(|d| json!({"startDay": d, "endDay": d, "phoneNumber": ["+815011111111"]}))
        .collect();
    let said = "XXシステムで障害が発生しました。詳しくはSlackを確認してください。";
    let w = World::start_with(
        json!(rotation).to_string().as_bytes(),
        Some("+815099999999"),
        2,
        &[("CONNECT_ALARM_MSG", said)],
    )
    .await;
    let caller = w.caller();
    invoke(&caller, sns_event("sns-gap-1")).await;
    drive(&w, &caller, "sns-gap-1").await;
    let bodies = w.connect.bodies.lock().unwrap().clone();
    let expected: Vec<Value> = (0..2)
        .map(|step| {
            json!({
                "InstanceId": INSTANCE,
                "ContactFlowId": "flow-1",
                "DestinationPhoneNumber": "+815099999999",
                "SourcePhoneNumber": "+815000000000",
                "Attributes": {"message": format!("{said}{said}"), "isTalking": "false"},
                "ClientToken": opsbell_core::escalation::client_token("sns-gap-1", step),
            })
        })
        .collect();
    assert_eq!(bodies, expected);
    let told: Vec<(State, String)> = w
        .events()
        .await
        .into_iter()
        .map(|e| (e.state, e.info.unwrap_or_default()))
        .collect();
    // The day the caller read (the test may straddle midnight in Tokyo).
    let notice = |day: u32| {
        format!(
            "The rotation b-phoneNumber.json has no group for day {day}: calling the extra number +815099999999."
        )
    };
    let gap = told
        .iter()
        .find(|(_, info)| info.contains("has no group for day"));
    let gap = gap.map(|(_, i)| i.clone()).unwrap_or_default();
    assert!(
        (today.saturating_sub(1)..=today + 1).any(|d| gap == notice(d)),
        "{told:?}"
    );
    assert!(
        told.iter().any(|(_, i)| i.starts_with("Nobody answered")),
        "{told:?}"
    );
}

/// Connect answers 503 more often than the SDK retries: the escalation tries the same call again
/// within the step (one ClientToken throughout) instead of moving on to the next number.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_connect_503_is_retried_within_the_step_and_the_escalation_does_not_move_on() {
    let w = World::start(&rotation_sample(), Some("+815099999999"), 1).await;
    *w.connect.unavailable.lock().unwrap() = 4;
    let caller = w.caller();
    let (reply, _) = invoke(&caller, sns_event("sns-msg-503")).await;
    assert_eq!(reply["started"][0]["Called"]["step"], json!(0), "{reply}");
    let bodies = w.connect.bodies.lock().unwrap().clone();
    assert_eq!(
        bodies.len(),
        5,
        "three SDK attempts, then the step's own retry (two more)"
    );
    let first = &bodies[0];
    for b in &bodies {
        assert_eq!(b["DestinationPhoneNumber"], first["DestinationPhoneNumber"]);
        assert_eq!(
            b["ClientToken"], first["ClientToken"],
            "the same call each time"
        );
    }
    assert_eq!(w.dialed().len(), 1, "one call placed, nobody else called");
    let incident = w.incident("sns-msg-503").await;
    assert_eq!((incident.step, incident.contacts[0].is_some()), (0, true));
}

/// Connect refuses opsbell itself (its role, the instance or contact flow, the request):
/// nobody is called, the escalation stays at its first step, chat hears why, and the
/// invocation fails so SNS (then the on-failure queue) brings it back. Once fixed, the redelivery calls the first callee.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_connect_configuration_error_calls_nobody_stops_loudly_and_resumes_once_fixed() {
    for (status, kind) in [
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (400, "InvalidRequestException"),
    ] {
        let w = World::start(&rotation_sample(), Some("+815099999999"), 1).await;
        *w.connect.refuse.lock().unwrap() = Some((status, kind));
        let caller = w.caller();
        let id = format!("sns-config-{status}");
        let event = crate::support::lambda_event(sns_event(&id), context());
        let failed = oncall_caller::handle(event, &caller).await;
        assert!(
            failed.is_err(),
            "{kind}: the invocation fails, and SNS retries it"
        );
        let tried: Vec<Value> = w.connect.bodies.lock().unwrap().clone();
        let numbers: std::collections::BTreeSet<String> = (tried.iter())
            .map(|b| b["DestinationPhoneNumber"].to_string())
            .collect();
        assert_eq!(numbers.len(), 1, "{kind}: only the first callee was tried");
        assert!(w.dialed().is_empty(), "{kind}: nobody was called");
        let told: Vec<String> = (w.events().await.into_iter())
            .filter_map(|e| e.info)
            .collect();
        assert!(
            told.iter().any(|i| i.contains(kind)),
            "{kind}: chat hears why: {told:?}"
        );
        *w.connect.refuse.lock().unwrap() = None;
        let (reply, _) = invoke(&caller, sns_event(&id)).await;
        assert_eq!(reply["started"][0]["Called"]["step"], json!(0), "{reply}");
        assert_eq!(w.dialed().len(), 1, "{kind}: the first callee, once fixed");
    }
}

/// An ack from chat lands at every point of a running check the test can force (before each of
/// its reads and writes of the incident, on the emulator's table): the incident ends
/// acknowledged, and no call is placed after the ack.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn an_ack_racing_a_check_wins_in_every_interleaving() {
    for at in 0..4 {
        let w = World::start(&rotation_sample(), Some("+815099999999"), 1).await;
        let id = format!("sns-race-{at}");
        invoke(&w.caller(), sns_event(&id)).await;
        let racing = AckAt {
            inner: &w.store,
            connect: &w.connect,
            id: id.clone(),
            ops: Mutex::new(0),
            at,
            calls_at_ack: Mutex::new(None),
        };
        let mut caller = w.caller();
        caller.escalation = Escalation {
            records: &racing,
            ..caller.escalation
        };
        deliver_checks(&w, &id, |event| async {
            let (reply, _) = invoke(&caller, event).await;
            reply["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].clone())
                .collect()
        })
        .await;
        let at_ack = racing.calls_at_ack.lock().unwrap().expect("the ack ran");
        assert_eq!(
            w.incident(&id).await.status,
            Status::Acked {
                by: "users/42".into()
            },
            "interleaving {at}"
        );
        assert_eq!(
            w.dialed().len(),
            at_ack,
            "interleaving {at}: a call after the ack"
        );
    }
}

/// The state table, with a chat `ack` of `id` landing right before the `at`-th read or write of
/// the incident.
struct AckAt<'a> {
    inner: &'a DynamoStore,
    connect: &'a FakeConnect,
    id: String,
    ops: Mutex<usize>,
    at: usize,
    calls_at_ack: Mutex<Option<usize>>,
}

impl AckAt<'_> {
    async fn before(&self, pk: &str) {
        if !pk.starts_with("INCIDENT#") {
            return;
        }
        let n = {
            let mut ops = self.ops.lock().unwrap();
            *ops += 1;
            *ops - 1
        };
        if n == self.at {
            *self.calls_at_ack.lock().unwrap() = Some(self.connect.calls.lock().unwrap().len());
            let acked =
                opsbell_core::escalation::ack(self.inner, &self.id, "users/42", chrono::Utc::now());
            assert!(acked.await.unwrap().is_some());
        }
    }
}

#[async_trait::async_trait]
impl Records for AckAt<'_> {
    async fn get_record(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<Value>, opsbell_core::ports::StoreError> {
        self.before(pk).await;
        self.inner.get_record(pk, sk).await
    }
    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &Value,
        e: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), opsbell_core::ports::StoreError> {
        self.before(pk).await;
        self.inner.put_record(pk, sk, body, e).await
    }
    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&Value>,
        body: &Value,
        e: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool, opsbell_core::ports::StoreError> {
        self.before(pk).await;
        self.inner.swap_record(pk, sk, expected, body, e).await
    }
    async fn delete_record(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<(), opsbell_core::ports::StoreError> {
        self.inner.delete_record(pk, sk).await
    }
    async fn list_records(
        &self,
        pk: &str,
    ) -> Result<Vec<(String, Value)>, opsbell_core::ports::StoreError> {
        self.inner.list_records(pk).await
    }
}
