//! The Google Chat bot endpoint: verify the request, keep the space registry
//! (`SPACE#<bot>` / `spaces/…`), answer commands. Shared by the `chat-listener` Lambda and
//! `opsbell serve`. User mistakes are answered in chat with 200, never a 5xx.
//! <https://developers.google.com/workspace/chat/api/reference/rest/v1/Event>

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use super::replies::Say;
use super::verify::ChatVerifier;
use crate::access::{Access, Who};
use crate::escalation::{ack, short_id};
use crate::http::Reply;
use crate::locale::Language;
use crate::oncall::settings::OncallSettings;
use crate::ports::{Files, Records, StoreError};
use crate::source::ParseError;
use crate::state;

#[derive(Debug, Deserialize)]
/// An interaction event as Google posts it (the fields the bot uses).
pub struct ChatEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub space: Option<Space>,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Space {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub space_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub argument_text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// The commands that act, for responders only (`access`); the others read.
const ACTIONS: [&str; 3] = ["ack", "silence", "unsilence"];

/// Reads an interaction event; the error names the field that is wrong.
pub fn parse_event(body: &[u8]) -> Result<ChatEvent, ParseError> {
    ParseError::from_json(body)
}

/// What the listener needs.
pub struct ChatListener<'a> {
    pub bot: &'a str,
    pub verifier: &'a ChatVerifier,
    pub records: &'a dyn Records,
    /// For `oncall`: the caller's settings and rotation files, when this deployment has them.
    pub oncall: Option<(&'a OncallSettings, &'a dyn Files)>,
    /// What the bot's replies are written in.
    pub language: Language,
    /// The longest silence it accepts ([`crate::chat::ChatSettings::silence_max`]).
    pub silence_max: chrono::Duration,
    /// Who may ack, silence and unsilence (`access`).
    pub access: &'a Access,
}

