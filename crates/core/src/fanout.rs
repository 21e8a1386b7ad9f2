//! Per event: route → for each target, concurrently: delivery-log claim → send with retry →
//! record. One target's failure never blocks or re-sends another. Shared by the `alarm-fanout`
//! Lambda and `opsbell serve`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;
use tracing::{error, info, warn};

pub mod flood;
mod pace;
mod spaces;

use crate::event::{Event, EventKey, Source};
use crate::notify::google_chat_bot::GoogleChatBotNotifier;
use crate::ports::{
    Claim, Clock, DeliveryLog, DeliveryOutcome, Notifier, NotifyError, Receipt, Records,
};
use crate::route::{Route, TimeInterval, decide};
use crate::state::RecentDelivery;

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
    /// Not sent on purpose (a mute interval, a silence), and recorded so; never sent later.
    Withheld {
        reason: String,
    },
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

/// A configured destination as the fan-out delivers to it.
#[derive(Clone)]
pub enum Destination {
    /// One post, one delivery-log entry.
    Notifier(Arc<dyn Notifier>),
    /// The Google Chat bot: one post and one delivery-log entry per registered space.
    Spaces(Arc<GoogleChatBotNotifier>),
}

/// Route, then deliver to every target. Built once per process by [`crate::build`].
pub struct Fanout {
    destinations: BTreeMap<String, Destination>,
    routes: Vec<Route>,
    log: Arc<dyn DeliveryLog>,
    /// How long past the deadline a claim stays exclusive (default 30 s).
    lease_slack: Duration,
    /// Where deliveries are remembered for the bot's `status`.
    records: Arc<dyn Records>,
    clock: Arc<dyn Clock>,
    /// The named intervals routes are active or muted in.
    intervals: BTreeMap<String, TimeInterval>,
    /// Channels under flood control (none without a queue for their digests).
    flood: Option<flood::Flood>,
    /// Destinations posted one at a time, spaced.
    pace: BTreeMap<String, pace::Pace>,
    /// Silences the configuration plans (maintenance windows), beside the stored ones.
    planned: Vec<crate::silence::Silence>,
}

impl Fanout {
    pub fn new(
        destinations: BTreeMap<String, Destination>,
        routes: Vec<Route>,
        log: Arc<dyn DeliveryLog>,
        records: Arc<dyn Records>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Fanout {
            destinations,
            routes,
            log,
            lease_slack: LEASE_SLACK,
            records,
            clock,
            intervals: BTreeMap::new(),
            flood: None,
            pace: BTreeMap::new(),
            planned: Vec::new(),
        }
    }

    /// Maintenance windows from the configuration, held back like stored silences.
    pub fn with_silences(mut self, planned: Vec<crate::silence::Silence>) -> Self {
        self.planned = planned;
        self
    }

    /// Flood control for `policies`' channels, their digests queued on `queue`.
    pub fn with_flood(
        mut self,
        policies: BTreeMap<String, flood::FloodPolicy>,
        queue: Arc<dyn crate::ports::Queue>,
    ) -> Self {
        self.flood = Some(flood::Flood::new(policies, queue));
        self
    }

    /// Posts to each named destination one at a time, `gap` apart.
    pub fn with_pacing(mut self, gaps: BTreeMap<String, Duration>) -> Self {
        self.pace = gaps
            .into_iter()
            .map(|(n, g)| (n, pace::Pace::new(g)))
            .collect();
        self
    }

    /// The time intervals its routes name.
    pub fn with_time_intervals(mut self, intervals: BTreeMap<String, TimeInterval>) -> Self {
        self.intervals = intervals;
        self
    }

    /// A shorter lease past the deadline, for tests that crash a worker mid-delivery.
    pub fn with_lease_slack(mut self, lease_slack: Duration) -> Self {
        self.lease_slack = lease_slack;
        self
    }

    /// The names of every destination, for logs and checks.
    pub fn destinations(&self) -> impl Iterator<Item = &str> {
        self.destinations.keys().map(String::as_str)
    }

