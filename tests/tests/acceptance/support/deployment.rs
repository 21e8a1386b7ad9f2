//! The deployed stack in moto: the template's tables, queues, bucket and topics made under
//! unique names and bound to the rendered template, and each function started as Lambda starts
//! it (the runtime-protocol tests, and the Lambda benchmark `examples/lambda_bench.rs`).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::iam::IamProxy;
use super::runtime::{Function, RuntimeApi};
use super::template::{Resource, Template};
use super::{queued, sample};
use aws_sdk_dynamodb::types::AttributeValue;
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::testing::{emulator, unique};

pub const STAGE: &str = "ci";

/// The stack's resources, made in moto under unique names and bound to the template.
pub struct Stack {
    pub template: Template,
    pub aws: aws_config::SdkConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    pub events_queue: String,
    pub events_dlq: String,
    pub check_queue: String,
}

impl Stack {
    pub async fn new() -> Stack {
        let aws = emulator().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&aws)
                .force_path_style(true)
                .build(),
        );
        let table = unique("state");
        DynamoStore::create_table(&dynamodb, &table).await.unwrap();
        let mut queues = Vec::new();
        for name in ["events-dlq", "events", "check-dlq", "check"] {
            let url = sqs
                .create_queue()
                .queue_name(unique(name))
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap();
            queues.push(url);
        }
        let bucket = unique("oncall-files");
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::ApNortheast1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3.put_object()
            .bucket(&bucket)
            .key("phoneNumber.json")
            .body(sample("lambda-connect-rotation-new-format.json").into())
            .send()
            .await
            .unwrap();
        let mut template = Template::load();
        let topic = |name: &str| {
            Resource::new(
                &format!("arn:aws:sns:ap-northeast-1:123456789012:opsbell-{STAGE}-{name}"),
                &[("TopicName", &format!("opsbell-{STAGE}-{name}"))],
            )
        };
        template
            .bind("StateTable", Resource::table(&table))
            .bind("EventsDeadLetterQueue", Resource::queue(&queues[0]))
            .bind("EventsQueue", Resource::queue(&queues[1]))
            .bind("CheckDeadLetterQueue", Resource::queue(&queues[2]))
            .bind("CheckQueue", Resource::queue(&queues[3]))
            .bind("OncallFilesBucket", Resource::bucket(&bucket))
            .bind("AlarmTopic", topic("alarms"))
            .bind("OncallTopic", topic("oncall"))
            .bind("OpsTopic", topic("ops"));
        Stack {
            template,
            aws,
            sqs,
            dynamodb,
            table,
            events_queue: queues[1].clone(),
            events_dlq: queues[0].clone(),
            check_queue: queues[3].clone(),
        }
    }

    /// The console's configuration (a login, its client secret in SSM, the cookie key in
    /// Secrets Manager, ana a responder), and a session of ana's: its cookie and CSRF token.
    pub async fn console(&self) -> (Value, String, String) {
        let key = "console-cookie-key-for-the-runtime-test-0123456789";
        let config = json!({
            "access": { "responders": ["ana@example.com"] },
            "console": {
                "login": { "issuer": "https://accounts.example.com", "client_id": "opsbell",
                    "client_secret": self.secret("ssm", "oidc-client-secret", "s3cret").await,
                    "redirect_url": "https://ops.example.com/console/auth/callback" },
                "cookie_key": self.secret("secretsmanager", "console-cookie-key", key).await
            }
        });
        let (cookie, csrf) = console_session(key);
        (config, cookie, csrf)
    }

    /// A job of `process` that faulted now and that the fan-out told `ops-slack`: the history
    /// row the console's pages read.
    pub async fn told_fault(&self, process: &str) {
        use opsbell_core::event::{Event, Source, State};
        use opsbell_core::state::{Fate, History, Told};
        let store = DynamoStore::new(self.dynamodb.clone(), &self.table);
        let now = chrono::Utc::now();
        let mut event = Event::new(Source::Uipath, "1/7", "job-1", State::Faulted, process, now);
        event.folder = Some("7".into());
        let told = Told {
            fate: Fate::Delivered,
            detail: "ts".into(),
            at: now,
        };
        History::note(&store, &event, &[("ops-slack".into(), told)], now)
            .await
            .unwrap();
    }

    /// Stores secret `name` under the stage's prefix, in SSM or in Secrets Manager.
    pub async fn secret(&self, store: &str, name: &str, value: &str) -> String {
        let full = format!("/opsbell/{STAGE}/{name}");
        match store {
            "ssm" => {
                aws_sdk_ssm::Client::new(&self.aws)
                    .put_parameter()
                    .name(&full)
                    .value(value)
                    .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                    .send()
                    .await
                    .unwrap();
            }
            _ => {
                aws_sdk_secretsmanager::Client::new(&self.aws)
                    .create_secret()
                    .name(&full)
                    .secret_string(value)
                    .send()
                    .await
                    .unwrap();
            }
        }
        // What a deploy config writes: the stage is filled in at cold start.
        format!("{store}:/opsbell/${{stage}}/{name}")
    }

    /// Starts function `name` under its own role with `config`, its template environment and
    /// `overrides` (what only a test must change, such as Google's key URL).
    pub async fn start(
        &self,
        name: &str,
        config: Value,
        overrides: &[(&str, String)],
        connect: Option<String>,
    ) -> (RuntimeApi, Function, IamProxy) {
        let proxy = IamProxy::start(self.template.role_policy(name), connect).await;
        let (runtime, function) = self.spawn(name, config, overrides, &proxy.url).await;
        (runtime, function, proxy)
    }

    /// Starts function `name` with its AWS calls going to `endpoint` (the IAM proxy, or moto
    /// itself when only speed is measured).
    pub async fn spawn(
        &self,
        name: &str,
        config: Value,
        overrides: &[(&str, String)],
        endpoint: &str,
    ) -> (RuntimeApi, Function) {
        let runtime = RuntimeApi::start(name).await;
        let mut env = self.template.environment(name);
        env.push(("AWS_ENDPOINT_URL".into(), endpoint.into()));
        for (k, v) in overrides {
            env.push((k.to_string(), v.clone()));
        }
        let function = Function::spawn(name, &runtime, &config, &env);
        (runtime, function)
    }

    pub async fn queued(&self, url: &str) -> Vec<Value> {
        queued(&self.sqs, url).await
    }

    pub async fn records(&self, pk: &str) -> Vec<String> {
        let out = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .send()
            .await
            .unwrap();
        out.items()
            .iter()
            .map(|i| i["sk"].as_s().unwrap().clone())
            .collect()
    }
}

