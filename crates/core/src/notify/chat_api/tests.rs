//! The Chat API adapter against wiremock standing in for Google's token endpoint and Chat API.

use jsonwebtoken::{DecodingKey, Validation, decode};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, Request, ResponseTemplate};

use super::*;
use crate::notify::google_chat_bot::{GoogleChatBotConfig, GoogleChatBotNotifier};
use crate::notify::testkit::Kit;
use crate::ports::{Records, Spaces};
use crate::render::google_chat::render;
use crate::testing::service_account_key;

const TOKEN: &str = "ya29.secret-access-token";

fn api(kit: &Kit) -> ChatApi {
    let key =
        ServiceAccountKey::parse(&service_account_key(&format!("{}/token", kit.base))).unwrap();
    ChatApi::new(kit.ctx("ops-bot"), key, &kit.base)
}

async fn mount_token(kit: &Kit, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "expires_in": 3599, "token_type": "Bearer"
        })))
        .expect(times)
        .mount(&kit.server)
        .await;
}

/// The form fields of a request (the values here need no decoding but `:`).
fn form(request: &Request) -> Vec<(String, String)> {
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":")))
        .collect()
}

#[tokio::test]
async fn grants_a_token_with_a_signed_assertion_and_posts_cards_into_the_thread() {
    let kit = Kit::start().await;
    mount_token(&kit, TOKEN, 1).await;
    let message = render(&kit.event, kit.ctx("x").render);
    Mock::given(method("POST"))
        .and(path("/v1/spaces/AAA/messages"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param(
            "messageReplyOption",
            "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
        ))
        .and(query_param("requestId", "opsbell-req-1"))
        .and(body_json(&message))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "spaces/AAA/messages/m1"})),
        )
        .expect(2)
        .mount(&kit.server)
        .await;
    let api = api(&kit);
    for _ in 0..2 {
        let receipt = api
            .create_message("spaces/AAA", &message, "opsbell-req-1", kit.deadline())
            .await
            .unwrap();
        assert_eq!(receipt.detail, "spaces/AAA/messages/m1");
    }
    // The grant: JWT-bearer, RS256 assertion for the chat.bot scope, audience the token URI.
    let requests = kit.server.received_requests().await.unwrap();
    let grant = form(requests.iter().find(|r| r.url.path() == "/token").unwrap());
    assert_eq!(grant[0], ("grant_type".into(), JWT_BEARER.into()));
    let public = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/test-rsa-pub.pem"
    ))
    .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[format!("{}/token", kit.base)]);
    validation.set_issuer(&["opsbell-bot@opsbell-test.iam.gserviceaccount.com"]);
    let claims = decode::<Value>(
        &grant[1].1,
        &DecodingKey::from_rsa_pem(&public).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["scope"], CHAT_BOT_SCOPE);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn a_refused_token_is_replaced_once() {
    let kit = Kit::start().await;
    mount_token(&kit, TOKEN, 2).await;
    Mock::given(method("POST"))
        .and(path("/v1/spaces/AAA/messages"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&kit.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/spaces/AAA/messages"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "spaces/AAA/messages/m2"})),
        )
        .mount(&kit.server)
        .await;
    let receipt = api(&kit)
        .create_message("spaces/AAA", &json!({"text": "hi"}), "r", kit.deadline())
        .await
        .unwrap();
    assert_eq!(receipt.detail, "spaces/AAA/messages/m2");
}

#[tokio::test]
async fn quota_429_backs_off_then_posts() {
    let kit = Kit::start().await;
    mount_token(&kit, TOKEN, 1).await;
    Mock::given(method("POST"))
        .and(path("/v1/spaces/AAA/messages"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .mount(&kit.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/spaces/AAA/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "m"})))
        .mount(&kit.server)
        .await;
    let receipt = api(&kit)
        .create_message("spaces/AAA", &json!({"text": "hi"}), "r", kit.deadline())
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 3);
}

#[tokio::test]
async fn token_endpoint_failures_are_errors_without_secrets() {
    let kit = Kit::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&kit.server)
        .await;
    let err = api(&kit)
        .create_message("spaces/AAA", &json!({"text": "hi"}), "r", kit.deadline())
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    let text = err.to_string();
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("eyJ"),
        "{text}"
    );
}

#[test]
fn bad_key_files_are_explained_without_quoting_the_key() {
    let good: Value = serde_json::from_str(&service_account_key("https://t/token")).unwrap();
    let mut no_email = good.clone();
    no_email.as_object_mut().unwrap().remove("client_email");
    let err = ServiceAccountKey::parse(&no_email.to_string()).unwrap_err();
    assert!(err.contains("missing field `client_email`"), "{err}");
    let mut bad_pem = good.clone();
    bad_pem["private_key"] =
        json!("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n");
    let err = ServiceAccountKey::parse(&bad_pem.to_string()).unwrap_err();
    assert!(
        err.contains("not an RSA private key") && !err.contains("c2VjcmV0"),
        "{err}"
    );
    let err = ServiceAccountKey::parse("{\"private_key\": \"secret-bytes").unwrap_err();
    assert!(!err.contains("secret-bytes"), "{err}");
    assert!(
        format!("{:?}", ServiceAccountKey::parse(&good.to_string()).unwrap())
            .contains("client_email")
    );
}

