//! A standard signed webhook: `POST` of a versioned JSON event (`opsbell.event.v1`), signed as
//! the Standard Webhooks specification says, so any of its libraries can verify it.
//! <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>
//!
//! Headers: `webhook-id` (the same on every retry of one event to one channel, so a receiver
//! can deduplicate), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
//! (`v1,` + Base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the Base64-decoded
//! part of the `whsec_…` secret).

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::time::Instant;

use super::{AdapterContext, ChannelConfig, pretty};
use crate::event::Event;
use crate::http::send_with_retry;
use crate::ports::{Notifier, NotifyError, Receipt};
use crate::problem::Problems;
use crate::render::RenderOptions;

/// The body's `type`: its schema is in the README ("A standard signed webhook").
pub const EVENT_TYPE: &str = "opsbell.event.v1";

/// `{"type": "webhook", "url": "https://…", "secret": "whsec_…"}`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    pub secret: SecretString,
}

impl WebhookConfig {
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.url(&self.url, &format!("{path}.url"));
        if key(&self.secret).is_none() {
            let message = "not a Standard Webhooks secret: \"whsec_\" and Base64 (e.g. from `openssl rand -base64 32`)";
            p.push(format!("{path}.secret"), message.to_string());
        }
    }
}

/// The HMAC key: the Base64 after `whsec_` (padded or not, as the reference libraries take it).
fn key(secret: &SecretString) -> Option<Vec<u8>> {
    let text = secret.expose_secret().strip_prefix("whsec_")?;
    let text = text.trim_end_matches('=');
    (base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text)
        .ok())
    .filter(|k| !k.is_empty())
}

impl ChannelConfig for WebhookConfig {
    const KIND: &'static str = "webhook";

    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self> {
        p.read(path, value, Self::validate)
    }

    fn preview(&self, event: &Event, _: RenderOptions) -> String {
        pretty(&body(event))
    }
}

/// `{"type": "opsbell.event.v1", "timestamp": <occurred_at>, "data": <the event>}`.
pub fn body(event: &Event) -> Value {
    json!({
        "type": EVENT_TYPE,
        "timestamp": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": event,
    })
}

/// The `webhook-signature` of `body` sent as message `id` at `timestamp`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

pub struct WebhookNotifier {
    ctx: AdapterContext,
    url: String,
    key: Vec<u8>,
}

impl WebhookNotifier {
    pub fn new(ctx: AdapterContext, config: WebhookConfig) -> Self {
        WebhookNotifier {
            ctx,
            key: key(&config.secret).unwrap_or_default(),
            url: config.url,
        }
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError> {
        let body = serde_json::to_vec(&body(event)).unwrap_or_default();
        let id = format!(
            "msg_{}",
            crate::signature::digest_hex(&format!("{}/{}", self.ctx.name, event.key), 16)
        );
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            let now = chrono::Utc::now().timestamp();
            (self.ctx.http.post(&self.url))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", now.to_string())
                .header("webhook-signature", signature(&self.key, &id, now, &body))
                .body(body.clone())
        })
        .await?;
        Ok(Receipt {
            detail: format!("HTTP {} {id}", sent.status),
            attempts: sent.attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example: secret, id, timestamp, payload and signature.
    #[test]
    fn signs_as_the_specifications_example() {
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let got = signature(
            &key(&secret).unwrap(),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        );
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}

#[cfg(test)]
mod adapter_tests {
    use std::sync::Arc;

    use wiremock::{Mock, ResponseTemplate};

    use super::*;
    use crate::notify::testkit::{self, Kit};

    fn notifier(kit: &Kit) -> WebhookNotifier {
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string());
        let url = format!("{}/hooks/opsbell", kit.base);
        WebhookNotifier::new(kit.ctx("hook"), WebhookConfig { url, secret })
    }

    #[tokio::test]
    async fn status_matrix() {
        testkit::status_matrix(
            |kit| Arc::new(notifier(kit)),
            &["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        )
        .await;
    }

    #[tokio::test]
    async fn every_retry_keeps_the_webhook_id_and_signs_its_own_timestamp() {
        let kit = Kit::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .mount(&kit.server)
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(204))
            .mount(&kit.server)
            .await;
        notifier(&kit)
            .notify(&kit.event, kit.deadline())
            .await
            .unwrap();
        let requests = kit.server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 3);
        let key = key(&SecretString::from(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string(),
        ))
        .unwrap();
        let header = |r: &wiremock::Request, h: &str| {
            r.headers.get(h).unwrap().to_str().unwrap().to_string()
        };
        let ids: std::collections::BTreeSet<String> =
            requests.iter().map(|r| header(r, "webhook-id")).collect();
        assert_eq!(ids.len(), 1, "one id for every retry");
        for r in &requests {
            let id = header(r, "webhook-id");
            let at: i64 = header(r, "webhook-timestamp").parse().unwrap();
            assert_eq!(
                header(r, "webhook-signature"),
                signature(&key, &id, at, &r.body)
            );
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["type"], EVENT_TYPE);
            assert_eq!(body["data"]["key"], kit.event.key.as_str());
        }
    }
}
