//! The Google Chat bot's space registry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Key, save};
use crate::ports::{Records, StoreError};

/// The registry's name of a bot when none is configured: the chat-listener's `CHAT_BOT_NAME`
/// and a `google_chat_bot` channel's `bot` must agree.
pub const DEFAULT_BOT_NAME: &str = "opsbell";

/// A space the bot was added to (`SPACE#<bot>`, sort key the space's name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub added_by: Option<String>,
    #[serde(default)]
    pub added_at: Option<DateTime<Utc>>,
}

impl Space {
    /// The registry's partition of a bot.
    pub fn partition(bot: &str) -> String {
        format!("SPACE#{bot}")
    }

    /// The names of every registered space of `bot`, whatever their bodies say.
    pub async fn names(records: &dyn Records, bot: &str) -> Result<Vec<String>, StoreError> {
        let rows = records.list_records(&Self::partition(bot)).await?;
        Ok(rows.into_iter().map(|(space, _)| space).collect())
    }

    pub async fn save(
        &self,
        records: &dyn Records,
        bot: &str,
        space: &str,
    ) -> Result<(), StoreError> {
        save(records, &Key::new(Self::partition(bot), space), self, None).await
    }

    /// The row of `space`, if registered; an unreadable one counts as registered (never
    /// overwritten by a guess).
    pub async fn load(
        records: &dyn Records,
        bot: &str,
        space: &str,
    ) -> Result<Option<Space>, StoreError> {
        let key = Key::new(Self::partition(bot), space);
        let row = records.get_record(&key.pk, &key.sk).await?;
        Ok(row.map(|v| serde_json::from_value(v).unwrap_or_default()))
    }

    pub async fn forget(records: &dyn Records, bot: &str, space: &str) -> Result<(), StoreError> {
        records.delete_record(&Self::partition(bot), space).await
    }
}
