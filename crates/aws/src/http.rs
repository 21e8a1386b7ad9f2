//! The AWS SDK's HTTP client: opsbell's own reqwest client (`opsbell_core::http`), so AWS calls
//! and vendor posts use one TLS set-up, whose root certificates are read once per process at the
//! first TLS handshake.
//!
//! The SDK's default client (`default-https-client`) reads the system's roots when it makes its
//! first connection, TLS or not, and keeps them apart from reqwest's: a function that calls AWS
//! and posts to Slack read them twice. On Debian that is one bundle and the ~300 files of
//! `/etc/ssl/certs`, about 3.5 ms of CPU measured here (`webhook-ingest --event`: user+sys
//! 9.5 → 5.8 ms without them), which webhook-ingest paid in INIT for its SSM read.
//! The SDK signs each request before it reaches a connector, so this file only carries bytes:
//! method, URI, headers and body out, status, headers and body back. Transport errors are
//! classified for the SDK's retry strategy: a timeout as a timeout, a failed connect or send as
//! I/O (both retried), anything else as other.
//! <https://docs.rs/aws-smithy-runtime-api/latest/aws_smithy_runtime_api/client/http/trait.HttpConnector.html>

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;

/// Longest an AWS request may take, answer included: past SQS's longest long poll (20 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The SDK's HTTP client, for `aws_config::ConfigLoader::http_client`.
pub fn sdk_http_client() -> SharedHttpClient {
    let client = opsbell_core::http::client_builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("static client settings are valid");
    let connector = SharedHttpConnector::new(Reqwest(client));
    http_client_fn(move |_settings, _components| connector.clone())
}

#[derive(Debug, Clone)]
struct Reqwest(reqwest::Client);

impl HttpConnector for Reqwest {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move { send(&client, request).await })
    }
}

async fn send(
    client: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::user(e.into()))?;
    let (parts, body) = request.into_parts();
    // Every request opsbell makes (JSON and query protocols, small S3 objects) has its body in
    // memory; a streaming body would be an upload, which no function makes.
    let body = body
        .bytes()
        .ok_or_else(|| ConnectorError::user("a streaming request body".into()))?
        .to_vec();
    let url = parts.uri.to_string();
    let response = client
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(transport)?;
    let mut answer = http::Response::new(SdkBody::from(body));
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
}

/// A transport failure as the SDK's retry strategy reads it. The URL (with a presigned query
/// it could hold credentials) is dropped from the text.
fn transport(e: reqwest::Error) -> ConnectorError {
    let timeout = e.is_timeout();
    let io = e.is_connect() || e.is_request() || e.is_body();
    let e = Box::new(e.without_url());
    match (timeout, io) {
        (true, _) => ConnectorError::timeout(e),
        (false, true) => ConnectorError::io(e),
        _ => ConnectorError::other(e, None),
    }
}
