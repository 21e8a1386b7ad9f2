//! The Google Chat bot target: a CloudWatch alarm by SNS through the alarm-fanout handler to
//! every space in the registry (DynamoDB on moto), through wiremock standing in for Google's
//! token endpoint and the Chat API.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::Context;
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::testing::{emulator, unique};
use opsbell_core::config::Config;
use opsbell_core::fanout::Fanout;
use opsbell_core::http::RetryPolicy;
use opsbell_core::ports::Records;
use opsbell_core::render::google_chat;
use opsbell_core::source::Inbound;
use opsbell_core::source::cloudwatch::parse_sns;
use opsbell_core::testing::service_account_key;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCESS_TOKEN: &str = "ya29.acceptance-secret-token";

struct World {
    google: MockServer,
    records: Arc<DynamoStore>,
    fanout: Fanout,
    alarm: Value,
}

async fn world(spaces: &[&str]) -> World {
    let aws = emulator().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let table = unique("bot");
    DynamoStore::create_table(&client, &table).await.unwrap();
    let records = Arc::new(DynamoStore::new(client, &table));
    for space in spaces {
        records
            .put_record(
                &opsbell_core::state::Space::partition("opsbell"),
                space,
                &json!({"type": "SPACE"}),
                None,
            )
            .await
            .unwrap();
    }
    let google = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}),
        ))
        .mount(&google)
        .await;
    let config = json!({
        "language": "en",
        "channels": { "ops-bot": {
            "type": "google_chat_bot",
            "service_account_key": service_account_key(&format!("{}/token", google.uri())),
            "api_base": google.uri(),
        }},
    });
    let config = Config::load(&config.to_string(), &[]).unwrap();
    let policy = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        margin: Duration::ZERO,
    };
    let fanout = crate::support::fanout_over(
        &config,
        opsbell_core::http::client(),
        policy,
        records.clone(),
    );
    let alarm = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../samplejson/sns-cloudwatch-alarm-single-metric-lambda-event.json"
        ))
        .unwrap(),
    )
    .unwrap();
    World {
        google,
        records,
        fanout,
        alarm,
    }
}

impl World {
    async fn invoke(&self) -> Result<Value, String> {
        let mut context = Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
        let event = crate::support::lambda_event(self.alarm.clone(), context);
        (alarm_fanout::handle_any(event, &self.fanout).await)
            .map(crate::support::answer_json)
            .map_err(|e| e.to_string())
    }

    /// Chat API posts per space, in the order they arrived.
    async fn posts(&self) -> Vec<(String, Value)> {
        let requests = self.google.received_requests().await.unwrap();
        requests
            .iter()
            .filter(|r| r.url.path().starts_with("/v1/"))
            .map(|r| {
                let space = r
                    .url
                    .path()
                    .trim_start_matches("/v1/")
                    .trim_end_matches("/messages");
                (space.to_string(), serde_json::from_slice(&r.body).unwrap())
            })
            .collect()
    }

    async fn spaces(&self) -> Vec<String> {
        let records = self
            .records
            .list_records(&opsbell_core::state::Space::partition("opsbell"))
            .await
            .unwrap();
        records.into_iter().map(|(k, _)| k).collect()
    }
}