/// An API Gateway HTTP API (payload 2.0) request to the console: `method` at `route` (with its
/// query), the session cookie in `cookies`, a form as the body of a POST.
pub fn console_event(method: &str, route: &str, cookie: &str, form: Option<&str>) -> Value {
    let (path, query) = route.split_once('?').unwrap_or((route, ""));
    let mut e = http_event(
        path,
        json!({ "content-type": "application/x-www-form-urlencoded" }),
        form.unwrap_or_default().as_bytes(),
    );
    e["routeKey"] = json!(format!("{method} /console/{{proxy+}}"));
    e["rawQueryString"] = json!(query);
    e["requestContext"]["http"]["method"] = json!(method);
    e["cookies"] = json!([cookie]);
    e
}

/// A responder's session cookie and CSRF token under `key`.
pub fn console_session(key: &str) -> (String, String) {
    use opsbell_core::console::session::{Login, Role, Sessions};
    let sessions = Sessions::new(key.as_bytes().to_vec(), Login::Required, true);
    let session = sessions.issue("ana@example.com", Role::Responder, chrono::Utc::now());
    let cookie = sessions
        .cookie(&session)
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (cookie, sessions.csrf(&session))
}

/// An API Gateway HTTP API (payload 2.0) event for `path` with `body`.
pub fn http_event(route: &str, headers: Value, body: &[u8]) -> Value {
    let mut e: Value =
        serde_json::from_slice(&sample("apigateway-http-v2-event-iam-with-body.json")).unwrap();
    e["rawPath"] = json!(route);
    e["routeKey"] = json!(format!("POST {route}"));
    e["requestContext"]["http"]["method"] = json!("POST");
    e["requestContext"]["http"]["path"] = json!(route);
    e["headers"] = headers;
    e["body"] = json!(String::from_utf8(body.to_vec()).unwrap());
    e["isBase64Encoded"] = json!(false);
    e
}

/// The Google Chat project number the rendered template gives the listener.
pub const CHAT_PROJECT: &str = "1234567890";

/// Google's key endpoint (`CHAT_KEYS_URL`), serving the test key set.
pub async fn google_keys() -> MockServer {
    let google = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    let jwks = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/core/testdata/test-jwks.json"
    ))
    .unwrap();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(jwks, "application/json"))
        .mount(&google)
        .await;
    google
}

/// The headers of a Chat event Google signed for [`CHAT_PROJECT`] (for an hour) with the test
/// key that [`google_keys`] serves.
pub fn chat_headers() -> Value {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-kid-1".into());
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "iss": "chat@system.gserviceaccount.com", "aud": CHAT_PROJECT,
                         "iat": now, "exp": now + 3600 });
    let key = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/core/testdata/test-rsa-key.pem"
    ))
    .unwrap();
    let token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(&key).unwrap()).unwrap();
    json!({ "content-type": "application/json", "authorization": format!("Bearer {token}") })
}

/// An Orchestrator fake that issues client-credentials tokens (`/identity_/connect/token`);
/// the caller mounts its job list.
pub async fn orchestrator_with_token() -> MockServer {
    let orchestrator = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/identity_/connect/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "orch-token", "expires_in": 3600, "token_type": "Bearer"}),
        ))
        .mount(&orchestrator)
        .await;
    orchestrator
}

impl Stack {
    /// The job-poller's config: one client-credentials source `cloud` (folder 1) at
    /// `orchestrator`, its secret stored as `secret` in Secrets Manager; a console channel.
    pub async fn poller_config(&self, orchestrator: &MockServer, secret: &str) -> Value {
        json!({
            "sources": { "orchestrator": [{
                "name": "cloud", "url": orchestrator.uri(), "folders": [1],
                "auth": { "type": "client_credentials",
                          "token_url": format!("{}/identity_/connect/token", orchestrator.uri()),
                          "client_id": "ext-app",
                          "client_secret": self.secret("secretsmanager", secret, "cc-secret").await,
                          "scope": "OR.Jobs.Read" } }] },
            "channels": { "console": { "type": "console" } }
        })
    }
}

/// An EventBridge schedule tick, as the poller's rule sends it.
pub fn schedule_tick() -> Value {
    json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": chrono::Utc::now().to_rfc3339(),
        "region": "ap-northeast-1", "resources": ["arn:aws:events:ap-northeast-1:123456789012:rule/poll"],
        "detail": {}
    })
}
