//! The acceptance harness: moto SQS + DynamoDB through the real SDK, wiremock Slack, Google Chat,
//! Chatwork and Backlog, and the two Lambda handlers called with real API Gateway and SQS events.

pub mod chaos;
pub mod deployment;
pub mod iam;
pub mod runtime;
pub mod template;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::DateTime;
use lambda_runtime::{Context, LambdaEvent};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::sqs::SqsQueue;
use opsbell_aws::testing::{emulator, unique};
use opsbell_core::config::Config;
use opsbell_core::event::Event;
use opsbell_core::fanout::Fanout;
use opsbell_core::http::RetryPolicy;
use opsbell_core::ingest::Ingest;
use opsbell_core::ports::SystemClock;
use opsbell_core::render::RenderOptions;
use opsbell_core::signature::sign;
use opsbell_core::source::Inbound;
use opsbell_core::source::uipath::{UipathContext, parse_webhook};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const SECRET: &str = "acceptance-webhook-secret";
pub const ORCHESTRATOR: &str = "https://cloud.uipath.com/acme/DefaultTenant";
pub const SLACK_PATH: &str = "/services/T0/B0/slack-secret-path";
pub const GCHAT_PATH: &str = "/v1/spaces/AAA/messages";
pub const CHATWORK_TOKEN: &str = "chatwork-secret-token";
pub const BACKLOG_KEY: &str = "backlog-secret-key";
/// Every credential the harness configures; none may appear in a captured log line.
pub const SECRETS: [&str; 13] = [
    SECRET,
    "ntlm-secret-password",
    "ntlm-secret-api-key",
    "orchestrator-secret-password",
    "orchestrator-secret-api-key",
    "kqi-secret-password",
    "slack-secret-path",
    "gchat-secret-key",
    "gchat-secret-token",
    CHATWORK_TOKEN,
    BACKLOG_KEY,
    "teams-secret-sig",
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
];

pub const JOB_SAMPLES: [&str; 5] = ["created", "started", "faulted", "completed", "stopped"];

pub fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/../samplejson/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn job_sample(state: &str) -> Vec<u8> {
    sample(&format!("uipath-webhook-job-{state}.json"))
}

/// The events a sample body normalizes to, as the handlers will see them.
pub fn events_of(body: &[u8]) -> Vec<Event> {
    let ctx = UipathContext {
        orchestrator_url: Some(ORCHESTRATOR.into()),
        received_at: DateTime::UNIX_EPOCH,
        tenant: None,
    };
    match parse_webhook(body, &ctx).unwrap() {
        Inbound::Events(events) => events,
        Inbound::Ignored { kind } => panic!("ignored {kind}"),
    }
}

pub fn signature(body: &[u8]) -> String {
    sign(&secrecy::SecretString::from(SECRET), body)
}

/// Log lines of the whole test binary, captured for the secret check.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_ansi(false)
            .with_writer(move || Tee(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
    .clone()
}

struct Tee(Arc<Mutex<Vec<u8>>>);

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn assert_no_secret_logged() {
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_string();
    assert!(!logs.is_empty(), "no log line was captured");
    for secret in SECRETS {
        assert!(
            !logs.contains(secret),
            "secret {secret:?} appears in the logs:\n{logs}"
        );
    }
}

pub enum Format {
    RestV1,
    HttpV2,
    HttpV2Base64,
}

pub struct Harness {
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    pub queue_url: String,
    pub slack: MockServer,
    pub gchat: MockServer,
    pub chatwork: MockServer,
    pub backlog: MockServer,
    pub config: Config,
    pub ingest: Ingest,
    pub fanout: Fanout,
}

impl Harness {
    pub async fn start() -> Harness {
        captured_logs();
        let aws = emulator().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let queue_url = sqs
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

        let (slack, gchat, chatwork, backlog) = (
            MockServer::start().await,
            MockServer::start().await,
            MockServer::start().await,
            MockServer::start().await,
        );
        let config = json!({
            "language": "en",
            "timezone": "Asia/Tokyo",
            "webhook": {
                "orchestrator": { "secret": SECRET, "url": ORCHESTRATOR },
                "slack": { "incomming_webhook_url": format!("{}{SLACK_PATH}", slack.uri()) },
                "google_hangouts": { "incomming_webhook_url":
                    format!("{}{GCHAT_PATH}?key=gchat-secret-key&token=gchat-secret-token", gchat.uri()) },
                "chatwork": { "api_token": CHATWORK_TOKEN, "room_id": 42, "api_base": chatwork.uri() },
                "backlog": { "api_key": BACKLOG_KEY, "space_key": "acme", "base_url": backlog.uri(),
                             "project_id": 12345, "issue_type_id": 67890 }
            }
        });
        let config = Config::load(&config.to_string(), &[]).unwrap();
        let queue = SqsQueue::new(sqs.clone(), &queue_url);
        let ingest = Ingest::new(&config, Arc::new(queue), Arc::new(SystemClock)).unwrap();
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            margin: Duration::ZERO,
        };
        let store = Arc::new(DynamoStore::new(dynamodb.clone(), &table));
        let fanout = fanout_over(&config, opsbell_core::http::client(), policy, store);
        Harness {
            sqs,
            dynamodb,
            table,
            queue_url,
            slack,
            gchat,
            chatwork,
            backlog,
            config,
            ingest,
            fanout,
        }
    }

    pub fn render_options(&self) -> RenderOptions {
        self.config.render_options()
    }

    /// Posts `body` through the webhook-ingest handler as an API Gateway event; returns the
    /// status and JSON body of the answer.
    pub async fn post(&self, format: Format, body: &[u8], signature: Option<&str>) -> (u16, Value) {
        ingest_via_gateway(&self.ingest, format, body, signature).await
    }

    /// Receives every queued message (without deleting them) as one Lambda SQS event.
    pub async fn receive(&self) -> SqsEvent {
        sqs_event(&receive_all(&self.sqs, &self.queue_url).await)
    }

    /// Runs the alarm-fanout handler on `event` with a minute left before the deadline.
    pub async fn fan_out(&self, event: SqsEvent) -> SqsBatchResponse {
        alarm_fanout::handle(LambdaEvent::new(event, context_with(60)), &self.fanout)
            .await
            .unwrap()
    }
}