    pub async fn deliver(&self, event: &Event, deadline: Instant) -> Report {
        if event.source == Source::Digest {
            return self.deliver_digest(event, deadline).await;
        }
        let now = self.clock.now();
        let mut decided = decide(&self.routes, &self.intervals, event, now);
        if decided.is_empty() {
            // Routed nowhere: nothing to hold back or record, so no store is read.
            return Report {
                key: event.key.clone(),
                targets: Vec::new(),
            };
        }
        let silences = self.silences(now).await;
        for (name, withheld) in decided.iter_mut().filter(|(_, w)| w.is_none()) {
            if let Some(s) = crate::silence::holding(&silences, event, name, now) {
                *withheld = Some(format!("silenced by {}", s.id));
            }
        }
        let outcomes = join_all(decided.iter().map(|(name, withheld)| async move {
            match withheld {
                Some(reason) => self.withhold(name, event, reason).await,
                None => self.deliver_to(name, event, deadline).await,
            }
        }))
        .await;
        let names = decided.into_iter().map(|(name, _)| name.to_string());
        let report = Report {
            key: event.key.clone(),
            targets: names.zip(outcomes).collect(),
        };
        self.remember(event, &report).await;
        report
    }

    /// The silences in force at `now`. Unreadable, they hold nothing back: a delivery the
    /// silence would have withheld is sent rather than risked.
    async fn silences(&self, now: chrono::DateTime<chrono::Utc>) -> Vec<crate::silence::Silence> {
        let mut active: Vec<crate::silence::Silence> = self
            .planned
            .iter()
            .filter(|s| s.is_active(now))
            .cloned()
            .collect();
        match crate::silence::Silence::all(self.records.as_ref(), now).await {
            Ok(all) => active.extend(all.into_iter().filter(|s| s.is_active(now))),
            Err(e) => {
                warn!(error = %e, "Could not read the silences; delivering as if there were none.");
            }
        }
        active
    }

    /// Notes what reached a target now, for the bot's `status`; a failure here loses nothing.
    async fn remember(&self, event: &Event, report: &Report) {
        let reached: Vec<String> = report
            .targets
            .iter()
            .filter_map(|(name, o)| match o {
                TargetOutcome::Delivered { .. } => Some(name.clone()),
                TargetOutcome::Withheld { reason } => Some(format!("{name} ({reason})")),
                _ => None,
            })
            .collect();
        let reached: Vec<&str> = reached.iter().map(String::as_str).collect();
        if reached.is_empty() {
            return;
        }
        let now = self.clock.now();
        let recent = RecentDelivery::of(event, &reached, now);
        if let Err(e) = recent.save(self.records.as_ref()).await {
            warn!(key = %event.key, error = %e, "Could not note the delivery for `status`.");
        }
    }

    async fn deliver_to(&self, name: &str, event: &Event, deadline: Instant) -> TargetOutcome {
        let notifier = match self.destinations.get(name) {
            Some(Destination::Notifier(n)) => n,
            Some(Destination::Spaces(bot)) => {
                // The bot's flood is counted once per event for the channel, before the
                // spaces: a held event is recorded under the channel, and its digest goes to
                // every space.
                if let Some(digest) = self.held(name, event).await {
                    let held = |_| async move {
                        let detail = format!("in digest {}", digest?);
                        Ok(Receipt {
                            detail,
                            attempts: 0,
                        })
                    };
                    return self.claim_and_send(name, event, deadline, held).await;
                }
                return self.deliver_to_spaces(name, bot, event, deadline).await;
            }
            None => {
                error!(channel = name, key = %event.key, "Route names a channel that has no destination; event not delivered.");
                return TargetOutcome::Failed {
                    error: format!("no channel {name:?}"),
                    retryable: false,
                };
            }
        };
        self.claim_and_send(name, event, deadline, |post_by| async move {
            if let Some(digest) = self.held(name, event).await {
                let detail = format!("in digest {}", digest?);
                return Ok(Receipt {
                    detail,
                    attempts: 0,
                });
            }
            match self.pace.get(name) {
                Some(pace) => pace.run(notifier.notify(event, post_by)).await,
                None => notifier.notify(event, post_by).await,
            }
        })
        .await
    }

