//! The Google Chat bot as a target: every space it was added to (the registry the chat-listener
//! keeps), each space one delivery. Spaces that answer 403/404 (the app was removed, the space
//! deleted) are forgotten.

use std::sync::Arc;

use tokio::time::Instant;
use tracing::warn;

use super::chat_api::{ChatApi, request_id};
use crate::chat::listener::spaces_key;
use crate::event::Event;
use crate::ports::{NotifyError, Receipt, Records, StoreError};
use crate::render::google_chat::render;

/// Spaces posted to at once, per event, unless configured.
pub const DEFAULT_CONCURRENCY: usize = 8;

pub struct ChatBot {
    pub api: ChatApi,
    /// The registry's name of the bot (`SPACE#<bot>`), as the chat-listener writes it.
    pub bot: String,
    pub concurrency: usize,
    pub records: Arc<dyn Records>,
}

impl ChatBot {
    /// The registered spaces, by name.
    pub async fn spaces(&self) -> Result<Vec<String>, StoreError> {
        let records = self.records.list_records(&spaces_key(&self.bot)).await?;
        Ok(records.into_iter().map(|(space, _)| space).collect())
    }

    /// Posts `event` to `space`; forgets the space when Google says it is gone.
    pub async fn post(
        &self,
        space: &str,
        event: &Event,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError> {
        let message = render(event, self.api.context().render);
        let id = request_id(&event.key.to_string(), space);
        match self
            .api
            .create_message(space, &message, &id, deadline)
            .await
        {
            Err(NotifyError::Permanent {
                status: status @ (403 | 404),
                attempts,
                ..
            }) => {
                warn!(space, bot = %self.bot, status, "The bot is no longer in this space; forgetting it.");
                if let Err(e) = self
                    .records
                    .delete_record(&spaces_key(&self.bot), space)
                    .await
                {
                    warn!(space, error = %e, "Could not forget the space; it stays registered.");
                }
                Err(NotifyError::Gone {
                    detail: format!("HTTP {status}: the bot is not in {space}; forgotten"),
                    attempts,
                })
            }
            result => result,
        }
    }
}
