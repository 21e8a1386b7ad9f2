//! After the stages: what became of the event at each target goes into the history (the
//! console's History page) and, for what reached someone, the bot's `status`. A failure here
//! loses nothing: it is logged and the delivery stands.

use tracing::warn;

use super::{Fanout, Report, TargetOutcome};
use crate::event::Event;
use crate::state::{Fate, History, RecentDelivery, Told};

impl Fanout {
    pub(super) async fn remember(&self, event: &Event, report: &Report) {
        let now = self.clock.now();
        let told: Vec<(String, Told)> = (report.targets.iter())
            .filter_map(|(name, outcome)| {
                let (fate, detail) = fate(outcome)?;
                Some((
                    name.clone(),
                    Told {
                        fate,
                        detail,
                        at: now,
                    },
                ))
            })
            .collect();
        let records = self.records.as_ref();
        let reached: Vec<String> = (report.targets.iter())
            .filter_map(|(name, o)| match o {
                TargetOutcome::Delivered { .. } => Some(name.clone()),
                TargetOutcome::Withheld { reason } => Some(format!("{name} ({reason})")),
                _ => None,
            })
            .collect();
        let reached: Vec<&str> = reached.iter().map(String::as_str).collect();
        // The two are independent: written side by side, the invocation waits for one round.
        let history = async {
            if (report.targets.is_empty() || !told.is_empty())
                && let Err(e) = History::note(records, event, &told, now).await
            {
                warn!(key = %event.key, error = %e, "Could not note the event in the history.");
            }
        };
        let status = async {
            if reached.is_empty() {
                return;
            }
            let recent = RecentDelivery::of(event, &reached, now);
            if let Err(e) = recent.save(records).await {
                warn!(key = %event.key, error = %e, "Could not note the delivery for `status`.");
            }
        };
        futures::join!(history, status);
    }
}

/// The history's word for an outcome; `None` for one that changes nothing (delivered before,
/// another worker's claim).
fn fate(outcome: &TargetOutcome) -> Option<(Fate, String)> {
    Some(match outcome {
        TargetOutcome::Delivered {
            attempts: 0,
            detail,
        } if detail.starts_with("in digest") => (Fate::Digest, detail.clone()),
        TargetOutcome::Delivered { detail, .. } => (Fate::Delivered, detail.clone()),
        TargetOutcome::Withheld { reason } => (Fate::Withheld, reason.clone()),
        TargetOutcome::Failed { error, retryable } => {
            let fate = if *retryable {
                Fate::Retrying
            } else {
                Fate::Failed
            };
            (fate, error.clone())
        }
        TargetOutcome::Forgotten { detail } => (Fate::Gone, detail.clone()),
        TargetOutcome::AlreadyDelivered | TargetOutcome::Busy => return None,
    })
}
