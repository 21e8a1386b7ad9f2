//! Chatwork API v2, post a message.
//! <https://developer.chatwork.com/reference/post-rooms-room_id-messages>
//!
//! `POST {api}/v2/rooms/{room_id}/messages`, token in `X-ChatWorkToken`, `body` as a form field
//! (the predecessor put it in the query string); 200 `{"message_id": "…"}`; 429 past a
//! per-token limit over five minutes (300 requests, reported in `x-ratelimit-*` headers,
//! <https://developer.chatwork.com/docs/endpoints>, checked 2026-12-01); posting into one room is
//! throttled further (about 10 messages per 10 seconds, reported, not documented). So a room gets
//! one post at a time, a second apart, and floods become digests.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use serde_json::Value;

use super::{AdapterContext, ChannelConfig};
use crate::event::Event;
use crate::http::send_with_retry;
use crate::ports::{Notifier, NotifyError, Receipt};
use crate::problem::{Problems, de_id};
use crate::render::RenderOptions;
use crate::render::chatwork::render;

pub const TOKEN_HEADER: &str = "X-ChatWorkToken";
pub const CHATWORK_API: &str = "https://api.chatwork.com";

/// `{"type": "chatwork", "api_token": "…", "room_id": 123}` (`api_base` for tests).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatworkConfig {
    pub api_token: SecretString,
    #[serde(deserialize_with = "de_id")]
    pub room_id: String,
    #[serde(default = "chatwork_api")]
    pub api_base: String,
}

fn chatwork_api() -> String {
    CHATWORK_API.to_string()
}

impl ChatworkConfig {
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.required(self.api_token.expose_secret(), &format!("{path}.api_token"));
        p.required(&self.room_id, &format!("{path}.room_id"));
    }

    /// Where a message is posted.
    pub fn messages_url(&self) -> String {
        let base = self.api_base.trim_end_matches('/');
        format!("{base}/v2/rooms/{}/messages", self.room_id)
    }
}

impl ChannelConfig for ChatworkConfig {
    const KIND: &'static str = "chatwork";

    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self> {
        p.read(path, value, Self::validate)
    }

    fn preview(&self, event: &Event, opts: RenderOptions) -> String {
        let body = render(event, opts);
        let room = &self.room_id;
        format!("POST /v2/rooms/{room}/messages\nbody:\n{body}\nself_unread: 0")
    }

    fn floods(&self) -> bool {
        true
    }

    fn spacing(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(1))
    }
}

pub struct ChatworkNotifier {
    ctx: AdapterContext,
    api_token: SecretString,
    url: String,
}

impl ChatworkNotifier {
    pub fn new(ctx: AdapterContext, config: ChatworkConfig) -> Self {
        ChatworkNotifier {
            ctx,
            url: config.messages_url(),
            api_token: config.api_token,
        }
    }
}

#[derive(serde::Deserialize)]
struct Posted {
    #[serde(default, deserialize_with = "de_id")]
    message_id: String,
}

#[async_trait]
impl Notifier for ChatworkNotifier {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError> {
        self.post(&render(event, self.ctx.render), deadline).await
    }

    /// Chatwork answers 400 for a body it cannot take (too long, say).
    async fn notify_plain(
        &self,
        event: &Event,
        refusal: NotifyError,
        deadline: Instant,
    ) -> Option<Result<Receipt, NotifyError>> {
        let plain = crate::render::chatwork::plain(event, self.ctx.render);
        if !super::malformed(&refusal, &[]) {
            return None;
        }
        Some(self.post(&plain, deadline).await)
    }
}

impl ChatworkNotifier {
    async fn post(&self, body: &str, deadline: Instant) -> Result<Receipt, NotifyError> {
        let form = [("body", body), ("self_unread", "0")];
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            self.ctx
                .http
                .post(&self.url)
                .header(TOKEN_HEADER, self.api_token.expose_secret())
                .form(&form)
        })
        .await?;
        let id = serde_json::from_str::<Posted>(&sent.body)
            .map(|p| p.message_id)
            .unwrap_or_default();
        Ok(Receipt {
            detail: id,
            attempts: sent.attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wiremock::matchers::{body_string, header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    use super::*;
    use crate::notify::testkit::{self, Kit};

    fn notifier(kit: &Kit) -> ChatworkNotifier {
        let config = ChatworkConfig {
            api_token: SecretString::from("SECRET-CW"),
            room_id: "42".into(),
            api_base: kit.base.clone(),
        };
        ChatworkNotifier::new(kit.ctx("ops-cw"), config)
    }

    #[tokio::test]
    async fn posts_body_as_a_form_field_with_the_token_header() {
        let kit = Kit::start().await;
        let text = render(&kit.event, kit.ctx("x").render);
        let form = serde_urlencoded_body(&text);
        Mock::given(method("POST"))
            .and(path("/v2/rooms/42/messages"))
            .and(header("x-chatworktoken", "SECRET-CW"))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string(form))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"message_id": "1234"})),
            )
            .expect(1)
            .mount(&kit.server)
            .await;
        let receipt = notifier(&kit)
            .notify(&kit.event, kit.deadline())
            .await
            .unwrap();
        assert_eq!(receipt.detail, "1234");
    }

    fn serde_urlencoded_body(text: &str) -> String {
        let req = reqwest::Client::new()
            .post("http://x/")
            .form(&[("body", text), ("self_unread", "0")])
            .build()
            .unwrap();
        String::from_utf8(req.body().unwrap().as_bytes().unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn status_matrix() {
        testkit::status_matrix(|kit| Arc::new(notifier(kit)), &["SECRET-CW"]).await;
    }
}
