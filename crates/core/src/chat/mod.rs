//! The Google Chat bot: request verification and the listener (space registry, commands).

pub mod listener;
pub mod verify;

use verify::Audience;

/// The bot's settings, from the environment: `CHAT_PROJECT_NUMBER` (the app's Authentication
/// Audience is "Project Number") or `CHAT_ENDPOINT_URL` ("HTTP endpoint URL"), optional
/// `CHAT_KEYS_URL` (where Google's public keys are) and `CHAT_BOT_NAME` (the registry's key,
/// default `opsbell`). `None` when neither audience is set: the bot is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSettings {
    pub bot: String,
    pub audience: Audience,
    pub keys_url: Option<String>,
}

impl ChatSettings {
    pub fn from_env(env: &[(String, String)]) -> Option<ChatSettings> {
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let audience = match (get("CHAT_PROJECT_NUMBER"), get("CHAT_ENDPOINT_URL")) {
            (Some(p), _) => Audience::ProjectNumber(p),
            (None, Some(u)) => Audience::EndpointUrl(u),
            (None, None) => return None,
        };
        Some(ChatSettings {
            bot: get("CHAT_BOT_NAME").unwrap_or_else(|| "opsbell".into()),
            audience,
            keys_url: get("CHAT_KEYS_URL"),
        })
    }
}
