//! Microsoft Teams, through a Teams Workflow: "When a Teams webhook request is received" →
//! "Post card in a chat or channel". Office 365 connectors are retired; a workflow takes
//! Adaptive Cards only ([`crate::render::teams`]).
//! <https://support.microsoft.com/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498>
//!
//! `POST` JSON to the workflow's URL (its `sig` is the credential); the trigger answers 202
//! once it took the request, and the card is posted by the flow afterwards. The Teams
//! connector allows 100 calls per connection per 60 s
//! (<https://learn.microsoft.com/en-us/connectors/teams/#limits>): a workflow gets one post at
//! a time, a second apart, floods become digests, and a 429 is waited out (`Retry-After`).

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;

use super::{AdapterContext, ChannelConfig, pretty};
use crate::event::Event;
use crate::http::send_with_retry;
use crate::ports::{Notifier, NotifyError, Receipt};
use crate::problem::Problems;
use crate::render::RenderOptions;
use crate::render::teams::{plain, render};

/// `{"type": "teams", "webhook_url": "https://….logic.azure.com/workflows/…"}`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    pub webhook_url: SecretString,
}

impl TeamsConfig {
    pub fn validate(&self, path: &str, p: &mut Problems) {
        let url = self.webhook_url.expose_secret();
        p.url(url, &format!("{path}.webhook_url"));
        if url.contains(".webhook.office.com/") {
            p.push(
                format!("{path}.webhook_url"),
                "an Office 365 connector URL: Microsoft retired those; create a Teams Workflow (\"When a Teams webhook request is received\") and use its URL".to_string(),
            );
        }
    }
}

impl ChannelConfig for TeamsConfig {
    const KIND: &'static str = "teams";

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

pub struct TeamsNotifier {
    ctx: AdapterContext,
    webhook_url: SecretString,
}

impl TeamsNotifier {
    pub fn new(ctx: AdapterContext, config: TeamsConfig) -> Self {
        TeamsNotifier {
            ctx,
            webhook_url: config.webhook_url,
        }
    }

    async fn post(&self, payload: &Value, deadline: Instant) -> Result<Receipt, NotifyError> {
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            (self.ctx.http)
                .post(self.webhook_url.expose_secret())
                .json(payload)
        })
        .await?;
        Ok(Receipt {
            detail: format!("HTTP {}", sent.status),
            attempts: sent.attempts,
        })
    }
}

#[async_trait]
impl Notifier for TeamsNotifier {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError> {
        self.post(&render(event, self.ctx.render), deadline).await
    }

    /// A workflow answers 400 (or 413) for a card it cannot take.
    async fn notify_plain(
        &self,
        event: &Event,
        refusal: NotifyError,
        deadline: Instant,
    ) -> Option<Result<Receipt, NotifyError>> {
        if !super::malformed(&refusal, &[]) {
            return None;
        }
        Some(self.post(&plain(event, self.ctx.render), deadline).await)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::*;
    use crate::notify::testkit::{self, Kit};

    fn notifier(kit: &Kit) -> TeamsNotifier {
        let url = format!(
            "{}/workflows/abc/triggers/manual/paths/invoke?sig=SECRET-SIG",
            kit.base
        );
        let webhook_url = SecretString::from(url);
        TeamsNotifier::new(kit.ctx("ops-teams"), TeamsConfig { webhook_url })
    }

    #[tokio::test]
    async fn posts_the_adaptive_card_and_takes_202() {
        let kit = Kit::start().await;
        let expected = render(&kit.event, kit.ctx("x").render);
        assert_eq!(expected["attachments"][0]["content"]["version"], "1.4");
        Mock::given(method("POST"))
            .and(path("/workflows/abc/triggers/manual/paths/invoke"))
            .and(body_json(&expected))
            .respond_with(ResponseTemplate::new(202))
            .expect(1)
            .mount(&kit.server)
            .await;
        let receipt = notifier(&kit)
            .notify(&kit.event, kit.deadline())
            .await
            .unwrap();
        assert_eq!(receipt.detail, "HTTP 202");
    }

    #[tokio::test]
    async fn status_matrix() {
        testkit::status_matrix(|kit| Arc::new(notifier(kit)), &["SECRET-SIG"]).await;
    }

    #[tokio::test]
    async fn a_card_the_workflow_refuses_arrives_as_plain_text() {
        let refusal = ResponseTemplate::new(400)
            .set_body_string(r#"{"error":{"code":"BadRequest","message":"InvalidParameter"}}"#);
        let plain = |body: &[u8]| !String::from_utf8_lossy(body).contains("FactSet");
        testkit::refused_rich_then_plain(|kit| Arc::new(notifier(kit)), refusal, plain).await;
    }

    #[test]
    fn an_office_365_connector_url_says_what_replaced_it() {
        let mut p = Problems::default();
        let config = TeamsConfig {
            webhook_url: SecretString::from(
                "https://acme.webhook.office.com/webhookb2/x".to_string(),
            ),
        };
        config.validate("channels.teams", &mut p);
        assert!(p.0[0].message.contains("Teams Workflow"), "{:?}", p.0);
    }
}
