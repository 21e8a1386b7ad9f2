//! One step of an escalation: dial the step's number (the same `ClientToken` on every retry),
//! schedule its check, save the step; and what each dial failure means for the plan.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{error, info, warn};

use super::{Escalation, Outcome, client_token, narrate};
use crate::event::State;
use crate::ports::{Check, EscalationError};
use crate::state::{Incident, Stored};

/// Waits between the in-step attempts of a dial Connect could not take (throttling, 5xx); after
/// the last, the invocation fails and its redelivery runs the same step again.
const DIAL_RETRIES: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

impl Escalation<'_> {
    /// Places the call of `step`, schedules its check, then saves the step. The order matters
    /// when an invocation dies between them: until the step is saved, a retry of this invocation
    /// (the start's SNS retry, or the previous check's redelivery) runs it again, dialling with
    /// the same client token (so Connect places no second call) and scheduling again; an early
    /// check waits for the save ([`EscalationError::NotYet`]). Saving first would strand the
    /// escalation if the process died before scheduling. `read` is the record this invocation
    /// loaded (`None` at the start): the dial happens only while it is unchanged, and the save
    /// only over it.
    pub(super) async fn call(
        &self,
        incident: &mut Incident,
        read: Option<&Stored<Incident>>,
        step: usize,
        now: DateTime<Utc>,
    ) -> Result<Outcome, EscalationError> {
        incident.step = step;
        let number = incident.calls[step].number.clone();
        let mut delay = self.interval;
        if !incident.dry_run && incident.contacts[step].is_none() {
            if let Some(read) = read
                && Incident::load_stored(self.records, &incident.id)
                    .await?
                    .as_ref()
                    != Some(read)
            {
                info!(incident = %incident.id, step, "The incident changed (an ack?) before this call; not calling.");
                return Ok(Outcome::Ignored);
            }
            match self.dial(incident, step, &number).await {
                Ok(contact) => incident.contacts[step] = Some(contact),
                Err(EscalationError::Dial(e)) => {
                    error!(incident = %incident.id, step, error = %e, "The callee could not be reached; moving on.");
                    delay = Duration::ZERO;
                }
                Err(EscalationError::Config(e)) => {
                    error!(incident = %incident.id, step, error = %e, "Connect refuses opsbell's configuration; the escalation stays at this step until it is fixed, and is retried.");
                    let told = narrate::misconfigured(&number, &e);
                    let subject = format!("config{step}");
                    self.tell_as(&subject, incident, State::Alarm, told, now)
                        .await?;
                    return Err(EscalationError::Config(e));
                }
                Err(e) => return Err(e),
            }
        } else if incident.dry_run {
            info!(incident = %incident.id, step, number = %number, "Dry run: would call.");
        }
        let check = Check {
            incident: incident.id.clone(),
            step,
        };
        self.checks.schedule(&check, delay).await?;
        if !self.save(incident, read, now).await? {
            return Ok(Outcome::Ignored);
        }
        Ok(Outcome::Called { step, number })
    }

    /// Dials, retrying what Connect could not take right now ([`DIAL_RETRIES`]).
    async fn dial(
        &self,
        incident: &Incident,
        step: usize,
        number: &str,
    ) -> Result<String, EscalationError> {
        let token = client_token(&incident.id, step);
        let mut waits = DIAL_RETRIES.iter();
        loop {
            match self.dialer.dial(number, &incident.message, &token).await {
                Err(EscalationError::Unavailable(e)) => match waits.next() {
                    Some(wait) => {
                        warn!(incident = %incident.id, step, error = %e, ?wait, "Connect could not take the call; trying the same call again.");
                        tokio::time::sleep(*wait).await;
                    }
                    None => return Err(EscalationError::Unavailable(e)),
                },
                other => return other,
            }
        }
    }
}
