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
//!
//! Races: every write of an incident is conditional on the record this invocation read
//! ([`Incident::swap`]), and the record is read again right before a dial. So an `ack` that lands
//! while a check runs always wins: the check either sees it before dialing, or fails its save
//! and stops (the one call already placed is the only one after the ack).
//!
//! Dial failures: Connect's throttling and 5xx ([`EscalationError::Unavailable`]) are retried
//! within the step with backoff, then the invocation fails and its redelivery tries the same
//! step again. Only a callee that cannot be reached (an invalid or refused number) moves on.
//!
//! Chat hears the escalation as it goes ([`narrate`]): who is called and how to stop it, each
//! call's outcome, and the end; numbers show their last 4 digits only.

mod ack;
mod call;
pub mod dry_run;
pub mod narrate;
pub mod trigger;

pub use ack::{ack, short_id};

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{error, info, warn};

use crate::event::{Event, Source, State};
use crate::ports::{Check, CheckQueue, Dialer, EscalationError, Queue, Records};
use crate::state::{Call, Incident, RecentIncident, Status, Stored};

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

/// `ClientToken` of a step: the same for every retry of it, different for every other step.
pub fn client_token(incident: &str, step: usize) -> String {
    crate::signature::digest_hex(&format!("{incident}/{step}"), 32)
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
    /// plan's `notice` (a gap in today's rotation) first, then who is called and how to stop it.
    pub async fn start(
        &self,
        id: &str,
        title: &str,
        message: &str,
        calls: Vec<Call>,
        notice: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EscalationError> {
        if Incident::load(self.records, id).await?.is_some() {
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
            self.tell_as("notice", &incident, State::Alarm, notice.to_string(), now)
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
            return self.exhaust(&mut incident, None, now).await;
        }
        let calling = narrate::calling(&incident, &short_id(id));
        self.tell_as("start", &incident, State::Alarm, calling, now)
            .await?;
        self.call(&mut incident, None, 0, now).await
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
        let planned = (trigger::plan_for(settings, files, topic, now).await)
            .map_err(EscalationError::Files)?;
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
        let Some(read) = Incident::load_stored(self.records, &check.incident).await? else {
            warn!(incident = %check.incident, "Check for an unknown incident ignored.");
            return Ok(Outcome::Ignored);
        };
        let mut incident = read.row.clone();
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
            self.tell_as(
                "answered",
                &incident,
                State::Ok,
                narrate::answered(&number),
                now,
            )
            .await?;
            if !self.save(&incident, Some(&read), now).await? {
                return Ok(Outcome::Ignored);
            }
            return Ok(Outcome::Answered { number });
        }
        let reached = contact.is_some() || incident.dry_run;
        let next = check.step + 1;
        if next < incident.calls.len() {
            let told = narrate::unanswered(&incident, check.step, reached);
            let subject = format!("step{}", check.step);
            self.tell_as(&subject, &incident, State::Alarm, told, now)
                .await?;
            self.call(&mut incident, Some(&read), next, now).await
        } else {
            self.exhaust(&mut incident, Some(&read), now).await
        }
    }

    /// Marks incident `reference` (its id or short id) acknowledged; the next check ends the
    /// escalation.
    pub async fn ack(
        &self,
        reference: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, EscalationError> {
        Ok(ack(self.records, reference, by, now).await?.is_some())
    }

    /// Tells chat, then saves: a death in between tells again on the retry, which the delivery
    /// log absorbs (same event key); the other order could lose the message.
    async fn exhaust(
        &self,
        incident: &mut Incident,
        read: Option<&Stored<Incident>>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EscalationError> {
        incident.status = Status::Exhausted;
        error!(incident = %incident.id, calls = incident.calls.len(), "Nobody answered the on-call escalation.");
        let info = format!("{}\n{}", narrate::nobody(incident), incident.message);
        self.tell(incident, State::Alarm, info, now).await?;
        if !self.save(incident, read, now).await? {
            return Ok(Outcome::Ignored);
        }
        Ok(Outcome::Exhausted)
    }

    async fn tell(
        &self,
        incident: &Incident,
        state: State,
        info: String,
        now: DateTime<Utc>,
    ) -> Result<(), EscalationError> {
        self.tell_as("", incident, state, info, now).await
    }

    /// Tells chat about `incident`, as a message of its own (event key `<id>#<part>`; the
    /// incident's own key when `part` is empty). Every message of one incident shares its
    /// thread where the channel has threads (its `origin_id` is the incident id).
    async fn tell_as(
        &self,
        part: &str,
        incident: &Incident,
        state: State,
        info: String,
        now: DateTime<Utc>,
    ) -> Result<(), EscalationError> {
        let subject = match part {
            "" => incident.id.clone(),
            part => format!("{}#{part}", incident.id),
        };
        let mut event = Event::new(
            Source::Oncall,
            "",
            &subject,
            state,
            incident.title.clone(),
            now,
        );
        event.info = Some(info);
        event.origin_id = Some(incident.id.clone());
        self.events.enqueue(&[event]).await?;
        Ok(())
    }

    /// Saves `incident` over `read` (`None`: only if no record exists). False when another
    /// writer got there first: an `ack` wins, and a duplicate invocation already did this step.
    async fn save(
        &self,
        incident: &Incident,
        read: Option<&Stored<Incident>>,
        now: DateTime<Utc>,
    ) -> Result<bool, EscalationError> {
        let saved = incident.swap(self.records, read, now).await?.is_some();
        if !saved {
            info!(incident = %incident.id, "The incident changed while this step ran (an ack, or a duplicate); this step's record is dropped.");
        }
        Ok(saved)
    }
}

#[cfg(test)]
mod tests;
