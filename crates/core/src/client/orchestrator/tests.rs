//! Client-credentials authentication (an External Application) against a wiremock identity
//! server: the token request's exact form, `expires_in` honoured, renewal on 401, no secret in
//! errors. <https://docs.uipath.com/automation-cloud/automation-cloud/latest/api-guide/accessing-uipath-resources-using-external-applications>

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use tokio::time::Instant;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const CLIENT_SECRET: &str = "ext-app-secret-value";
const SCOPE: &str = "OR.Jobs.Read OR.Folders.Read";

fn client(server: &MockServer) -> OrchestratorClient {
    let source = OrchestratorSource {
        name: "cloud".into(),
        url: format!("{}/acme/DefaultTenant/orchestrator_", server.uri()),
        auth: OrchestratorAuth::ClientCredentials {
            token_url: format!("{}/identity_/connect/token", server.uri()),
            client_id: "ext-app-id".into(),
            client_secret: SecretString::from(CLIENT_SECRET),
            scope: SCOPE.into(),
        },
        folders: vec![],
        page_size: 100,
        overlap: Duration::from_secs(120),
        initial_lookback: Duration::from_secs(3600),
        interval: Duration::from_secs(300),
        requests_per_minute: 6000,
        api_key: None,
        tenant_id: None,
        schedules: Vec::new(),
        triggers: None,
        hung: None,
    };
    let policy = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
        margin: Duration::ZERO,
    };
    OrchestratorClient::new(source, reqwest::Client::new(), policy)
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

/// The identity server hands out `token-1`, `token-2`, … each lasting `expires_in` seconds.
async fn identity(server: &MockServer, expires_in: u64) {
    let issued = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(method("POST"))
        .and(path("/identity_/connect/token"))
        .respond_with(move |_: &wiremock::Request| {
            let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("token-{n}"), "expires_in": expires_in,
                "token_type": "Bearer", "scope": SCOPE
            }))
        })
        .mount(server)
        .await;
}

/// `GET /odata/Folders` answers only `Bearer <token>`; any other token gets 401.
async fn folders_for(server: &MockServer, token: &str) {
    Mock::given(method("GET"))
        .and(path("/acme/DefaultTenant/orchestrator_/odata/Folders"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"Id": 7}]})))
        .with_priority(1)
        .mount(server)
        .await;
}

async fn unauthorized_otherwise(server: &MockServer) {
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("token expired"))
        .with_priority(10)
        .mount(server)
        .await;
}

async fn token_requests(server: &MockServer) -> Vec<Vec<(String, String)>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/identity_/connect/token")
        .map(|r| serde_urlencoded::from_bytes(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn the_token_request_is_the_documented_form() {
    let server = MockServer::start().await;
    identity(&server, 3600).await;
    folders_for(&server, "token-1").await;
    let c = client(&server);
    assert_eq!(c.folders(deadline()).await.unwrap(), vec![7]);

    let requests = server.received_requests().await.unwrap();
    let token = requests
        .iter()
        .find(|r| r.url.path() == "/identity_/connect/token")
        .unwrap();
    assert_eq!(token.method.as_str(), "POST");
    assert_eq!(
        token.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let mut form: Vec<(String, String)> = serde_urlencoded::from_bytes(&token.body).unwrap();
    form.sort();
    let expected = [
        ("client_id", "ext-app-id"),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "client_credentials"),
        ("scope", SCOPE),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(form, expected);
}

#[tokio::test]
async fn a_token_is_reused_for_its_expires_in_then_replaced() {
    // A long-lived token: many calls, one grant.
    let server = MockServer::start().await;
    identity(&server, 3600).await;
    folders_for(&server, "token-1").await;
    let c = client(&server);
    for _ in 0..5 {
        c.folders(deadline()).await.unwrap();
    }
    assert_eq!(token_requests(&server).await.len(), 1);

    // `expires_in: 61`: trusted until a minute before it ends (1 s), then a new grant.
    let server = MockServer::start().await;
    identity(&server, 61).await;
    folders_for(&server, "token-1").await;
    folders_for(&server, "token-2").await;
    let c = client(&server);
    c.folders(deadline()).await.unwrap();
    c.folders(deadline()).await.unwrap();
    assert_eq!(token_requests(&server).await.len(), 1, "still valid");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.folders(deadline()).await.unwrap();
    assert_eq!(
        token_requests(&server).await.len(),
        2,
        "renewed after expires_in"
    );
}

#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    // The server revokes token-1 before it expires: one 401, a new grant, the call succeeds.
    let server = MockServer::start().await;
    identity(&server, 3600).await;
    folders_for(&server, "token-2").await;
    unauthorized_otherwise(&server).await;
    let c = client(&server);
    assert_eq!(c.folders(deadline()).await.unwrap(), vec![7]);
    assert_eq!(token_requests(&server).await.len(), 2);

    // A server that refuses every token: renewed once, then the 401 is the answer (no loop).
    let server = MockServer::start().await;
    identity(&server, 3600).await;
    unauthorized_otherwise(&server).await;
    let c = client(&server);
    let err = c.folders(deadline()).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(token_requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_refused_grant_is_an_auth_error_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/identity_/connect/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_client", "error_description": "bad client"
        })))
        .mount(&server)
        .await;
    let err = client(&server).folders(deadline()).await.unwrap_err();
    assert!(matches!(err, OrchestratorError::Auth(_)), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains(CLIENT_SECRET), "{text}");
}
