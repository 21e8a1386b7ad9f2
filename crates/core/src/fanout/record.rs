//! Stage 8, record: how the delivery ended goes into the delivery log (releasing the claim),
//! retried on a failing store until the deadline: once posted, an unrecorded delivery would be
//! posted again when the lease expires. The result becomes the target's outcome.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{Fanout, TargetOutcome};
use crate::event::Event;
use crate::ports::{DeliveryOutcome, NotifyError, Receipt, StoreError};

/// Backoff between attempts to record a delivery.
const RECORD_RETRY_FIRST: Duration = Duration::from_millis(100);
const RECORD_RETRY_MAX: Duration = Duration::from_secs(2);

impl Fanout {
    pub(super) async fn record(
        &self,
        target: &str,
        event: &Event,
        result: Result<Receipt, NotifyError>,
        deadline: Instant,
    ) -> TargetOutcome {
        let key = &event.key;
        let outcome = match &result {
            Ok(r) => DeliveryOutcome::Delivered {
                detail: r.detail.clone(),
            },
            Err(e) => DeliveryOutcome::Failed {
                error: e.to_string(),
                permanent: !e.is_retryable(),
            },
        };
        let recorded = self.finish(target, event, &outcome, deadline).await;
        match result {
            Ok(receipt) => {
                if let Err(e) = recorded {
                    error!(channel = target, %key, error = %e,
                        "Delivered but not recorded; a redelivery of this event may post again.");
                }
                info!(channel = target, %key, attempts = receipt.attempts, "Delivered.");
                TargetOutcome::Delivered {
                    attempts: receipt.attempts,
                    detail: receipt.detail,
                }
            }
            Err(e) if e.is_retryable() => {
                warn!(channel = target, %key, error = %e, "Delivery failed; the event will be retried.");
                TargetOutcome::later(e)
            }
            Err(e @ NotifyError::Gone { .. }) => TargetOutcome::Forgotten {
                detail: e.to_string(),
            },
            Err(e) => {
                error!(channel = target, %key, error = %e, "Delivery rejected; not retrying. Check this channel's settings.");
                TargetOutcome::Failed {
                    error: e.to_string(),
                    retryable: false,
                }
            }
        }
    }

    async fn finish(
        &self,
        target: &str,
        event: &Event,
        outcome: &DeliveryOutcome,
        deadline: Instant,
    ) -> Result<(), StoreError> {
        let key = &event.key;
        let mut delay = RECORD_RETRY_FIRST;
        loop {
            let now = self.clock.now();
            match self.log.finish_delivery(key, target, outcome, now).await {
                Err(e) if Instant::now() + delay < deadline => {
                    warn!(channel = target, %key, error = %e, ?delay, "Could not record the delivery; trying again.");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RECORD_RETRY_MAX);
                }
                result => return result,
            }
        }
    }
}
