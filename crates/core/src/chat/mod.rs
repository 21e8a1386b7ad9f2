//! The Google Chat bot: request verification and the listener (space registry, commands).

pub mod import;
pub mod listener;
mod replies;
pub mod verify;

use verify::Audience;

use crate::problem::{EnvVars, Problem, Problems};
use crate::state::DEFAULT_BOT_NAME;

/// The bot's settings, from the environment: `CHAT_PROJECT_NUMBER` (the app's Authentication
/// Audience is "Project Number") or `CHAT_ENDPOINT_URL` ("HTTP endpoint URL"), optional
/// `CHAT_KEYS_URL` (where Google's public keys are) and `CHAT_BOT_NAME` (the registry's key,
/// default `opsbell`). `None` when neither audience is set: the bot is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSettings {
    pub bot: String,
    pub audience: Audience,
    pub keys_url: Option<String>,
    /// The replies' language: `CHAT_LANGUAGE`, else the deployment's `language`; English by
    /// default.
    pub language: crate::locale::Language,
    /// The longest `silence` the bot accepts: `SILENCE_MAX`, else 30 days.
    pub silence_max: chrono::Duration,
}

impl ChatSettings {
    /// The settings when the bot is on (`CHAT_PROJECT_NUMBER` or `CHAT_ENDPOINT_URL` set),
    /// `None` when it is off, every problem when a value cannot be right (every request would be
    /// refused).
    pub fn from_env(env: &[(String, String)]) -> Result<Option<ChatSettings>, Vec<Problem>> {
        let vars = EnvVars(env);
        let mut p = Problems::default();
        let audience = match (
            vars.get("CHAT_PROJECT_NUMBER"),
            vars.get("CHAT_ENDPOINT_URL"),
        ) {
            (Some(number), _) => {
                if !number.chars().all(|c| c.is_ascii_digit()) {
                    let message = format!(
                        "{number:?} is not a project number (the digits of the Cloud project, not its id)"
                    );
                    p.push("CHAT_PROJECT_NUMBER", message);
                }
                Audience::ProjectNumber(number)
            }
            (None, Some(url)) => {
                p.url(&url, "CHAT_ENDPOINT_URL");
                Audience::EndpointUrl(url)
            }
            (None, None) => return Ok(None),
        };
        let keys_url = vars.get("CHAT_KEYS_URL");
        let language = match vars.get("CHAT_LANGUAGE").or_else(|| vars.get("language")) {
            None => crate::locale::Language::En,
            Some(code) => crate::locale::Language::parse(&code).unwrap_or_else(|| {
                p.push("CHAT_LANGUAGE", format!("{code:?} is not en, ja or ko"));
                crate::locale::Language::En
            }),
        };
        let silence_max = crate::silence::max_length(env).unwrap_or_else(|e| {
            p.push("SILENCE_MAX", e);
            chrono::Duration::zero()
        });
        if let Some(url) = &keys_url {
            p.url(url, "CHAT_KEYS_URL");
        }
        if !p.0.is_empty() {
            return Err(p.0);
        }
        Ok(Some(ChatSettings {
            bot: vars
                .get("CHAT_BOT_NAME")
                .unwrap_or_else(|| DEFAULT_BOT_NAME.into()),
            audience,
            keys_url,
            language,
            silence_max,
        }))
    }
}