async fn answer(google: &MockServer, space_regex: &str, status: u16) {
    Mock::given(method("POST"))
        .and(path_regex(format!("^/v1/spaces/{space_regex}/messages$")))
        .respond_with(
            ResponseTemplate::new(status).set_body_json(json!({"name": "spaces/x/messages/1"})),
        )
        .mount(google)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_cloudwatch_sample_reaches_every_space_once_even_when_sns_delivers_it_twice() {
    let w = world(&["spaces/AAA", "spaces/BBB", "spaces/CCC"]).await;
    answer(&w.google, "[A-Z]+", 200).await;
    for _ in 0..2 {
        let reply = w.invoke().await.unwrap();
        assert_eq!(reply["delivered"].as_array().unwrap().len(), 1);
    }
    let posts = w.posts().await;
    let mut spaces: Vec<&str> = posts.iter().map(|(s, _)| s.as_str()).collect();
    spaces.sort();
    assert_eq!(spaces, ["spaces/AAA", "spaces/BBB", "spaces/CCC"]);
    let Inbound::Events(events) =
        parse_sns(&w.alarm["Records"][0]["Sns"], chrono::Utc::now()).unwrap()
    else {
        panic!()
    };
    let card = google_chat::render(
        &events[0],
        Config::load("{}", &[]).unwrap().render_options(),
    );
    for (_, body) in &posts {
        assert_eq!(body, &card);
        assert!(
            body["thread"]["threadKey"]
                .as_str()
                .unwrap()
                .starts_with("cloudwatch-")
        );
    }
    // Every post carried the bearer token and a per-space request id (Google's own dedup).
    let requests = w.google.received_requests().await.unwrap();
    let mut ids: Vec<String> = requests
        .iter()
        .filter(|r| r.url.path().starts_with("/v1/"))
        .map(|r| {
            assert_eq!(
                r.headers["authorization"],
                format!("Bearer {ACCESS_TOKEN}").as_str()
            );
            r.url
                .query_pairs()
                .find(|(k, _)| k == "requestId")
                .unwrap()
                .1
                .to_string()
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        requests.iter().filter(|r| r.url.path() == "/token").count(),
        1,
        "one token for every space"
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn spaces_that_are_gone_leave_the_registry_and_only_the_failing_space_is_retried() {
    let spaces = [
        "spaces/OK1",
        "spaces/OK2",
        "spaces/GONE1",
        "spaces/GONE2",
        "spaces/GONE3",
        "spaces/DOWN",
    ];
    let w = world(&spaces).await;
    answer(&w.google, "OK[0-9]", 200).await;
    answer(&w.google, "GONE[0-9]", 404).await;
    Mock::given(method("POST"))
        .and(path("/v1/spaces/DOWN/messages"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .mount(&w.google)
        .await;
    answer(&w.google, "DOWN", 200).await;

    let err = w.invoke().await.unwrap_err();
    assert!(err.contains("retryable"), "{err}");
    let mut left = w.spaces().await;
    left.sort();
    assert_eq!(
        left,
        ["spaces/DOWN", "spaces/OK1", "spaces/OK2"],
        "404 spaces forgotten"
    );
    let first: Vec<String> = w.posts().await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        first.len(),
        2 + 3 + 2,
        "OK1, OK2, three 404s, DOWN twice (policy: 2 attempts)"
    );

    // Lambda retries the invocation: only DOWN is posted again.
    w.invoke().await.unwrap();
    let second: Vec<String> = w
        .posts()
        .await
        .into_iter()
        .skip(first.len())
        .map(|(s, _)| s)
        .collect();
    assert_eq!(second, ["spaces/DOWN"]);
    w.invoke().await.unwrap();
    assert_eq!(
        w.posts().await.len(),
        first.len() + 1,
        "a third delivery posts nothing"
    );
}

/// Google's error body for a refusal (AIP-193), as the Chat API sends it.
fn google_error(status: &str, message: &str, reason: Option<&str>) -> Value {
    let details: Vec<Value> = reason
        .map(|r| json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": r, "domain": "googleapis.com"}))
        .into_iter()
        .collect();
    json!({"error": {"code": 403, "message": message, "status": status, "details": details}})
}

async fn refuse(google: &MockServer, space_regex: &str, status: u16, body: Value) {
    Mock::given(method("POST"))
        .and(path_regex(format!("^/v1/spaces/{space_regex}/messages$")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .with_priority(2)
        .mount(google)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_refusal_from_every_space_or_from_the_project_keeps_the_registry_and_is_retried() {
    let logs = crate::support::captured_logs();
    let spaces = ["spaces/AAA", "spaces/BBB", "spaces/CCC"];
    let permission_denied = google_error(
        "PERMISSION_DENIED",
        "The caller does not have permission",
        None,
    );
    let disabled = google_error(
        "PERMISSION_DENIED",
        "Google Chat API has not been used in project 123 before or it is disabled.",
        Some("SERVICE_DISABLED"),
    );
    let not_configured = json!({"error": {"code": 404, "status": "NOT_FOUND",
        "message": "Google Chat app not found. To create a Chat app, you must turn on the Chat API and configure the app in the Google Cloud console."}});
    for (case, status, body) in [
        ("403 from every space", 403, permission_denied),
        ("Chat API disabled", 403, disabled),
        ("app not configured", 404, not_configured),
    ] {
        let w = world(&spaces).await;
        refuse(&w.google, "[A-Z]+", status, body).await;
        // Lambda's three tries: each fails, so the alarm ends at the failure destination.
        for _ in 0..3 {
            let err = w.invoke().await.unwrap_err();
            assert!(err.contains("retryable"), "{case}: {err}");
        }
        let mut left = w.spaces().await;
        left.sort();
        assert_eq!(left, spaces, "{case}: the registry is kept");

        // The project is fixed; the redriven alarm reaches every space once.
        let before = w.posts().await.len();
        Mock::given(method("POST"))
            .and(path_regex("^/v1/spaces/[A-Z]+/messages$"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"name": "spaces/x/messages/1"})),
            )
            .with_priority(1)
            .mount(&w.google)
            .await;
        w.invoke().await.unwrap();
        let mut posted: Vec<String> = w
            .posts()
            .await
            .into_iter()
            .skip(before)
            .map(|(s, _)| s)
            .collect();
        posted.sort();
        assert_eq!(posted, spaces, "{case}: one post per space after the fix");
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        logs.contains("ERROR") && logs.contains("Every space the bot tried refused it"),
        "an unclear refusal of every space is an ERROR"
    );
    assert!(
        logs.contains("Google refuses the Chat app itself"),
        "a project refusal is an ERROR"
    );
    assert!(!logs.contains(ACCESS_TOKEN), "no token in the logs");
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_403_while_other_spaces_take_the_event_forgets_only_that_space() {
    let w = world(&["spaces/OK1", "spaces/OK2", "spaces/REMOVED"]).await;
    answer(&w.google, "OK[0-9]", 200).await;
    let denied = google_error(
        "PERMISSION_DENIED",
        "The caller does not have permission",
        None,
    );
    refuse(&w.google, "REMOVED", 403, denied).await;
    let report = w.invoke().await.unwrap();
    assert!(report["delivered"].as_array().is_some(), "{report}");
    let mut left = w.spaces().await;
    left.sort();
    assert_eq!(left, ["spaces/OK1", "spaces/OK2"]);
}

/// The iPF Google Chat bot's documented custom alarm (no `NewStateValue`), published to SNS and
/// fanned out by the bot to every registered space: an alarm titled by `AlarmName`, its reason as
/// the body, the trigger as facts, at `StateChangeTime`.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_ipf_custom_alarm_reaches_every_space_as_a_proper_alarm() {
    let mut w = world(&["spaces/AAA", "spaces/BBB"]).await;
    answer(&w.google, "[A-Z]+", 200).await;
    let custom = json!({
        "AlarmName": "ipf-prod-api 5xx",
        "StateChangeTime": "2026-12-01T03:04:05.678+0000",
        "NewStateReason": "5xx count 12 > 5",
        "Trigger": {"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count",
                    "Unit": "Count", "Statistic": "Sum",
                    "Dimensions": [{"name": "LoadBalancer"}, {"name": "TargetGroup"}]}
    });
    w.alarm["Records"][0]["Sns"]["Message"] = custom.to_string().into();
    w.alarm["Records"][0]["Sns"]["Subject"] = "ipf-aws-alarm-bot".into();
    let reply = w.invoke().await.unwrap();
    assert_eq!(reply["delivered"].as_array().unwrap().len(), 1, "{reply}");
    let posts = w.posts().await;
    let mut spaces: Vec<&str> = posts.iter().map(|(s, _)| s.as_str()).collect();
    spaces.sort();
    assert_eq!(spaces, ["spaces/AAA", "spaces/BBB"]);
    let fact =
        |label: &str, text: &str| json!({"decoratedText": {"topLabel": label, "text": text}});
    let card = json!({
        "text": "🔴 *ipf-prod-api 5xx is in ALARM*",
        "cardsV2": [{
            "cardId": "opsbell-event",
            "card": {
                "header": {"title": "ipf-prod-api 5xx is in ALARM", "subtitle": "opsbell · cloudwatch"},
                "sections": [
                    {"widgets": [
                        fact("State changed", "2026-12-01 12:04:05 JST"),
                        fact("Namespace", "AWS/ApplicationELB"),
                        fact("Metric", "HTTPCode_Target_5XX_Count"),
                        fact("Statistic", "Sum"),
                        fact("Unit", "Count"),
                        fact("Dimensions", "LoadBalancer, TargetGroup"),
                    ]},
                    {"header": "Info", "collapsible": true, "uncollapsibleWidgetsCount": 1,
                     "widgets": [{"textParagraph": {"text": "5xx count 12 &gt; 5"}}]}
                ]
            }
        }],
        "thread": {"threadKey": "cloudwatch-----ipf-prod-api 5xx"}
    });
    for (_, body) in &posts {
        assert_eq!(body, &card);
    }
}

/// `opsbell import-chatbots` on moto: the iPF bot's `chatbots` table (PK `bot_id`, SK
/// `space_id`) becomes our registry; a second run changes nothing; another bot's rows stay out.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_ipf_chatbots_table_is_imported_once_into_the_registry() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    };
    let aws = emulator().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let chatbots = unique("chatbots");
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&chatbots)
        .key_schema(key("bot_id", KeyType::Hash))
        .key_schema(key("space_id", KeyType::Range))
        .attribute_definitions(attr("bot_id"))
        .attribute_definitions(attr("space_id"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    for (bot, space) in [
        ("ipf-bot", "spaces/AAA"),
        ("ipf-bot", "spaces/BBB"),
        ("ipf-bot", "CCC"),
        ("other-bot", "spaces/ZZZ"),
    ] {
        client
            .put_item()
            .table_name(&chatbots)
            .item("bot_id", AttributeValue::S(bot.into()))
            .item("space_id", AttributeValue::S(space.into()))
            .item("space_type", AttributeValue::S("ROOM".into()))
            .send()
            .await
            .unwrap();
    }
    let state = unique("state");
    DynamoStore::create_table(&client, &state).await.unwrap();
    let records = DynamoStore::new(client.clone(), &state);
    opsbell_core::state::Space::default()
        .save(&records, "opsbell", "spaces/BBB")
        .await
        .unwrap();
    let args = opsbell::import::ImportArgs {
        from_table: chatbots.clone(),
        bot_id: "ipf-bot".into(),
        table: state.clone(),
        bot: "opsbell".into(),
    };
    for _ in 0..2 {
        opsbell::import::run(&args).await.unwrap();
        let mut names = opsbell_core::state::Space::names(&records, "opsbell")
            .await
            .unwrap();
        names.sort();
        assert_eq!(names, ["spaces/AAA", "spaces/BBB", "spaces/CCC"]);
    }
    let imported = opsbell_core::state::Space::load(&records, "opsbell", "spaces/AAA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        imported.added_by.as_deref(),
        Some("import from the iPF bot's chatbots table")
    );
}
