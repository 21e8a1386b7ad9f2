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

pub mod dry_run;
pub mod trigger;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracing::{error, info, warn};

use crate::event::{Event, Source, State};
use crate::ports::{Check, CheckQueue, Dialer, EscalationError, Queue, Records};
use crate::state::{Call, Incident, RecentIncident, Status};

/// What one invocation did. Serialized as `"Ignored"` or `{"Called": {"step": 0, "number": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    let Some(mut incident) = Incident::load(records, id).await? else {
        return Ok(false);
    };
    if incident.status != Status::Calling {
        return Ok(false);
    }
    incident.status = Status::Acked { by: by.into() };
    incident.save(records, now).await?;
    info!(incident = id, by, "Acknowledged; escalation stops.");
    Ok(true)
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
    /// Opens incident `id` (the SNS MessageId) and places its first call; chat hears the
    /// plan's `notice` (a gap in today's rotation) first.
    pub async fn start(
        &self,
        id: &str,
        title: &str,
        message: &str,
        calls: Vec<Call>,
        notice: Option<&str>,
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
        let recent = RecentIncident {
            at: now,
            id: id.into(),
            title: title.into(),
        };
        if let Err(e) = recent.save(self.records).await {
            warn!(incident = id, error = %e, "Could not note the incident for `status`.");
        }
        if let Some(notice) = notice {
            self.tell_as(
                &format!("{id}#notice"),
                &incident,
                State::Alarm,
                notice.to_string(),
                now,
            )
            .await?;
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

    /// Opens the escalation a [`Start`](crate::ports::Start) asks for (an `oncall` channel's
    /// event): its topic's plan and spoken message, as every path does.
    pub async fn start_for(
        &self,
        start: &crate::ports::Start,
        settings: &crate::oncall::settings::OncallSettings,
        files: &dyn crate::ports::Files,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EscalationError> {
        let topic = start.topic.as_deref();
        let planned = trigger::plan_for(settings, files, topic, now).await;
        let message = planned.spoken(settings, &start.message);
        let notice = planned.notice.as_deref();
        self.start(
            &start.id,
            &start.title,
            &message,
            planned.calls,
            notice,
            now,
        )
        .await
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
        self.tell_as(&incident.id, incident, state, info, now).await
    }

    /// Tells chat about `incident` under its own event `subject` (its key), so two notices in
    /// one state are two messages.
    async fn tell_as(
        &self,
        subject: &str,
        incident: &Incident,
        state: State,
        info: String,
        now: DateTime<Utc>,
    ) -> Result<(), EscalationError> {
        let mut event = Event::new(
            Source::Oncall,
            "",
            subject,
            state,
            incident.title.clone(),
            now,
        );
        event.info = Some(info);
        self.events.enqueue(&[event]).await?;
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<Incident>, EscalationError> {
        Ok(Incident::load(self.records, id).await?)
    }

    async fn save(&self, incident: &Incident, now: DateTime<Utc>) -> Result<(), EscalationError> {
        Ok(incident.save(self.records, now).await?)
    }
}

#[cfg(test)]
mod tests;
