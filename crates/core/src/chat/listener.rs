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
use crate::escalation::trigger::Today;
use crate::escalation::{ack, short_id};
use crate::http::Reply;
use crate::locale::Language;
use crate::oncall::mapping::Mapping;
use crate::oncall::settings::OncallSettings;
use crate::ports::{Files, Records, StoreError};
use crate::source::ParseError;
use crate::state::{
    self, DELIVERY_WINDOW, INCIDENT_WINDOW, Incident, RecentDelivery, RecentIncident, Status,
};

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
}

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
        let request = match crate::silence::parse(text) {
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

    /// Spaces, events delivered in the last 24 hours (the latest few), escalations this week.
    async fn status(&self, now: DateTime<Utc>) -> Result<String, StoreError> {
        let spaces = state::Space::names(self.records, self.bot).await?;
        let lang = self.language;
        let mut lines = vec![
            Say::Running {
                spaces: spaces.len(),
            }
            .text(lang),
        ];
        let deliveries = RecentDelivery::since(self.records, now - DELIVERY_WINDOW).await?;
        lines.push(
            Say::Delivered {
                n: deliveries.len(),
            }
            .text(lang),
        );
        for d in deliveries.iter().take(STATUS_LINES) {
            lines.push(format!(
                "• {} {} *{}* → {}",
                short_time(d.at),
                d.state,
                d.title,
                d.targets.join(", ")
            ));
        }
        let incidents = RecentIncident::since(self.records, now - INCIDENT_WINDOW).await?;
        lines.push(Say::Escalations { n: incidents.len() }.text(lang));
        for i in incidents.iter().take(STATUS_LINES) {
            let id = &short_id(&i.id);
            let state = match Incident::load(self.records, &i.id).await? {
                Some(incident) => match incident.status {
                    Status::Answered { number, .. } => {
                        Say::AnsweredBy { number: &number }.text(lang)
                    }
                    Status::Acked { by } => Say::AckedBy { by: &by }.text(lang),
                    Status::Calling => Say::Calling { id }.text(lang),
                    Status::Exhausted => Say::NobodyAnswered.text(lang),
                },
                None => Say::Expired.text(lang),
            };
            lines.push(format!(
                "• {} {} *{}* — {state}",
                short_time(i.at),
                id,
                i.title
            ));
        }
        Ok(lines.join("\n"))
    }

    /// Who is on call today: for `topic`, or, in mapping mode, for every topic of the mapping
    /// file (else the default rotation). The same plan a call would follow.
    async fn who(&self, topic: Option<&str>, now: DateTime<Utc>) -> String {
        let Some((settings, files)) = self.oncall else {
            return Say::OncallOff.text(self.language);
        };
        let topics: Vec<Option<String>> = match (topic, &settings.mapping_file) {
            (Some(t), _) => vec![Some(t.to_string())],
            (None, None) => vec![None],
            (None, Some(mapping)) => {
                let read = files.read(mapping).await;
                match read
                    .map_err(|e| e.to_string())
                    .and_then(|b| Mapping::parse(mapping, &b).map_err(|f| f.to_string()))
                {
                    Ok(m) => m
                        .entries
                        .into_iter()
                        .map(|e| Some(e.sns_topic_name))
                        .collect(),
                    Err(error) => {
                        return Say::MappingUnreadable { error: &error }.text(self.language);
                    }
                }
            }
        };
        let mut lines = Vec::new();
        for topic in &topics {
            let topic = topic.as_deref();
            let today = crate::escalation::trigger::today(settings, files, topic, now).await;
            let say = match &today {
                Today::OnCall {
                    day,
                    group,
                    numbers,
                } => Say::OnCallToday {
                    day: *day,
                    topic,
                    group,
                    numbers: &numbers.join(", "),
                }
                .text(self.language),
                Today::Gap { day, notice } => Say::NobodyScheduled {
                    day: *day,
                    topic,
                    notice,
                }
                .text(self.language),
                Today::Broken { day, finding } => Say::FilesNeedFixing {
                    day: *day,
                    topic,
                    finding,
                }
                .text(self.language),
            };
            lines.push(say);
        }
        lines.join("\n")
    }
}

/// Entries of each kind `status` lists.
const STATUS_LINES: usize = 5;

/// `2026-11-23 01:02 UTC`.
fn short_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests;
