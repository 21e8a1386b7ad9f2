//! The `webhook-ingest` Lambda: API Gateway (REST v1 or HTTP API v2) → verify → queue → answer.
//! All decisions live in [`opsbell_core::ingest`], shared with `opsbell serve`; this adapts the
//! HTTP request. `lambda_http` has already Base64-decoded the body when `isBase64Encoded` is set,
//! and its header map is case-insensitive, so the signature is checked over the exact bytes sent.
//! It also takes heartbeat pings (`/ping/<key>…`, [`opsbell_core::heartbeat`]).

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Error, Request, Response};
use opsbell_core::heartbeat::Heartbeats;
use opsbell_core::ingest::Ingest;
use opsbell_core::ports::{Clock, SystemClock};
use opsbell_core::signature::SIGNATURE_HEADER;

pub async fn handle(
    request: Request,
    ingest: &Ingest,
    heartbeats: Option<&Heartbeats>,
) -> Result<Response<Body>, Error> {
    let reply = match ping_path(request.uri().path()) {
        Some(rest) => {
            let body = request.body().as_ref();
            Heartbeats::answer(heartbeats, rest, body, SystemClock.now()).await
        }
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
