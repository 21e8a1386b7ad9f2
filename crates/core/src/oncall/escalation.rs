//! The escalation as a state machine: each invocation does one step, so no Lambda sleeps for
//! minutes and a retried invocation never dials twice. `start` places the first call, schedules
//! its check and records the incident; a delayed [`Check`] later asks whether it was answered and
//! either records who answered or places the next call. An `ack` from chat stops it between steps. After the last
//! call (the fallback number comes last), a "nobody answered" event goes to chat.
//!
//! Idempotency: the incident record is keyed by the alarm's SNS `MessageId`, so a duplicated
//! delivery finds it and does nothing; a check for a step that is no longer current is ignored,
//! one for a step not yet recorded comes back later; each call carries
//! `ClientToken = sha256(incident, step)`, so a retried dial is the same call. The acceptance
//! suite kills the caller at each of its side effects in turn (tests/tests/oncall.rs).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{error, info, warn};

use super::plan::Call;
use crate::event::{Event, Source, State};
use crate::ports::{Queue, QueueError, Records, StoreError};

/// Days an incident record is kept.
const INCIDENT_TTL_DAYS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum EscalationError {
    #[error("dialer: {0}")]
    Dial(String),
    #[error("check queue: {0}")]
    Schedule(String),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// A check arrived before the record of its step was saved; it must come back later.
    #[error("incident {incident} is not at step {step} yet")]
    NotYet { incident: String, step: usize },
}

/// Places calls and reads whether they were answered (Amazon Connect, or a dry run).
#[async_trait]
pub trait Dialer: Send + Sync {
    /// Calls `number` to play `message`; `token` makes a retried call the same call.
    async fn dial(
        &self,
        number: &str,
        message: &str,
        token: &str,
    ) -> Result<String, EscalationError>;
    /// Whether the callee confirmed (the contact flow set the answer attribute to "true").
    async fn answered(&self, contact_id: &str) -> Result<bool, EscalationError>;
}

/// Never dials; for dry runs (every step is logged and the plan told to chat instead).
pub struct DryRunDialer;

#[async_trait]
impl Dialer for DryRunDialer {
    async fn dial(
        &self,
        number: &str,
        _message: &str,
        _token: &str,
    ) -> Result<String, EscalationError> {
        Err(EscalationError::Dial(format!(
            "dry run: {number} not called"
        )))
    }

    async fn answered(&self, _contact_id: &str) -> Result<bool, EscalationError> {
        Ok(false)
    }
}

/// Delivers a [`Check`] after a delay (SQS `DelaySeconds`; a timer locally).
#[async_trait]
pub trait CheckQueue: Send + Sync {
    async fn schedule(&self, check: &Check, delay: Duration) -> Result<(), EscalationError>;
}

/// "Start an escalation for this": what an `oncall` route target sends to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    /// Keys the incident: the event key, so a redelivered event starts nothing twice.
    pub id: String,
    pub title: String,
    pub message: String,
}

/// The start of an escalation for an event routed to an `oncall` channel.
pub fn start_of(event: &Event) -> Start {
    let info = event
        .info
        .as_deref()
        .and_then(|i| i.lines().next())
        .unwrap_or_default();
    let message: String = format!("{} {}", event.process, info)
        .trim()
        .chars()
        .take(500)
        .collect();
    Start {
        id: event.key.to_string(),
        title: event.process.clone(),
        message,
    }
}

/// Starts escalations somewhere else (the caller's queue on AWS, a local task in `opsbell serve`).
#[async_trait]
pub trait Escalations: Send + Sync {
    async fn start(&self, start: &Start) -> Result<(), EscalationError>;
}

/// The `oncall` channel: hands the event to [`Escalations`].
pub struct OncallNotifier(pub std::sync::Arc<dyn Escalations>);

#[async_trait]
impl crate::ports::Notifier for OncallNotifier {
    async fn notify(
        &self,
        event: &Event,
        _deadline: tokio::time::Instant,
    ) -> Result<crate::ports::Receipt, crate::ports::NotifyError> {
        let start = start_of(event);
        self.0
            .start(&start)
            .await
            .map_err(|e| crate::ports::NotifyError::Retryable {
                detail: e.to_string(),
                attempts: 1,
                retry_after: None,
            })?;
        Ok(crate::ports::Receipt {
            detail: format!("escalation {}", start.id),
            attempts: 1,
        })
    }
}

