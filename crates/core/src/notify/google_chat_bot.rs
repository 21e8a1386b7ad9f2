//! The Google Chat bot as a target: every space it was added to (the registry the chat-listener
//! keeps), each space one delivery.
//!
//! A refusal must not wipe the registry. Google answers 404 for a deleted space (and for every
//! space when `api_base` is wrong), and 403 `PERMISSION_DENIED` both when the app was removed
//! from one space and when the project itself is refused (Chat API disabled, app not
//! configured, wrong scope), so:
//! - a 403 or 404 naming a project-level reason (`google.rpc.ErrorInfo.reason`, below, or "app
//!   not found") is a failure of the whole bot: ERROR, retried, then the DLQ;
//! - any other 403 or 404 forgets the space only when another space took the same event in the
//!   same run, which shows the app itself works (`fanout/spaces.rs`). Refusals from every space
//!   tried forget nothing. <https://cloud.google.com/apis/design/errors#error_info>
//!   <https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages/create>

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;
use tracing::{error, warn};

use super::chat_api::{CHAT_API, ChatApi, ServiceAccountKey, request_id};
use super::{AdapterContext, ChannelConfig, pretty};
use crate::event::Event;
use crate::ports::{NotifyError, Receipt, Records, Spaces, StoreError};
use crate::problem::Problems;
use crate::render::RenderOptions;
use crate::render::google_chat::render;
use crate::state::{DEFAULT_BOT_NAME, Space};

/// Spaces posted to at once, per event, unless configured.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// `{"type": "google_chat_bot", "service_account_key": "secretsmanager:…"}`: the bot posts to
/// every space it was added to, through the Chat API.
#[derive(Debug, Clone)]
pub struct GoogleChatBotConfig {
    /// The service account's key file; its private key signs the token requests.
    pub service_account_key: ServiceAccountKey,
    /// The registry's name of the bot: the chat-listener's `CHAT_BOT_NAME` (default `opsbell`).
    pub bot: String,
    pub api_base: String,
    /// Spaces posted to at once per event (default 8).
    pub concurrency: usize,
}

/// The channel as written: the key file's JSON, usually a `secretsmanager:` reference.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    service_account_key: String,
    #[serde(default)]
    bot: Option<String>,
    #[serde(default)]
    api_base: Option<String>,
    #[serde(default)]
    concurrency: Option<usize>,
}

impl GoogleChatBotConfig {
    /// Reads and checks the channel at `path`, reporting a bad key and every other problem at
    /// once, never quoting the key.
    pub fn read(value: Value, path: &str, p: &mut Problems) -> Option<GoogleChatBotConfig> {
        let before = p.0.len();
        let w: Written = p.parse(path, value)?;
        let key = ServiceAccountKey::parse(&w.service_account_key)
            .map_err(|m| p.push(format!("{path}.service_account_key"), m))
            .ok();
        if w.concurrency == Some(0) {
            p.push(format!("{path}.concurrency"), "must be at least 1");
        }
        let config = GoogleChatBotConfig {
            service_account_key: key?,
            bot: w.bot.unwrap_or_else(|| DEFAULT_BOT_NAME.to_string()),
            api_base: w.api_base.unwrap_or_else(|| CHAT_API.to_string()),
            concurrency: w.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        };
        (p.0.len() == before).then_some(config)
    }
}

impl ChannelConfig for GoogleChatBotConfig {
    const KIND: &'static str = "google_chat_bot";

    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self> {
        GoogleChatBotConfig::read(value, path, p)
    }

    fn preview(&self, event: &Event, opts: RenderOptions) -> String {
        let (api, bot) = (&self.api_base, &self.bot);
        let message = pretty(&render(event, opts));
        format!("POST {api}/v1/{{every space of bot {bot:?}}}/messages\n{message}")
    }

    /// A flood reaches every space: it is held back for digests per channel, before the
    /// spaces (the Chat API allows one write a second per space).
    fn floods(&self) -> bool {
        true
    }
}

/// `ErrorInfo` reasons that refuse the project or its credentials, never one space.
/// <https://cloud.google.com/apis/design/errors#error_info>
const PROJECT_REASONS: [&str; 9] = [
    "SERVICE_DISABLED",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
    "ACCESS_TOKEN_TYPE_UNSUPPORTED",
    "CONSUMER_INVALID",
    "CONSUMER_SUSPENDED",
    "BILLING_DISABLED",
    "IAM_PERMISSION_DENIED",
    "USER_PROJECT_DENIED",
    "API_KEY_SERVICE_BLOCKED",
];

/// What a refused post says about the space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The space is gone (deleted): forget it.
    SpaceGone,
    /// The project or app is refused: every space would be; keep the registry.
    Project(String),
    /// 403 without a project reason: the app was removed from the space, or the whole app is
    /// refused; told apart by whether other spaces took the event.
    Unclear,
}

