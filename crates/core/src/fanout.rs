//! Per event: route → for each target, concurrently: delivery-log claim → send with retry →
//! record. One target's failure never blocks or re-sends another. Shared by the `alarm-fanout`
//! Lambda and `opsbell serve`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use futures::{StreamExt, stream};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::event::{Event, EventKey};
use crate::notify::chat_bot::ChatBot;
use crate::notify::{Sink, deliver};
use crate::ports::{Claim, Clock, DeliveryOutcome, NotifyError, Receipt, Records, Store};
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
    /// The destination no longer exists (a Chat space the bot left) and was forgotten.
    Forgotten {
        detail: String,
    },
    /// Another worker holds the claim; try again later.
    Busy,
    Failed {
        error: String,
        retryable: bool,
    },
}

impl TargetOutcome {
    /// Not done at this target: it failed (a permanent refusal too: it posted nothing, so a
    /// later try is safe) or another worker holds it.
    pub fn is_unfinished(&self) -> bool {
        matches!(self, TargetOutcome::Busy | TargetOutcome::Failed { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub key: EventKey,
    pub targets: Vec<(String, TargetOutcome)>,
}

impl Report {
    /// True when some target is unfinished, so the message must return to the queue; after the
    /// queue's receive limit that lands it in the dead-letter queue for a human instead of
    /// letting it vanish.
    pub fn should_retry(&self) -> bool {
        self.targets.iter().any(|(_, o)| o.is_unfinished())
    }
}

pub struct Fanout {
    pub sinks: BTreeMap<String, Sink>,
    /// Google Chat bots: one delivery per registered space.
    pub bots: BTreeMap<String, Arc<ChatBot>>,
    pub routes: Vec<Route>,
    pub store: Arc<dyn Store>,
    /// How long past the deadline a claim stays exclusive (default 30 s).
    pub lease_slack: Duration,
    /// Where deliveries are remembered for the bot's `status` (and the bots' registry).
    pub records: Option<Arc<dyn Records>>,
    pub clock: Arc<dyn Clock>,
}

impl Fanout {
    /// Sinks, bots and routes from `config`, sharing one HTTP client. `records` holds the bots'
    /// space registry.
    pub fn from_config(
        config: &crate::config::Config,
        http: &reqwest::Client,
        policy: crate::http::RetryPolicy,
        store: Arc<dyn Store>,
        records: Arc<dyn Records>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Fanout {
            sinks: crate::notify::build_sinks(config, http, policy),
            bots: crate::notify::build_bots(config, http, policy, records.clone()),
            routes: config.routes.clone(),
            store,
            lease_slack: LEASE_SLACK,
            records: Some(records),
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
        let report = Report {
            key: event.key.clone(),
            targets: names.into_iter().map(String::from).zip(outcomes).collect(),
        };
        self.remember(event, &report).await;
        report
    }

    /// Notes what reached a target now, for the bot's `status`; a failure here loses nothing.
    async fn remember(&self, event: &Event, report: &Report) {
        let Some(records) = &self.records else {
            return;
        };
        let reached: Vec<&str> = report
            .targets
            .iter()
            .filter(|(_, o)| matches!(o, TargetOutcome::Delivered { .. }))
            .map(|(name, _)| name.as_str())
            .collect();
        if reached.is_empty() {
            return;
        }
        let now = self.clock.now();
        if let Err(e) = crate::chat::recent::delivered(records.as_ref(), event, &reached, now).await
        {
            warn!(key = %event.key, error = %e, "Could not note the delivery for `status`.");
        }
    }

    async fn deliver_to(&self, name: &str, event: &Event, deadline: Instant) -> TargetOutcome {
        if let Some(bot) = self.bots.get(name) {
            return self.deliver_to_spaces(name, bot, event, deadline).await;
        }
        let Some(sink) = self.sinks.get(name) else {
            error!(channel = name, key = %event.key, "Route names a channel that has no sink; event not delivered.");
            return TargetOutcome::Failed {
                error: format!("no channel {name:?}"),
                retryable: false,
            };
        };
        self.claim_and_send(name, event, deadline, |post_by| {
            deliver(sink, event, post_by)
        })
        .await
    }

    /// Every registered space of `bot`, at most `bot.concurrency` at a time, each with its own
    /// delivery-log entry (`<channel>#<space>`), so a retry posts only to the spaces that failed.
    async fn deliver_to_spaces(
        &self,
        name: &str,
        bot: &ChatBot,
        event: &Event,
        deadline: Instant,
    ) -> TargetOutcome {
        let key = &event.key;
        let spaces = match bot.spaces().await {
            Ok(spaces) => spaces,
            Err(e) => {
                warn!(channel = name, %key, error = %e, "Space registry unavailable; will retry.");
                return TargetOutcome::Failed {
                    error: e.to_string(),
                    retryable: true,
                };
            }
        };
        if spaces.is_empty() {
            warn!(channel = name, %key, "The Chat bot is in no space yet; add it to a space to hear alerts.");
        }
        // Spaces that answered an unclear 403: a removed app only if another space took the
        // event (see `chat_bot`).
        let refused = std::sync::Mutex::new(Vec::new());
        let posts = spaces.into_iter().map(|space| {
            let refused = &refused;
            async move {
                let target = format!("{name}#{space}");
                let name_of_space = &space;
                let post = |post_by| async move {
                    let space = name_of_space;
                    let result = bot.post(space, event, post_by).await;
                    if let Err(NotifyError::Permanent { status: 403, .. }) = result {
                        refused.lock().unwrap().push(space.clone());
                    }
                    result
                };
                let outcome = self.claim_and_send(&target, event, deadline, post).await;
                (space, outcome)
            }
        });
        let mut outcomes: Vec<(String, TargetOutcome)> = stream::iter(posts)
            .buffer_unordered(bot.concurrency.max(1))
            .collect()
            .await;
        let refused = refused.into_inner().unwrap_or_default();
        let any_posted = outcomes
            .iter()
            .any(|(_, o)| matches!(o, TargetOutcome::Delivered { .. }));
        for space in bot.settle(&refused, any_posted).await {
            if let Some((_, o)) = outcomes.iter_mut().find(|(s, _)| *s == space) {
                *o = TargetOutcome::Forgotten {
                    detail: format!("HTTP 403: the bot was removed from {space}; forgotten"),
                };
            }
        }
        let outcomes: Vec<TargetOutcome> = outcomes.into_iter().map(|(_, o)| o).collect();
        summarize_spaces(&outcomes)
    }

    /// Claims `target` in the delivery log, sends (`send` must be done by the instant it is
    /// given, which keeps time for recording), records how it went.
    async fn claim_and_send<F>(
        &self,
        target: &str,
        event: &Event,
        deadline: Instant,
        send: impl FnOnce(Instant) -> F,
    ) -> TargetOutcome
    where
        F: Future<Output = Result<Receipt, NotifyError>>,
    {
        let key = &event.key;
        let now = self.clock.now();
        let lease = deadline.saturating_duration_since(Instant::now()) + self.lease_slack;
        let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match self
            .store
            .claim_delivery(key, target, now, lease_until)
            .await
        {
            Ok(Claim::Acquired { .. }) => {}
            Ok(Claim::AlreadyDelivered) => return TargetOutcome::AlreadyDelivered,
            Ok(Claim::Busy) => {
                warn!(channel = target, %key, "Another worker is delivering this event; will retry.");
                return TargetOutcome::Busy;
            }
            Err(e) => {
                warn!(channel = target, %key, error = %e, "Delivery log unavailable; will retry.");
                return TargetOutcome::Failed {
                    error: e.to_string(),
                    retryable: true,
                };
            }
        }
        let result = send(post_deadline(deadline)).await;
        let record = match &result {
            Ok(r) => DeliveryOutcome::Delivered {
                detail: r.detail.clone(),
            },
            Err(e) => DeliveryOutcome::Failed {
                error: e.to_string(),
                permanent: !e.is_retryable(),
            },
        };
        let recorded = self.record(key, target, &record, deadline).await;
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
                TargetOutcome::Failed {
                    error: e.to_string(),
                    retryable: true,
                }
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

    /// Records how a delivery ended, retrying a failing store until the deadline: once posted,
    /// an unrecorded delivery would be posted again when the lease expires.
    async fn record(
        &self,
        key: &EventKey,
        target: &str,
        outcome: &DeliveryOutcome,
        deadline: Instant,
    ) -> Result<(), crate::ports::StoreError> {
        let mut delay = RECORD_RETRY_FIRST;
        loop {
            let result = self
                .store
                .finish_delivery(key, target, outcome, self.clock.now())
                .await;
            match result {
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

/// When posting must end: a quarter of the time left (at most 10 s) stays for recording the
/// delivery, so a store that blinks right after a post does not make it post twice.
fn post_deadline(deadline: Instant) -> Instant {
    let reserve = (deadline.saturating_duration_since(Instant::now()) / 4).min(RECORD_RESERVE_MAX);
    deadline - reserve
}

const RECORD_RESERVE_MAX: Duration = Duration::from_secs(10);

/// Backoff between attempts to record a delivery.
const RECORD_RETRY_FIRST: Duration = Duration::from_millis(100);
const RECORD_RETRY_MAX: Duration = Duration::from_secs(2);

/// One outcome for a bot: retried when any space failed or is busy; otherwise delivered, with
/// how many spaces heard it (forgotten spaces are not failures).
fn summarize_spaces(outcomes: &[TargetOutcome]) -> TargetOutcome {
    let count = |f: fn(&TargetOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let posted = count(|o| matches!(o, TargetOutcome::Delivered { .. }));
    let before = count(|o| matches!(o, TargetOutcome::AlreadyDelivered));
    let retry: Vec<&TargetOutcome> = outcomes.iter().filter(|o| o.is_unfinished()).collect();
    let attempts = outcomes
        .iter()
        .map(|o| match o {
            TargetOutcome::Delivered { attempts, .. } => *attempts,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    let total = outcomes.len();
    if let Some(first) = retry.first() {
        let error = match first {
            TargetOutcome::Failed { error, .. } => error.clone(),
            _ => "busy".into(),
        };
        return TargetOutcome::Failed {
            error: format!(
                "{} of {total} space(s) to retry; first: {error}",
                retry.len()
            ),
            retryable: true,
        };
    }
    if total > 0 && before == total {
        return TargetOutcome::AlreadyDelivered;
    }
    TargetOutcome::Delivered {
        attempts,
        detail: format!(
            "{posted} of {total} space(s) posted now, {before} before, {} not posted",
            total - posted - before
        ),
    }
}

#[cfg(test)]
mod tests;
