//! Slack incoming webhooks. <https://api.slack.com/messaging/webhooks>
//!
//! `POST` JSON to the webhook URL (itself the credential); 200 `ok` on success; 429 with
//! `Retry-After` at about one message per second per webhook ("Incoming webhooks: 1 per second,
//! short bursts allowed", <https://api.slack.com/apis/rate-limits>, checked 2026-12-01). So a
//! webhook gets one post at a time, a second apart, and floods become digests.

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
use crate::render::slack::render;

/// `{"type": "slack", "webhook_url": "https://hooks.slack.com/services/…"}`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    pub webhook_url: SecretString,
}

impl SlackConfig {
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.url(
            self.webhook_url.expose_secret(),
            &format!("{path}.webhook_url"),
        );
    }
}

impl ChannelConfig for SlackConfig {
    const KIND: &'static str = "slack";

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

pub struct SlackNotifier {
    ctx: AdapterContext,
    webhook_url: SecretString,
    /// The URL parsed once, not per post (it is the credential: never logged, no `Debug`).
    parsed: Option<reqwest::Url>,
}

impl SlackNotifier {
    pub fn new(ctx: AdapterContext, config: SlackConfig) -> Self {
        SlackNotifier {
            ctx,
            parsed: reqwest::Url::parse(config.webhook_url.expose_secret()).ok(),
            webhook_url: config.webhook_url,
        }
    }
}

/// What Slack answers for a message it cannot take as built.
/// <https://api.slack.com/messaging/webhooks#handling_errors>
const MALFORMED: [&str; 4] = [
    "invalid_blocks",
    "invalid_attachments",
    "invalid_payload",
    "invalid_blocks_format",
];

#[async_trait]
impl Notifier for SlackNotifier {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError> {
        self.post(&render(event, self.ctx.render), deadline).await
    }

    async fn notify_plain(
        &self,
        event: &Event,
        refusal: NotifyError,
        deadline: Instant,
    ) -> Option<Result<Receipt, NotifyError>> {
        let plain = crate::render::slack::plain(event, self.ctx.render);
        if !super::malformed(&refusal, &MALFORMED) {
            return None;
        }
        Some(self.post(&plain, deadline).await)
    }
}

impl SlackNotifier {
    async fn post(
        &self,
        payload: &impl serde::Serialize,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError> {
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            let request = match &self.parsed {
                Some(url) => self.ctx.http.post(url.clone()),
                // Unparseable: reqwest refuses it as before, and the error leaves the URL out.
                None => self.ctx.http.post(self.webhook_url.expose_secret()),
            };
            request.json(payload)
        })
        .await?;
        Ok(Receipt {
            detail: sent.body.trim().to_string(),
            attempts: sent.attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::*;
    use crate::notify::testkit::{self, Kit};

    fn notifier(kit: &Kit) -> SlackNotifier {
        let url = format!("{}/services/T0/B0/SECRET-HOOK", kit.base);
        let webhook_url = SecretString::from(url);
        SlackNotifier::new(kit.ctx("ops-slack"), SlackConfig { webhook_url })
    }

    #[tokio::test]
    async fn posts_the_rendered_message() {
        let kit = Kit::start().await;
        let expected = render(&kit.event, kit.ctx("x").render);
        Mock::given(method("POST"))
            .and(path("/services/T0/B0/SECRET-HOOK"))
            .and(body_json(&expected))
            .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
            .expect(1)
            .mount(&kit.server)
            .await;
        let receipt = notifier(&kit)
            .notify(&kit.event, kit.deadline())
            .await
            .unwrap();
        assert_eq!(
            receipt,
            Receipt {
                detail: "ok".into(),
                attempts: 1
            }
        );
    }

    #[tokio::test]
    async fn status_matrix() {
        testkit::status_matrix(|kit| Arc::new(notifier(kit)), &["SECRET-HOOK"]).await;
    }

    #[tokio::test]
    async fn a_message_slack_refuses_as_invalid_blocks_arrives_as_plain_text() {
        let refusal = ResponseTemplate::new(400).set_body_string("invalid_blocks");
        let plain = |body: &[u8]| !String::from_utf8_lossy(body).contains("attachments");
        testkit::refused_rich_then_plain(|kit| Arc::new(notifier(kit)), refusal, plain).await;
    }
}
