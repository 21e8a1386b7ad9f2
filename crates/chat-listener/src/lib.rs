//! The `chat-listener` Lambda: Google Chat's HTTP events → [`ChatListener`] (shared with
//! `opsbell serve`). Answers 401 to unverified requests, 200 with a chat reply otherwise.

use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE};
use lambda_http::{Body, Error, Request, Response};
use opsbell_core::chat::listener::ChatListener;

pub async fn handle(
    request: Request,
    listener: &ChatListener<'_>,
) -> Result<Response<Body>, Error> {
    let authorization = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let reply = listener
        .handle(authorization, request.body().as_ref(), chrono::Utc::now())
        .await;
    Ok(Response::builder()
        .status(reply.status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(reply.body.to_string()))?)
}