#[test]
fn space_names_and_request_ids() {
    assert!(valid_space("spaces/AAAA-bb_1"));
    for bad in [
        "spaces/",
        "spaces/a/messages",
        "rooms/x",
        "spaces/../x",
        "spaces/a?b",
    ] {
        assert!(!valid_space(bad), "{bad}");
    }
    let id = request_id("uipath::k:faulted", "spaces/A");
    assert_eq!(id, request_id("uipath::k:faulted", "spaces/A"));
    assert_ne!(id, request_id("uipath::k:faulted", "spaces/B"));
    assert!(
        id.len() <= 63
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    );
}

#[tokio::test]
async fn a_space_that_answers_404_is_left_for_the_fanout_to_judge() {
    let kit = Kit::start().await;
    mount_token(&kit, TOKEN, 1).await;
    Mock::given(method("POST"))
        .and(path("/v1/spaces/GONE/messages"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {"code": 404}})))
        .mount(&kit.server)
        .await;
    let records = kit.records.clone();
    for space in ["spaces/GONE", "spaces/KEPT"] {
        records
            .put_record("SPACE#opsbell", space, &json!({}), None)
            .await
            .unwrap();
    }
    let key = service_account_key(&format!("{}/token", kit.base));
    let config = GoogleChatBotConfig {
        service_account_key: ServiceAccountKey::parse(&key).unwrap(),
        bot: "opsbell".into(),
        api_base: kit.base.clone(),
        concurrency: 8,
    };
    let bot = GoogleChatBotNotifier::new(kit.ctx("ops-bot"), config, records.clone());
    let err = bot
        .post("spaces/GONE", &kit.event, kit.deadline())
        .await
        .unwrap_err();
    assert!(
        matches!(err, NotifyError::Permanent { status: 404, .. }),
        "{err}"
    );
    assert_eq!(
        bot.spaces().await.unwrap(),
        ["spaces/GONE", "spaces/KEPT"],
        "the adapter forgets nothing by itself"
    );
}

/// A card the Chat API refuses as INVALID_ARGUMENT reaches the space as plain text, through
/// the fan-out's send stage for spaces, in the same thread.
#[tokio::test]
async fn a_card_a_space_refuses_as_invalid_argument_arrives_as_plain_text() {
    use crate::fanout::{Destination, Fanout, TargetOutcome};
    let kit = Kit::start().await;
    mount_token(&kit, TOKEN, 1).await;
    let plain = crate::render::google_chat::plain(&kit.event, kit.ctx("x").render);
    Mock::given(method("POST"))
        .and(path("/v1/spaces/AAA/messages"))
        .and(body_json(&plain))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "spaces/AAA/messages/p"})),
        )
        .with_priority(1)
        .mount(&kit.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/spaces/AAA/messages"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid card"}})))
        .with_priority(2)
        .mount(&kit.server)
        .await;
    let records = kit.records.clone();
    records
        .put_record("SPACE#opsbell", "spaces/AAA", &json!({}), None)
        .await
        .unwrap();
    let key = service_account_key(&format!("{}/token", kit.base));
    let config = GoogleChatBotConfig {
        service_account_key: ServiceAccountKey::parse(&key).unwrap(),
        bot: "opsbell".into(),
        api_base: kit.base.clone(),
        concurrency: 8,
    };
    let bot = GoogleChatBotNotifier::new(kit.ctx("ops-bot"), config, records.clone());
    let destinations = [(
        "ops-bot".to_string(),
        Destination::Spaces(std::sync::Arc::new(bot)),
    )]
    .into();
    let routes = vec![crate::route::Route::to("ops-bot", vec![kit.event.state])];
    let fanout = Fanout::new(
        destinations,
        routes,
        std::sync::Arc::new(crate::testing::MemoryStore::default()),
        records,
        std::sync::Arc::new(crate::ports::SystemClock),
    );
    let report = fanout.deliver(&kit.event, kit.deadline()).await;
    assert!(
        matches!(report.targets[0].1, TargetOutcome::Delivered { .. }),
        "{:?}",
        report.targets
    );
    let posts: Vec<Value> = (kit.server.received_requests().await.unwrap().iter())
        .filter(|r| r.url.path().ends_with("/messages"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(posts[0].get("cardsV2").is_some());
    assert_eq!(posts[1], plain);
    assert!(
        posts[1]["thread"]["threadKey"].is_string(),
        "the same thread"
    );
}
