//! Per event: route → for each target, concurrently: delivery-log claim → send with retry →
//! record. One target's failure never blocks or re-sends another. Shared by the `alarm-fanout`
//! Lambda and `opsbell serve`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::event::{Event, EventKey};
use crate::notify::{Sink, deliver};
use crate::ports::{Claim, Clock, DeliveryOutcome, Store};
use crate::route::{Route, targets};

/// How long past the deadline a claim stays exclusive, so a crashed worker's lease expires soon
/// after its invocation would have ended.
const LEASE_SLACK: Duration = Duration::from_secs(30);

/// What happened at one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOutcome {
    Delivered {
        attempts: u32,
        detail: String,
    },
    /// The delivery log says so: nothing sent.
    AlreadyDelivered,
    /// Permanently rejected earlier: nothing sent.
    Rejected,
    /// Another worker holds the claim; try again later.
    Busy,
    Failed {
        error: String,
        retryable: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub key: EventKey,
    pub targets: Vec<(String, TargetOutcome)>,
}

impl Report {
    /// True when a later attempt could still deliver something (the message should return to
    /// the queue).
    pub fn should_retry(&self) -> bool {
        self.targets.iter().any(|(_, o)| {
            matches!(
                o,
                TargetOutcome::Busy
                    | TargetOutcome::Failed {
                        retryable: true,
                        ..
                    }
            )
        })
    }
}

pub struct Fanout {
    pub sinks: BTreeMap<String, Sink>,
    pub routes: Vec<Route>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Fanout {
    /// Sinks and routes from `config`, sharing one HTTP client.
    pub fn from_config(
        config: &crate::config::Config,
        http: &reqwest::Client,
        policy: crate::http::RetryPolicy,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Fanout {
            sinks: crate::notify::build_sinks(config, http, policy),
            routes: config.routes.clone(),
            store,
            clock,
        }
    }

    pub async fn deliver(&self, event: &Event, deadline: Instant) -> Report {
        let names = targets(&self.routes, event);
        let outcomes = join_all(
            names
                .iter()
                .map(|name| self.deliver_to(name, event, deadline)),
        )
        .await;
        Report {
            key: event.key.clone(),
            targets: names.into_iter().map(String::from).zip(outcomes).collect(),
        }
    }

    async fn deliver_to(&self, name: &str, event: &Event, deadline: Instant) -> TargetOutcome {
        let key = &event.key;
        let Some(sink) = self.sinks.get(name) else {
            error!(channel = name, %key, "Route names a channel that has no sink; event not delivered.");
            return TargetOutcome::Failed {
                error: format!("no channel {name:?}"),
                retryable: false,
            };
        };
        let now = self.clock.now();
        let lease = deadline.saturating_duration_since(Instant::now()) + LEASE_SLACK;
        let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match self.store.claim_delivery(key, name, now, lease_until).await {
            Ok(Claim::Acquired { .. }) => {}
            Ok(Claim::AlreadyDelivered) => return TargetOutcome::AlreadyDelivered,
            Ok(Claim::Rejected) => return TargetOutcome::Rejected,
            Ok(Claim::Busy) => {
                warn!(channel = name, %key, "Another worker is delivering this event; will retry.");
                return TargetOutcome::Busy;
            }
            Err(e) => {
                warn!(channel = name, %key, error = %e, "Delivery log unavailable; will retry.");
                return TargetOutcome::Failed {
                    error: e.to_string(),
                    retryable: true,
                };
            }
        }
        let result = deliver(sink, event, deadline).await;
        let record = match &result {
            Ok(r) => DeliveryOutcome::Delivered {
                detail: r.detail.clone(),
            },
            Err(e) => DeliveryOutcome::Failed {
                error: e.to_string(),
                permanent: !e.is_retryable(),
            },
        };
        let recorded = self
            .store
            .finish_delivery(key, name, &record, self.clock.now())
            .await;
        match result {
            Ok(receipt) => {
                if let Err(e) = recorded {
                    error!(channel = name, %key, error = %e,
                        "Delivered but not recorded; a redelivery of this event may post again.");
                }
                info!(channel = name, %key, attempts = receipt.attempts, "Delivered.");
                TargetOutcome::Delivered {
                    attempts: receipt.attempts,
                    detail: receipt.detail,
                }
            }
            Err(e) if e.is_retryable() => {
                warn!(channel = name, %key, error = %e, "Delivery failed; the event will be retried.");
                TargetOutcome::Failed {
                    error: e.to_string(),
                    retryable: true,
                }
            }
            Err(e) => {
                error!(channel = name, %key, error = %e, "Delivery rejected; not retrying. Check this channel's settings.");
                TargetOutcome::Failed {
                    error: e.to_string(),
                    retryable: false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
