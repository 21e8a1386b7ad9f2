//! The console Lambda in a real browser: Chromium → a stand-in for the HTTP API (each request
//! becomes the payload 2.0 event API Gateway sends to `/console/{proxy+}`, the answer's
//! `cookies` become `Set-Cookie`) → the `console` binary as Lambda runs it, under its own role
//! (the IAM proxy in front of moto), signing in at oidc-provider.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fantoccini::Locator;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::deployment::{Stack, http_event};
use crate::support::runtime::{Function, RuntimeApi};

#[path = "../../../crates/cli/tests/support/browser.rs"]
mod browser_support;

use browser_support::{
    CLIENT_SECRET, browser, click_and_load, provider, shot, sign_in, text, until_page_says,
};

type Lambda = Arc<Mutex<(RuntimeApi, Function)>>;

/// One browser request as the HTTP API hands it to the function, and its answer back.
async fn gateway(
    State(lambda): State<Lambda>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut names = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &headers {
        let value = value.to_str().unwrap_or_default();
        match name.as_str() {
            "cookie" => cookies.extend(value.split("; ").map(|c| json!(c))),
            name => {
                names.insert(name.into(), json!(value));
            }
        }
    }
    let mut event = http_event(uri.path(), Value::Object(names), &body);
    event["routeKey"] = json!(format!("{method} /console/{{proxy+}}"));
    event["requestContext"]["http"]["method"] = json!(method.as_str());
    event["rawQueryString"] = json!(uri.query().unwrap_or_default());
    event["cookies"] = json!(cookies);
    let mut guard = lambda.lock().await;
    let (runtime, function) = &mut *guard;
    let answer = runtime
        .invoke(function, event, Duration::from_secs(30))
        .await
        .response();
    let status = answer["statusCode"].as_u64().unwrap_or(502) as u16;
    let mut response = (
        StatusCode::from_u16(status).unwrap(),
        answer["body"].as_str().unwrap_or_default().to_string(),
    )
        .into_response();
    let out = response.headers_mut();
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::try_from(name.as_str()),
            axum::http::HeaderValue::try_from(value.as_str().unwrap_or_default()),
        ) {
            out.insert(n, v);
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        out.append(
            "set-cookie",
            cookie.as_str().unwrap_or_default().parse().unwrap(),
        );
    }
    response
}

#[tokio::test]
#[ignore = "needs the AWS emulator, chromium, chromium-driver and the OIDC provider: run scripts/test.sh"]
async fn the_console_lambda_signs_in_shows_a_fault_and_takes_a_silence_in_a_browser() {
    let stack = Stack::new().await;
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/console", listener.local_addr().unwrap());
    let redirect = format!("{base}/auth/callback");
    let clients = json!([{ "client_id": "opsbell-console", "client_secret": CLIENT_SECRET,
        "redirect_uris": [redirect], "grant_types": ["authorization_code"], "response_types": ["code"] }]);
    std::fs::write(&provider.clients, clients.to_string()).unwrap();
    let key = "console-cookie-key-for-the-browser-test-0123456789";
    let config = json!({
        "access": { "responders": ["ana@example.com"], "viewers": ["@example.com"] },
        "console": {
            "login": { "issuer": provider.issuer, "client_id": "opsbell-console",
                "client_secret": stack.secret("ssm", "browser-oidc-client-secret", CLIENT_SECRET).await,
                "redirect_url": redirect },
            "cookie_key": stack.secret("secretsmanager", "browser-console-cookie-key", key).await
        }
    });
    // A fault the fan-out told, in the table the Lambda reads.
    stack.told_fault("InvoiceBot").await;
    let (runtime, function, proxy) = stack.start("console", config, &[], None).await;
    let lambda: Lambda = Arc::new(Mutex::new((runtime, function)));
    let app = axum::Router::new()
        .fallback(gateway)
        .with_state(lambda.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (_driver, b) = browser(dir.path(), "en").await;
    sign_in(&b, &base, "ana@example.com").await;
    let now_page = until_page_says(&b, &format!("{base}/"), "InvoiceBot").await;
    assert!(
        now_page.contains("ana@example.com (responder)"),
        "{now_page}"
    );
    shot(&b, "lambda-now-en").await;
    b.goto(&format!("{base}/silences")).await.unwrap();
    let field = b.find(Locator::Css("input[name=text]")).await.unwrap();
    field
        .send_keys("process=Invoice* for 1h deploying")
        .await
        .unwrap();
    click_and_load(&b, "button[name=preview]").await;
    let preview = text(&b).await;
    let held = preview
        .split("Recent events it would have held")
        .nth(1)
        .unwrap_or_default();
    assert!(held.contains("InvoiceBot"), "{preview}");
    click_and_load(&b, "button[name=save]").await;
    let listed = text(&b).await;
    assert!(listed.contains("ana@example.com: deploying"), "{listed}");
    assert_eq!(stack.records("SILENCE#ALL").await.len(), 1);
    b.close().await.unwrap();

    let (_driver, b) = browser(dir.path(), "ja").await;
    sign_in(&b, &base, "vic@example.com").await;
    b.goto(&format!("{base}/silences")).await.unwrap();
    let field = b.find(Locator::Css("input[name=text]")).await.unwrap();
    field.send_keys("process=x for 1h").await.unwrap();
    click_and_load(&b, "button[name=save]").await;
    assert!(
        text(&b).await.contains("対応者のみ"),
        "a viewer may not silence"
    );
    b.close().await.unwrap();
    proxy.assert_nothing_denied();
}
