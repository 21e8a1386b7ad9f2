//! The `webhook-ingest` Lambda: API Gateway (REST v1 or HTTP API v2) → verify → queue → answer.
//! All decisions live in [`opsbell_core::ingest`], shared with `opsbell serve`; this adapts the
//! HTTP request. `lambda_http` has already Base64-decoded the body when `isBase64Encoded` is set,
//! and its header map is case-insensitive, so the signature is checked over the exact bytes sent.
//! It also takes heartbeat pings (`/ping/<key>…`, [`opsbell_core::heartbeat`]).

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Error, Request, Response};
use opsbell_core::heartbeat::Heartbeats;
use opsbell_core::http::Reply;
use opsbell_core::ingest::Ingest;
use opsbell_core::ports::{Clock, SystemClock};
use opsbell_core::signature::SIGNATURE_HEADER;
use serde_json::json;

pub async fn handle(
    request: Request,
    ingest: &Ingest,
    heartbeats: Option<&Heartbeats>,
) -> Result<Response<Body>, Error> {
    let reply = match ping_path(request.uri().path()) {
        Some(rest) => match heartbeats {
            Some(heartbeats) => {
                let now = SystemClock.now();
                heartbeats.ping(rest, request.body().as_ref(), now).await
            }
            None => Reply::new(
                404,
                json!({ "error": "no heartbeat checks are configured" }),
            ),
        },
        None => {
            let signature = request
                .headers()
                .get(SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok());
            ingest.handle(signature, request.body().as_ref()).await
        }
    };
    Ok(Response::builder()
        .status(reply.status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(reply.body.to_string()))?)
}

/// What follows `/ping/` in a request's path (a REST API's stage may come first).
fn ping_path(path: &str) -> Option<&str> {
    path.split_once("/ping/").map(|(_, rest)| rest)
}