    /// Whether `event` waits for `channel`'s flood digest: `Some(Ok(digest key))` when held,
    /// `Some(Err)` when the window could not be read or written (retry), `None` to post it. A
    /// digest is not counted again, and an escalation's few messages (who is called, who
    /// answered) never wait for a window.
    async fn held(&self, channel: &str, event: &Event) -> Option<Result<String, NotifyError>> {
        let counted = !matches!(event.source, Source::Digest | Source::Oncall);
        let flood = self.flood.as_ref().filter(|_| counted)?;
        let now = self.clock.now();
        match flood
            .admit(self.records.as_ref(), channel, event, now)
            .await
        {
            Ok(flood::Admit::Send) => None,
            Ok(flood::Admit::Held(digest)) => Some(Ok(digest)),
            Err(detail) => Some(Err(NotifyError::later(detail))),
        }
    }

    /// A channel's flood digest, due after its window: compose it from the window and post it
    /// to that channel only, claimed under the digest's own key.
    async fn deliver_digest(&self, digest: &Event, deadline: Instant) -> Report {
        let mut report = Report {
            key: digest.key.clone(),
            targets: Vec::new(),
        };
        let (Some(flood), Some(channel)) = (&self.flood, digest.only_channels.first()) else {
            warn!(key = %digest.key, "A flood digest for a channel without flood control; dropped.");
            return report;
        };
        let outcome = match flood.compose(self.records.as_ref(), digest).await {
            Ok(Some(message)) => {
                info!(channel = %channel, key = %digest.key, "Posting the flood digest.");
                self.deliver_to(channel, &message, deadline).await
            }
            Ok(None) => return report,
            Err(error) => TargetOutcome::Failed {
                error,
                retryable: true,
            },
        };
        report.targets.push((channel.clone(), outcome));
        report
    }

    /// Claims `target` in the delivery log, sends (`send` must be done by the instant it is
    /// given, which keeps time for recording), records how it went.
    pub(crate) async fn claim_and_send<F>(
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
        if let Err(outcome) = self.claim(target, event, deadline).await {
            return outcome;
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

    /// Takes the right to deliver `event` to `target`; what to report instead when not.
    async fn claim(
        &self,
        target: &str,
        event: &Event,
        deadline: Instant,
    ) -> Result<(), TargetOutcome> {
        let key = &event.key;
        let now = self.clock.now();
        let lease = deadline.saturating_duration_since(Instant::now()) + self.lease_slack;
        let lease_until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let claim = self.log.claim_delivery(key, target, now, lease_until).await;
        taken(target, key, claim)
    }

    /// Records that `event` is not sent to `target`, and why (a mute interval, a silence): one
    /// conditional write, since nothing is posted between a claim and its outcome.
    pub(crate) async fn withhold(
        &self,
        target: &str,
        event: &Event,
        reason: &str,
    ) -> TargetOutcome {
        let key = &event.key;
        let now = self.clock.now();
        let recorded = self.log.withhold_delivery(key, target, reason, now).await;
        match taken(target, key, recorded) {
            Ok(()) => {
                info!(channel = target, %key, reason, "Not sent.");
                TargetOutcome::Withheld {
                    reason: reason.to_string(),
                }
            }
            Err(outcome) => outcome,
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
                .log
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

/// Whether a claim (or a withholding) took the delivery; what to report instead when not.
fn taken(
    target: &str,
    key: &EventKey,
    claim: Result<Claim, crate::ports::StoreError>,
) -> Result<(), TargetOutcome> {
    match claim {
        Ok(Claim::Acquired { .. }) => Ok(()),
        Ok(Claim::AlreadyDelivered) => Err(TargetOutcome::AlreadyDelivered),
        Ok(Claim::Busy) => {
            warn!(channel = target, %key, "Another worker is delivering this event; will retry.");
            Err(TargetOutcome::Busy)
        }
        Err(e) => {
            warn!(channel = target, %key, error = %e, "Delivery log unavailable; will retry.");
            Err(TargetOutcome::Failed {
                error: e.to_string(),
                retryable: true,
            })
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

#[cfg(test)]
mod tests;
