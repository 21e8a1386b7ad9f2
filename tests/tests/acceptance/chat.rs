//! The chat-listener handler with Google Chat's event samples as API Gateway requests, tokens
//! signed by a test key served as Google's JWKS (wiremock), and the space registry in DynamoDB
//! (moto).

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::testing::{emulator, unique};
use opsbell_core::chat::listener::ChatListener;
use opsbell_core::chat::verify::{Audience, CHAT_ISSUER, ChatVerifier};
use opsbell_core::ports::Records;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn file(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn token(aud: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-kid-1".into());
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "iss": CHAT_ISSUER, "aud": aud, "iat": now, "exp": now + 300 });
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&file("crates/core/testdata/test-rsa-key.pem")).unwrap(),
    )
    .unwrap()
}

async fn post(listener: &ChatListener<'_>, sample: &str, bearer: Option<&str>) -> (u16, Value) {
    let body = String::from_utf8(file(&format!(
        "samplejson/googlechat-event-{sample}-docs.json"
    )))
    .unwrap();
    post_body(listener, body, bearer).await
}

/// A message to the bot saying `text`, as Google Chat sends it, with a valid token.
pub(crate) async fn say(listener: &ChatListener<'_>, text: &str) -> String {
    let mut message: Value =
        serde_json::from_slice(&file("samplejson/googlechat-event-message-room-docs.json"))
            .unwrap();
    message["message"]["argumentText"] = json!(format!(" {text}"));
    message["message"]["text"] = json!(format!("@opsbell {text}"));
    let (status, reply) = post_body(listener, message.to_string(), Some(&token("424242"))).await;
    assert_eq!(status, 200, "{reply}");
    reply["text"].as_str().unwrap_or_default().to_string()
}

/// A ChatListener over `records` whose tokens come from a fake JWKS (kept alive by the server).
pub(crate) async fn listener_keys() -> (MockServer, ChatVerifier) {
    let keys = MockServer::start().await;
    let jwks: Value = serde_json::from_slice(&file("crates/core/testdata/test-jwks.json")).unwrap();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(&keys)
        .await;
    let verifier = ChatVerifier::new(
        Audience::ProjectNumber("424242".into()),
        Some(keys.uri()),
        opsbell_core::http::client(),
    );
    (keys, verifier)
}

async fn post_body(
    listener: &ChatListener<'_>,
    body: String,
    bearer: Option<&str>,
) -> (u16, Value) {
    let mut event: Value = serde_json::from_slice(&file(
        "samplejson/apigateway-http-v2-event-iam-with-body.json",
    ))
    .unwrap();
    let mut headers =
        json!({ "content-type": "application/json", "user-agent": "Google-Dynamite" });
    if let Some(t) = bearer {
        headers["authorization"] = json!(format!("Bearer {t}"));
    }
    event["headers"] = headers;
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(false);
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = chat_listener::handle(request, listener).await.unwrap();
    (
        response.status().as_u16(),
        serde_json::from_slice(response.body().as_ref()).unwrap(),
    )
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn chat_events_drive_the_registry_in_dynamodb_and_only_google_gets_in() {
    let aws = emulator().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let table = unique("chat");
    DynamoStore::create_table(&client, &table).await.unwrap();
    let records = DynamoStore::new(client, &table);
    let keys = MockServer::start().await;
    let jwks: Value = serde_json::from_slice(&file("crates/core/testdata/test-jwks.json")).unwrap();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(&keys)
        .await;
    let verifier = ChatVerifier::new(
        Audience::ProjectNumber("424242".into()),
        Some(keys.uri()),
        opsbell_core::http::client(),
    );
    let listener = ChatListener {
        bot: "opsbell",
        verifier: &verifier,
        records: &records,
        oncall: None,
        language: opsbell_core::locale::Language::En,
        silence_max: chrono::Duration::days(30),
        access: &opsbell_core::access::Access::default(),
    };
    let good = token("424242");

    assert_eq!(
        post(&listener, "added-to-space-room", Some(&good)).await.0,
        200
    );
    assert_eq!(
        post(&listener, "added-to-space-room", Some(&good)).await.0,
        200,
        "idempotent"
    );
    let spaces = records
        .list_records(&opsbell_core::state::Space::partition("opsbell"))
        .await
        .unwrap();
    assert_eq!(
        spaces.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["spaces/AAAAAAAAAAA"]
    );

    let (status, reply) = post(&listener, "message-room", Some(&good)).await;
    assert_eq!(status, 200);
    assert!(reply["text"].as_str().unwrap().starts_with("Commands:"));

    assert_eq!(
        post(&listener, "removed-from-space", None).await.0,
        401,
        "no token"
    );
    assert_eq!(
        post(&listener, "removed-from-space", Some(&token("999")))
            .await
            .0,
        401,
        "wrong audience"
    );
    assert_eq!(
        records
            .list_records(&opsbell_core::state::Space::partition("opsbell"))
            .await
            .unwrap()
            .len(),
        1,
        "refused requests change nothing"
    );
    assert_eq!(
        post(&listener, "removed-from-space", Some(&good)).await.0,
        200
    );
    assert!(
        records
            .list_records(&opsbell_core::state::Space::partition("opsbell"))
            .await
            .unwrap()
            .is_empty()
    );
}