impl Refusal {
    /// How Google's answer `status` with error text `detail` is read; `None` if not a refusal.
    pub fn of(status: u16, detail: &str) -> Option<Refusal> {
        let project = PROJECT_REASONS.iter().find(|r| detail.contains(*r));
        match status {
            403 | 404 if project.is_some() => project.map(|r| Refusal::Project(r.to_string())),
            404 if detail.to_ascii_lowercase().contains("app not found") => {
                Some(Refusal::Project("the Chat app is not configured".into()))
            }
            404 => Some(Refusal::SpaceGone),
            403 => Some(Refusal::Unclear),
            _ => None,
        }
    }
}

/// The Google Chat bot as a destination: one post per registered space.
pub struct GoogleChatBotNotifier {
    api: ChatApi,
    /// The registry's name of the bot (`SPACE#<bot>`), as the chat-listener writes it.
    bot: String,
    concurrency: usize,
    records: Arc<dyn Records>,
}

impl GoogleChatBotNotifier {
    /// `registry` holds the spaces the chat-listener registered (`SPACE#<bot>`).
    pub fn new(
        ctx: AdapterContext,
        config: GoogleChatBotConfig,
        registry: Arc<dyn Records>,
    ) -> Self {
        GoogleChatBotNotifier {
            records: registry,
            api: ChatApi::new(ctx, config.service_account_key, &config.api_base),
            bot: config.bot,
            concurrency: config.concurrency.max(1),
        }
    }
}

#[async_trait::async_trait]
impl Spaces for GoogleChatBotNotifier {
    async fn spaces(&self) -> Result<Vec<String>, StoreError> {
        Space::names(self.records.as_ref(), &self.bot).await
    }

    /// Posts `event` to `space`. A refusal of the project is retryable (it posted nothing, and
    /// fixing the project fixes it); a 403 or 404 of the space stays a permanent refusal, for
    /// the fan-out to judge against the other spaces (`fanout/spaces.rs`).
    async fn post(
        &self,
        space: &str,
        event: &Event,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError> {
        let message = render(event, self.api.context().render);
        let id = request_id(&event.key.to_string(), space);
        let result = self
            .api
            .create_message(space, &message, &id, deadline)
            .await;
        let Err(NotifyError::Permanent {
            status,
            detail,
            attempts,
        }) = result
        else {
            return result;
        };
        if let Some(Refusal::Project(reason)) = Refusal::of(status, &detail) {
            error!(space, bot = %self.bot, status, %reason,
                "Google refuses the Chat app itself; the spaces are kept. Check the Chat API and the app's configuration in its Cloud project.");
            return Err(NotifyError::Retryable {
                detail: format!("HTTP {status} ({reason}): {detail}"),
                attempts,
                retry_after: None,
            });
        }
        Err(NotifyError::Permanent {
            status,
            detail,
            attempts,
        })
    }

    async fn post_plain(
        &self,
        space: &str,
        event: &Event,
        refusal: NotifyError,
        deadline: Instant,
    ) -> Option<Result<Receipt, NotifyError>> {
        if !super::malformed(&refusal, &[super::google_chat::MALFORMED]) {
            return None;
        }
        let message = crate::render::google_chat::plain(event, self.api.context().render);
        let id = request_id(&format!("{}#plain", event.key), space);
        Some(
            self.api
                .create_message(space, &message, &id, deadline)
                .await,
        )
    }

    async fn forget(&self, space: &str) {
        if let Err(e) = Space::forget(self.records.as_ref(), &self.bot, space).await {
            warn!(space, error = %e, "Could not forget the space; it stays registered.");
        }
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}

#[cfg(test)]
mod tests {
    use super::Refusal;

    #[test]
    fn refusals_are_read_by_status_and_reason() {
        let cases = [
            (
                404,
                "NOT_FOUND: Requested entity was not found.",
                Some(Refusal::SpaceGone),
            ),
            (
                404,
                "NOT_FOUND: Google Chat app not found. To create a Chat app, …",
                Some(Refusal::Project("the Chat app is not configured".into())),
            ),
            (
                403,
                "PERMISSION_DENIED SERVICE_DISABLED: Google Chat API has not been used …",
                Some(Refusal::Project("SERVICE_DISABLED".into())),
            ),
            (
                403,
                "PERMISSION_DENIED ACCESS_TOKEN_SCOPE_INSUFFICIENT: …",
                Some(Refusal::Project("ACCESS_TOKEN_SCOPE_INSUFFICIENT".into())),
            ),
            (
                403,
                "PERMISSION_DENIED: The caller does not have permission",
                Some(Refusal::Unclear),
            ),
            (400, "INVALID_ARGUMENT: bad card", None),
        ];
        for (status, detail, expected) in cases {
            assert_eq!(Refusal::of(status, detail), expected, "{status} {detail}");
        }
    }
}
