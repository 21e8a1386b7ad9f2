//! A one-shot import of the iPF Google Chat bot's registry (its `chatbots` table: partition key
//! `bot_id`, sort key `space_id`) into ours, so no space has to remove the bot and add it again.
//! Idempotent: a space already registered is kept as it is, so running it twice changes nothing.

use crate::ports::{Records, StoreError};
use crate::state::Space;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Spaces newly registered.
    pub added: Vec<String>,
    /// Spaces already registered, left alone.
    pub kept: Vec<String>,
}

/// Registers each of `space_ids` (`spaces/AAAA` or a bare `AAAA`) for `bot`.
pub async fn import_spaces(
    records: &dyn Records,
    bot: &str,
    space_ids: &[String],
) -> Result<Imported, StoreError> {
    let mut out = Imported::default();
    for id in space_ids {
        let id = id.trim();
        if id.is_empty() {
            continue;
        }
        let name = match id.starts_with("spaces/") {
            true => id.to_string(),
            false => format!("spaces/{id}"),
        };
        if out.added.contains(&name) || out.kept.contains(&name) {
            continue;
        }
        if Space::load(records, bot, &name).await?.is_some() {
            out.kept.push(name);
            continue;
        }
        let space = Space {
            added_by: Some("import from the iPF bot's chatbots table".into()),
            ..Space::default()
        };
        space.save(records, bot, &name).await?;
        out.added.push(name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryRecords;

    #[tokio::test]
    async fn ids_become_space_names_once_and_known_spaces_are_kept() {
        let records = MemoryRecords::default();
        Space::default()
            .save(&records, "opsbell", "spaces/KNOWN")
            .await
            .unwrap();
        let ids = ["AAA", "spaces/BBB", "spaces/KNOWN", "AAA", " "].map(String::from);
        let first = import_spaces(&records, "opsbell", &ids).await.unwrap();
        assert_eq!(first.added, ["spaces/AAA", "spaces/BBB"]);
        assert_eq!(first.kept, ["spaces/KNOWN"]);
        let again = import_spaces(&records, "opsbell", &ids).await.unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.kept.len(), 3);
    }
}
