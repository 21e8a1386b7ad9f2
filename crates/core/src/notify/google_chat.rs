//! Google Chat incoming webhooks.
//! <https://developers.google.com/workspace/chat/quickstart/webhooks>
//!
//! `POST` JSON to the webhook URL (its `key` and `token` are the credential), replying into the
//! job's thread when one exists. 32,000 bytes per message; message writes are limited to 60 per
//! minute per space (one per second; 429 beyond,
//! <https://developers.google.com/workspace/chat/limits>, checked 2026-12-01). So a webhook gets
//! one post at a time, a second apart, and floods become digests.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use serde_json::Value;

use super::{AdapterContext, ChannelConfig, pretty};
use crate::event::Event;
use crate::http::send_with_retry;
use crate::ports::{Notifier, NotifyError, Receipt};
use crate::problem::Problems;
use crate::render::RenderOptions;
use crate::render::google_chat::render;

/// Reply into the thread named by `thread.threadKey`, or start it.
const REPLY_OPTION: &str = "messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD";

/// `{"type": "google_chat", "webhook_url": "https://chat.googleapis.com/v1/spaces/…"}`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleChatConfig {
    pub webhook_url: SecretString,
}

impl GoogleChatConfig {
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.url(
            self.webhook_url.expose_secret(),
            &format!("{path}.webhook_url"),
        );
    }
}

impl ChannelConfig for GoogleChatConfig {
    const KIND: &'static str = "google_chat";

    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self> {
        p.read(path, value, Self::validate)
    }

    fn preview(&self, event: &Event, opts: RenderOptions) -> String {
        pretty(&render(event, opts))
    }

    fn floods(&self) -> bool {
        true
    }

    fn spacing(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(1))
    }
}

/// A space's incoming webhook.
pub struct GoogleChatNotifier {
    ctx: AdapterContext,
    webhook_url: SecretString,
}

impl GoogleChatNotifier {
    pub fn new(ctx: AdapterContext, config: GoogleChatConfig) -> Self {
        GoogleChatNotifier {
            ctx,
            webhook_url: config.webhook_url,
        }
    }
}

#[async_trait]
impl Notifier for GoogleChatNotifier {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError> {
        self.post(&render(event, self.ctx.render), deadline).await
    }

    async fn notify_plain(
        &self,
        event: &Event,
        refusal: NotifyError,
        deadline: Instant,
    ) -> Option<Result<Receipt, NotifyError>> {
        let plain = crate::render::google_chat::plain(event, self.ctx.render);
        if !super::malformed(&refusal, &[MALFORMED]) {
            return None;
        }
        Some(self.post(&plain, deadline).await)
    }
}

/// Google's status for a message it cannot take as built (AIP-193).
pub(super) const MALFORMED: &str = "INVALID_ARGUMENT";

impl GoogleChatNotifier {
    async fn post(&self, payload: &Value, deadline: Instant) -> Result<Receipt, NotifyError> {
        let base = self.webhook_url.expose_secret();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}{REPLY_OPTION}");
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            self.ctx
                .http
                .post(&url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=UTF-8",
                )
                .json(payload)
        })
        .await?;
        Ok(Receipt {
            detail: message_name(&sent.body),
            attempts: sent.attempts,
        })
    }
}

/// The `name` (`spaces/…/messages/…`) of the message Google Chat created, or empty.
pub(super) fn message_name(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Created {
        #[serde(default)]
        name: String,
    }
    serde_json::from_str::<Created>(body)
        .map(|c| c.name)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};

    use super::*;
    use crate::notify::testkit::{self, Kit};

    fn notifier(kit: &Kit) -> GoogleChatNotifier {
        let url = format!(
            "{}/v1/spaces/AAA/messages?key=SECRET-KEY&token=SECRET-TOKEN",
            kit.base
        );
        let webhook_url = SecretString::from(url);
        GoogleChatNotifier::new(kit.ctx("ops-chat"), GoogleChatConfig { webhook_url })
    }

    #[tokio::test]
    async fn posts_cards_into_the_job_thread() {
        let kit = Kit::start().await;
        let expected = render(&kit.event, kit.ctx("x").render);
        Mock::given(method("POST"))
            .and(path("/v1/spaces/AAA/messages"))
            .and(query_param("key", "SECRET-KEY"))
            .and(query_param(
                "messageReplyOption",
                "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
            ))
            .and(header("content-type", "application/json; charset=UTF-8"))
            .and(body_json(&expected))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "name": "spaces/AAA/messages/m1", "thread": {"name": "spaces/AAA/threads/t1"}
            })))
            .expect(1)
            .mount(&kit.server)
            .await;
        let receipt = notifier(&kit)
            .notify(&kit.event, kit.deadline())
            .await
            .unwrap();
        assert_eq!(receipt.detail, "spaces/AAA/messages/m1");
    }

    #[tokio::test]
    async fn a_card_google_refuses_as_invalid_argument_arrives_as_plain_text() {
        let refusal = ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": {
            "code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid JSON payload received. Unknown name \"cardsV2\""}}));
        let plain = |body: &[u8]| !String::from_utf8_lossy(body).contains("cardsV2");
        testkit::refused_rich_then_plain(|kit| Arc::new(notifier(kit)), refusal, plain).await;
    }

    #[tokio::test]
    async fn status_matrix() {
        testkit::status_matrix(
            |kit| Arc::new(notifier(kit)),
            &["SECRET-KEY", "SECRET-TOKEN"],
        )
        .await;
    }
}
