//! Stage 4, claim: the right to deliver an event to a target, taken in the delivery log (a
//! conditional write). A target that was delivered, withheld or held for a digest before is
//! refused here, so a redelivered message never reaches the later stages there; another
//! worker's unexpired lease makes it `Busy`. A withheld target is recorded in the same one
//! write, since nothing is posted between a claim and its outcome.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use super::{Fanout, TargetOutcome};
use crate::event::{Event, EventKey};
use crate::ports::{Claim, StoreError};

/// How long past the deadline a claim stays exclusive, so a crashed worker's lease expires soon
/// after its invocation would have ended.
pub(super) const LEASE_SLACK: Duration = Duration::from_secs(30);

impl Fanout {
    /// Takes the right to deliver `event` to `target`: the attempt it is (1-based), or what to
    /// report instead.
    pub(super) async fn claim(
        &self,
        target: &str,
        event: &Event,
        deadline: Instant,
    ) -> Result<u32, TargetOutcome> {
        let key = &event.key;
        let now = self.clock.now();
        let lease = deadline.saturating_duration_since(Instant::now()) + self.lease_slack;
        let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let claim = self.log.claim_delivery(key, target, now, lease_until).await;
        taken(target, key, claim)
    }

    /// Records that `event` is not sent to `target`, and why (a mute interval, a silence).
    pub(super) async fn withhold(
        &self,
        target: &str,
        event: &Event,
        reason: &str,
    ) -> TargetOutcome {
        let key = &event.key;
        let now = self.clock.now();
        let recorded = self.log.withhold_delivery(key, target, reason, now).await;
        match taken(target, key, recorded) {
            Ok(_) => {
                info!(channel = target, %key, reason, "Not sent.");
                TargetOutcome::Withheld {
                    reason: reason.to_string(),
                }
            }
            Err(outcome) => outcome,
        }
    }
}

/// Whether a claim (or a withholding) took the delivery; what to report instead when not.
fn taken(
    target: &str,
    key: &EventKey,
    claim: Result<Claim, StoreError>,
) -> Result<u32, TargetOutcome> {
    match claim {
        Ok(Claim::Acquired { attempt }) => Ok(attempt),
        Ok(Claim::AlreadyDelivered) => Err(TargetOutcome::AlreadyDelivered),
        Ok(Claim::Busy) => {
            warn!(channel = target, %key, "Another worker is delivering this event; will retry.");
            Err(TargetOutcome::Busy)
        }
        Err(e) => {
            warn!(channel = target, %key, error = %e, "Delivery log unavailable; will retry.");
            Err(TargetOutcome::later(e))
        }
    }
}