/// Every destination answers success.
pub async fn mount_ok(h: &Harness) {
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&h.slack)
        .await;
    Mock::given(method("POST"))
        .and(path(GCHAT_PATH))
        .and(query_param("key", "gchat-secret-key"))
        .and(query_param("token", "gchat-secret-token"))
        .and(query_param(
            "messageReplyOption",
            "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "spaces/AAA/messages/1"})),
        )
        .mount(&h.gchat)
        .await;
    mount_chatwork(
        h,
        ResponseTemplate::new(200).set_body_json(json!({"message_id": "1"})),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/issues"))
        .and(query_param("apiKey", BACKLOG_KEY))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"issueKey": "OPS-1"})))
        .mount(&h.backlog)
        .await;
}

pub async fn mount_chatwork(h: &Harness, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v2/rooms/42/messages"))
        .and(header("x-chatworktoken", CHATWORK_TOKEN))
        .respond_with(response)
        .mount(&h.chatwork)
        .await;
}

/// Asserts how many requests each of the four destinations received.
pub async fn assert_each_target_received(h: &Harness, n: usize) {
    for (name, server) in [
        ("slack", &h.slack),
        ("gchat", &h.gchat),
        ("chatwork", &h.chatwork),
        ("backlog", &h.backlog),
    ] {
        assert_eq!(server.received_requests().await.unwrap().len(), n, "{name}");
    }
}

/// JSON bodies a mock server received, sorted (targets and records run concurrently).
pub async fn json_bodies(server: &MockServer) -> Vec<Value> {
    let mut bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    bodies.sort_by_key(|v| v.to_string());
    bodies
}

/// Form bodies a mock server received, sorted.
pub async fn form_bodies(server: &MockServer) -> Vec<Vec<(String, String)>> {
    let mut forms: Vec<Vec<(String, String)>> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_urlencoded::from_bytes(&r.body).unwrap())
        .collect();
    forms.sort();
    forms
}

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Posts `body` through the webhook-ingest handler (with `ingest`) as an API Gateway event;
/// returns the status and JSON body of the answer.
pub async fn ingest_via_gateway(
    ingest: &Ingest,
    format: Format,
    body: &[u8],
    signature: Option<&str>,
) -> (u16, Value) {
    let event = match format {
        Format::RestV1 => {
            let mut e: Value =
                serde_json::from_slice(&sample("apigateway-rest-v1-proxy-event.json")).unwrap();
            // REST APIs keep the sender's header case.
            let mut headers = json!({ "Content-Type": "application/json", "User-Agent": "UiPath" });
            if let Some(sig) = signature {
                headers["X-UiPath-Signature"] = json!(sig);
            }
            let multi: serde_json::Map<String, Value> = headers
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            e["headers"] = headers;
            e["multiValueHeaders"] = Value::Object(multi);
            e["httpMethod"] = json!("POST");
            e["path"] = json!("/webhook/orchestrator");
            e["body"] = json!(String::from_utf8(body.to_vec()).unwrap());
            e["isBase64Encoded"] = json!(false);
            e
        }
        Format::HttpV2 | Format::HttpV2Base64 => {
            let mut e: Value =
                serde_json::from_slice(&sample("apigateway-http-v2-event-iam-with-body.json"))
                    .unwrap();
            let mut headers = json!({ "content-type": "application/json" });
            if let Some(sig) = signature {
                headers["x-uipath-signature"] = json!(sig);
            }
            e["headers"] = headers;
            e["requestContext"]["http"]["method"] = json!("POST");
            if matches!(format, Format::HttpV2Base64) {
                e["body"] = json!(STANDARD.encode(body));
                e["isBase64Encoded"] = json!(true);
            } else {
                e["body"] = json!(String::from_utf8(body.to_vec()).unwrap());
                e["isBase64Encoded"] = json!(false);
            }
            e
        }
    };
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = webhook_ingest::handle(request, ingest, None).await.unwrap();
    let status = response.status().as_u16();
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    (status, body)
}