/// "Was step `step` of `incident` answered?"
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub incident: String,
    pub step: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Calling,
    Answered { step: usize, number: String },
    Acked { by: String },
    Exhausted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub message: String,
    pub title: String,
    pub calls: Vec<Call>,
    /// The current step; `contacts[step]` is set once its call was placed.
    pub step: usize,
    pub contacts: Vec<Option<String>>,
    pub status: Status,
    pub dry_run: bool,
}

/// What one invocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Called {
        step: usize,
        number: String,
    },
    Answered {
        number: String,
    },
    /// Nobody answered any call; chat was told.
    Exhausted,
    /// Already handled (a duplicate delivery, a stale check, an acked or finished incident).
    Ignored,
}

/// Marks incident `id` acknowledged (the chat `ack` command); the next check ends the
/// escalation. False when there is no running escalation of that id.
pub async fn ack(
    records: &dyn Records,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, EscalationError> {
    let Some(mut incident) = load_incident(records, id).await? else {
        return Ok(false);
    };
    if incident.status != Status::Calling {
        return Ok(false);
    }
    incident.status = Status::Acked { by: by.into() };
    save_incident(records, &incident, now).await?;
    info!(incident = id, by, "Acknowledged; escalation stops.");
    Ok(true)
}

/// Incident `id`, if recorded. An unreadable record is an error, never "no incident": that
/// would dial everyone again.
pub async fn load_incident(
    records: &dyn Records,
    id: &str,
) -> Result<Option<Incident>, StoreError> {
    let (pk, sk) = incident_key(id);
    let value = records.get_record(&pk, &sk).await?;
    value
        .map(|v| serde_json::from_value(v).map_err(|e| StoreError(format!("incident {id}: {e}"))))
        .transpose()
}

async fn save_incident(
    records: &dyn Records,
    incident: &Incident,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (pk, sk) = incident_key(&incident.id);
    let body = serde_json::to_value(incident).map_err(|e| StoreError(e.to_string()))?;
    let expires = now + chrono::Duration::days(INCIDENT_TTL_DAYS);
    records.put_record(&pk, &sk, &body, Some(expires)).await
}

pub fn incident_key(id: &str) -> (String, String) {
    (format!("INCIDENT#{id}"), "STATE".to_string())
}

/// `ClientToken` of a step: the same for every retry of it, different for every other step.
pub fn client_token(incident: &str, step: usize) -> String {
    let digest = Sha256::digest(format!("{incident}/{step}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Escalation<'a> {
    pub records: &'a dyn Records,
    pub dialer: &'a dyn Dialer,
    pub checks: &'a dyn CheckQueue,
    /// Where "nobody answered" (and dry-run plans) go: the events queue, routed to chat.
    pub events: &'a dyn Queue,
    /// Wait between a call and its check (the predecessor's CALL_STATE_CHACK_INTERVAL_SECONDS).
    pub interval: Duration,
    pub dry_run: bool,
}

impl Escalation<'_> {
    /// Opens incident `id` (the SNS MessageId) and places its first call.
    pub async fn start(
        &self,
        id: &str,
        title: &str,
        message: &str,
        calls: Vec<Call>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EscalationError> {
        if self.load(id).await?.is_some() {
            info!(
                incident = id,
                "Incident already open; duplicate delivery ignored."
            );
            return Ok(Outcome::Ignored);
        }
        let mut incident = Incident {
            id: id.into(),
            created_at: now,
            message: message.into(),
            title: title.into(),
            contacts: vec![None; calls.len()],
            calls,
            step: 0,
            status: Status::Calling,
            dry_run: self.dry_run,
        };
        if let Err(e) = crate::chat::recent::incident(self.records, id, title, now).await {
            warn!(incident = id, error = %e, "Could not note the incident for `status`.");
        }
        if self.dry_run {
            let plan: Vec<String> = incident
                .calls
                .iter()
                .map(|c| format!("{} ({})", c.number, c.group))
                .collect();
            info!(incident = id, plan = ?plan, "Dry run: would call these numbers in order.");
            self.tell(
                &incident,
                State::Started,
                format!("Dry run: would call {}", plan.join(", ")),
                now,
            )
            .await?;
        }
        if incident.calls.is_empty() {
            return self.exhaust(&mut incident, now).await;
        }
        self.call(&mut incident, 0, now).await
    }

    /// Handles a delayed check.
    pub async fn check(
        &self,
        check: &Check,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EscalationError> {
        let Some(mut incident) = self.load(&check.incident).await? else {
            warn!(incident = %check.incident, "Check for an unknown incident ignored.");
            return Ok(Outcome::Ignored);
        };
        if incident.status == Status::Calling && check.step > incident.step {
            // Scheduled just before its step was saved, and the save has not happened (yet, or
            // the invocation died: the previous check's redelivery will save it).
            return Err(EscalationError::NotYet {
                incident: incident.id,
                step: check.step,
            });
        }
        if incident.status != Status::Calling || incident.step != check.step {
            return Ok(Outcome::Ignored);
        }
        let contact = incident.contacts.get(check.step).cloned().flatten();
        let answered = match (&contact, incident.dry_run) {
            (Some(contact), false) => self.dialer.answered(contact).await?,
            _ => false,
        };
        if answered {
            let number = incident.calls[check.step].number.clone();
            info!(incident = %incident.id, step = check.step, number = %number, "Answered; escalation ends.");
            incident.status = Status::Answered {
                step: check.step,
                number: number.clone(),
            };
            self.save(&incident, now).await?;
            return Ok(Outcome::Answered { number });
        }
        let next = check.step + 1;
        if next < incident.calls.len() {
            self.call(&mut incident, next, now).await
        } else {
            self.exhaust(&mut incident, now).await
        }
    }

    /// Marks incident `id` acknowledged (from chat); the next check ends the escalation.
    pub async fn ack(
        &self,
        id: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, EscalationError> {
        ack(self.records, id, by, now).await
    }

    /// Places the call of `step`, schedules its check, then saves the step. The order matters
    /// when an invocation dies between them: until the step is saved, a retry of this invocation
    /// (the start's SNS retry, or the previous check's redelivery) runs it again, dialling with
    /// the same client token (so Connect places no second call) and scheduling again; an early
    /// check waits for the save ([`EscalationError::NotYet`]). Saving first would strand the
    /// escalation if the process died before scheduling.
    async fn call(
        &self,
        incident: &mut Incident,
        step: usize,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EscalationError> {
        incident.step = step;
        let number = incident.calls[step].number.clone();
        let mut delay = self.interval;
        if !incident.dry_run && incident.contacts[step].is_none() {
            let token = client_token(&incident.id, step);
            match self.dialer.dial(&number, &incident.message, &token).await {
                Ok(contact) => incident.contacts[step] = Some(contact),
                Err(e) => {
                    error!(incident = %incident.id, step, error = %e, "Call could not be placed; moving on.");
                    delay = Duration::ZERO;
                }
            }
        } else if incident.dry_run {
            info!(incident = %incident.id, step, number = %number, "Dry run: would call.");
        }
        let check = Check {
            incident: incident.id.clone(),
            step,
        };
        self.checks.schedule(&check, delay).await?;
        self.save(incident, now).await?;
        Ok(Outcome::Called { step, number })
    }

    /// Tells chat, then saves: a death in between tells again on the retry, which the delivery
    /// log absorbs (same event key); the other order could lose the message.
    async fn exhaust(
        &self,
        incident: &mut Incident,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EscalationError> {
        incident.status = Status::Exhausted;
        let numbers: Vec<&str> = incident.calls.iter().map(|c| c.number.as_str()).collect();
        error!(incident = %incident.id, calls = numbers.len(), "Nobody answered the on-call escalation.");
        let info = format!(
            "Nobody answered. Called {} time(s): {}\n{}",
            numbers.len(),
            numbers.join(", "),
            incident.message
        );
        self.tell(incident, State::Alarm, info, now).await?;
        self.save(incident, now).await?;
        Ok(Outcome::Exhausted)
    }

    async fn tell(
        &self,
        incident: &Incident,
        state: State,
        info: String,
        now: DateTime<Utc>,
    ) -> Result<(), EscalationError> {
        let mut event = Event::new(
            Source::Oncall,
            "",
            &incident.id,
            state,
            incident.title.clone(),
            now,
        );
        event.info = Some(info);
        self.events.enqueue(&[event]).await?;
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<Incident>, EscalationError> {
        Ok(load_incident(self.records, id).await?)
    }

    async fn save(&self, incident: &Incident, now: DateTime<Utc>) -> Result<(), EscalationError> {
        Ok(save_incident(self.records, incident, now).await?)
    }
}

#[cfg(test)]
mod tests;
