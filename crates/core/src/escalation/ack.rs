//! `ack` from chat: stops a running escalation, however its incident is named.

use chrono::{DateTime, Utc};
use tracing::info;

use crate::ports::{EscalationError, Records, StoreError};
use crate::state::{INCIDENT_WINDOW, Incident, RecentIncident, Status};

/// Tries to win the incident record against writers that keep changing it.
const RACES: usize = 8;

pub use crate::state::short_id;

/// The incident `reference` names: its full id (spaces and all), or the short id of one of this
/// week's incidents, the running one first.
async fn resolve(
    records: &dyn Records,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let reference = reference.trim();
    if Incident::load(records, reference).await?.is_some() {
        return Ok(Some(reference.to_string()));
    }
    let short = reference.to_ascii_lowercase();
    let recent = RecentIncident::since(records, now - INCIDENT_WINDOW).await?;
    let mut named = recent.into_iter().filter(|i| short_id(&i.id) == short);
    let mut first = None;
    for candidate in named.by_ref() {
        let running = Incident::load(records, &candidate.id).await?;
        if running.is_some_and(|i| i.status == Status::Calling) {
            return Ok(Some(candidate.id));
        }
        first.get_or_insert(candidate.id);
    }
    Ok(first)
}

/// Marks the incident `reference` names acknowledged by `by`; the next check ends the
/// escalation and no later call is placed. The write is conditional on the record as read, and
/// retried until it lands, so an ack is never overwritten by a check that was running. Returns
/// the incident's id when it was running.
pub async fn ack(
    records: &dyn Records,
    reference: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, EscalationError> {
    let Some(id) = resolve(records, reference, now).await? else {
        return Ok(None);
    };
    for _ in 0..RACES {
        let Some(read) = Incident::load_stored(records, &id).await? else {
            return Ok(None);
        };
        if read.row.status != Status::Calling {
            return Ok(None);
        }
        let mut incident = read.row.clone();
        incident.status = Status::Acked { by: by.into() };
        if incident.swap(records, Some(&read), now).await?.is_some() {
            info!(incident = %id, by, "Acknowledged; escalation stops.");
            return Ok(Some(id));
        }
    }
    Err(EscalationError::Store(StoreError(format!(
        "incident {id} kept changing; ack again"
    ))))
}