impl ChatListener<'_> {
    pub async fn handle(
        &self,
        authorization: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Reply {
        if let Err(e) = self.verifier.verify(authorization).await {
            warn!(reason = %e, "Chat request refused.");
            return Reply {
                status: 401,
                body: json!({ "error": e.to_string() }),
            };
        }
        let event = match parse_event(body) {
            Ok(e) => e,
            Err(e) => {
                return Reply {
                    status: 400,
                    body: json!({ "error": "malformed event", "field": e.path }),
                };
            }
        };
        match self.dispatch(event, now).await {
            Ok(body) => Reply { status: 200, body },
            Err(e) => {
                // The store failed: tell the user in chat; Google shows a 5xx as a broken app.
                warn!(error = %e, "Chat command failed.");
                Reply {
                    status: 200,
                    body: json!({ "text": Say::Failed { error: &e.to_string() }.text(self.language) }),
                }
            }
        }
    }

    async fn dispatch(&self, event: ChatEvent, now: DateTime<Utc>) -> Result<Value, StoreError> {
        let space = event.space.as_ref();
        match (event.kind.as_str(), space) {
            ("ADDED_TO_SPACE", Some(space)) => {
                self.register(space, event.user.as_ref(), now).await?;
                info!(space = %space.name, "Added to a space.");
                let name = space.display_name.as_deref().unwrap_or("this space");
                Ok(json!({ "text": Say::Added { space: name }.text(self.language) }))
            }
            ("REMOVED_FROM_SPACE", Some(space)) => {
                state::Space::forget(self.records, self.bot, &space.name).await?;
                info!(space = %space.name, "Removed from a space.");
                Ok(json!({}))
            }
            ("MESSAGE", _) => {
                // The iPF bot registered a space on every message as well: a space it was added
                // to before opsbell took over is registered by its first message.
                if let Some(space) = space
                    && state::Space::load(self.records, self.bot, &space.name)
                        .await?
                        .is_none()
                {
                    self.register(space, event.user.as_ref(), now).await?;
                    info!(space = %space.name, "Registered a space from its first message.");
                }
                let text = event
                    .message
                    .as_ref()
                    .and_then(|m| m.argument_text.clone().or_else(|| m.text.clone()))
                    .unwrap_or_default();
                let user = event.user.as_ref();
                let by = user
                    .and_then(|u| u.display_name.clone().or_else(|| u.name.clone()))
                    .unwrap_or_else(|| "someone".into());
                let verb = text.split_whitespace().next().unwrap_or_default();
                let verb = verb.to_ascii_lowercase();
                if ACTIONS.contains(&verb.as_str()) {
                    let who = Who {
                        email: user.and_then(|u| u.email.as_deref()),
                        chat_user: user.and_then(|u| u.name.as_deref()),
                    };
                    let space = space.map(|s| s.name.as_str());
                    if let Err(why) = self.access.may_act(&who, space) {
                        warn!(
                            verb,
                            by,
                            email = who.email,
                            user = who.chat_user,
                            space,
                            ?why,
                            "Chat action refused: not a responder here."
                        );
                        let say = Say::NotAllowed { verb: &verb, why };
                        return Ok(json!({ "text": say.text(self.language) }));
                    }
                    info!(
                        verb,
                        by,
                        email = who.email,
                        user = who.chat_user,
                        space,
                        "Chat action by a responder."
                    );
                }
                Ok(json!({ "text": self.command(text.trim(), &by, now).await? }))
            }
            _ => Ok(json!({})),
        }
    }

    /// Records `space` in the registry, so alarms are posted there.
    async fn register(
        &self,
        space: &Space,
        user: Option<&User>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = state::Space {
            display_name: space.display_name.clone(),
            kind: space.space_type.clone().or_else(|| space.kind.clone()),
            added_by: user.and_then(|u| u.name.clone()),
            added_at: Some(now),
        };
        row.save(self.records, self.bot, &space.name).await
    }

    async fn command(
        &self,
        text: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let mut words = text.split_whitespace();
        let verb = words.next().unwrap_or_default().to_ascii_lowercase();
        Ok(match verb.as_str() {
            // The rest of the text names the incident: its short id, or its full id however
            // many words it has (a CloudWatch alarm name with spaces).
            "ack" => match words.collect::<Vec<_>>().join(" ") {
                reference if reference.is_empty() => Say::AckWhich.text(self.language),
                reference => match ack(self.records, &reference, by, now).await {
                    Ok(Some(id)) => Say::Acked {
                        id: &short_id(&id),
                        by,
                    }
                    .text(self.language),
                    Ok(None) => Say::NoEscalation { id: &reference }.text(self.language),
                    Err(e) => return Err(StoreError(e.to_string())),
                },
            },
            "status" => self.status(now).await?,
            "silence" => {
                let rest: Vec<&str> = words.collect();
                self.silence(&rest.join(" "), by, now).await?
            }
            "silences" => {
                let all = crate::silence::Silence::all(self.records, now).await?;
                let mut lines = vec![Say::Silences { n: all.len() }.text(self.language)];
                lines.extend(
                    all.iter()
                        .map(|s| format!("• {}", crate::silence::line(s, now))),
                );
                lines.join("\n")
            }
            "unsilence" => {
                let id = words.next().unwrap_or_default();
                match crate::silence::expire(self.records, id, now).await? {
                    Some(_) => Say::Unsilenced { id }.text(self.language),
                    None => Say::NoSilence { id }.text(self.language),
                }
            }
            "oncall" => self.who(words.next(), now).await,
            _ => Say::Help.text(self.language),
        })
    }

    /// `silence <matchers> for 2h "why"`.
    async fn silence(
        &self,
        text: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let request = match crate::silence::parse(text, self.silence_max) {
            Ok(r) => r,
            Err(why) => return Ok(Say::SilenceRefused { why: &why }.text(self.language)),
        };
        let s = crate::silence::add(self.records, request, by, now).await?;
        let until = short_time(s.ends_at);
        let what = crate::silence::what(&s);
        Ok(Say::Silenced {
            id: &s.id,
            until: &until,
            what: &what,
        }
        .text(self.language))
    }
}

mod status;

use status::short_time;

#[cfg(test)]
mod tests;