/// Received SQS messages as the Lambda SQS event the service would invoke with.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message]) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {}, "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:ap-northeast-1:000000000000:events",
                "awsRegion": "ap-northeast-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// A Lambda context whose deadline is `seconds` from now.
pub fn context_with(seconds: u64) -> Context {
    let mut context = Context::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    context.deadline = u64::try_from(now.as_millis()).unwrap() + seconds * 1000;
    context
}

/// The events waiting in queue `url` (up to ten), received without deleting them.
pub async fn queued_events(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Event> {
    queued(sqs, url).await
}

/// The messages waiting in queue `url` (up to ten) as JSON of type `T`, not deleted.
pub async fn queued<T: serde::de::DeserializeOwned>(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Vec<T> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

/// A Lambda event from the JSON the service sends, read into the handler's type as the runtime
/// reads it.
pub fn lambda_event<T: serde::de::DeserializeOwned>(
    json: serde_json::Value,
    context: Context,
) -> LambdaEvent<T> {
    let payload = serde_json::from_value(json).expect("the handler's event type reads the event");
    LambdaEvent::new(payload, context)
}

/// A handler's answer as the runtime sends it back: its JSON.
pub fn answer_json<R: serde::Serialize>(answer: R) -> serde_json::Value {
    serde_json::to_value(answer).expect("an answer serializes")
}

/// The fan-out of `config` as alarm-fanout builds it, over one DynamoDB-like store for the
/// delivery log and the records.
pub fn fanout_over<S>(
    config: &Config,
    http: reqwest::Client,
    policy: RetryPolicy,
    store: Arc<S>,
) -> opsbell_core::fanout::Fanout
where
    S: opsbell_core::ports::DeliveryLog + opsbell_core::ports::Records + 'static,
{
    let deps = opsbell_core::build::Deps {
        http,
        policy,
        log: store.clone(),
        records: store,
        clock: Arc::new(SystemClock),
        escalations: None,
        queue: None,
    };
    opsbell_core::build::fanout(config, &deps)
}

/// What a deployment runs on, on the emulator: its events queue, its state table, and the
/// [`opsbell_core::build::Deps`] over them.
pub struct Deployment {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// The state table's name (for the CLI's `--table`).
    pub table: String,
    pub store: Arc<DynamoStore>,
    pub deps: opsbell_core::build::Deps,
}

impl Deployment {
    pub async fn start() -> Deployment {
        let aws = emulator().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let queue_url = sqs
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
        let store = Arc::new(DynamoStore::new(dynamodb, &table));
        let deps = opsbell_core::build::Deps {
            http: opsbell_core::http::client(),
            policy: RetryPolicy::default(),
            log: store.clone(),
            records: store.clone(),
            clock: Arc::new(SystemClock),
            escalations: None,
            queue: Some(Arc::new(SqsQueue::new(sqs.clone(), &queue_url))),
        };
        Deployment {
            sqs,
            queue_url,
            table,
            store,
            deps,
        }
    }

    /// The pollers of `config`, queueing on this deployment's queue.
    pub fn pollers(&self, config: &Config) -> opsbell_core::poll::Pollers {
        let queue = Arc::new(SqsQueue::new(self.sqs.clone(), &self.queue_url));
        opsbell_core::build::pollers(config, &self.deps, queue)
    }

    /// Every queued message as one SQS event, fanned out by the alarm-fanout handler over
    /// `config`'s destinations; asserts that none failed and returns how many there were.
    pub async fn fan_out(&self, config: &Config) -> usize {
        let messages = receive_all(&self.sqs, &self.queue_url).await;
        let fanout = opsbell_core::build::fanout(config, &self.deps);
        let event = LambdaEvent::new(sqs_event(&messages), context_with(60));
        let answer = alarm_fanout::handle(event, &fanout).await.unwrap();
        assert!(answer.batch_item_failures.is_empty());
        messages.len()
    }
}

/// Every message on the queue, received (and left on it, hidden for 10 minutes).
pub async fn receive_all(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut messages = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        if out.messages().is_empty() {
            return messages;
        }
        messages.extend(out.messages().iter().cloned());
    }
}
