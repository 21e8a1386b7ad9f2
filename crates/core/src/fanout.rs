//! The fan-out: every event to every routed target, as a pipeline of stages (Alertmanager's
//! `notify.Stage`), one file each, in the order [`Fanout::run`] writes once:
//!
//! route → time mute → silence → claim → flood → pace → send (with retry) → record
//!
//! Each stage ends a target's run with a [`TargetOutcome`] or passes it on. Targets run
//! concurrently; one failure never blocks or re-sends another. The Google Chat bot takes the
//! same stages; only `send` differs (it posts to every space, each claimed and recorded on its
//! own). Shared by the `alarm-fanout` Lambda and `opsbell serve`.
//!
//! The claim comes before the flood: a target delivered, withheld or held for a digest before
//! is refused by the claim, so a redelivered message (SQS after its visibility timeout, a DLQ
//! redrive days later) never reaches the flood window again and is neither counted into a later
//! window nor posted after its digest.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tokio::time::Instant;
use tracing::error;

mod claim;
mod digest;
pub mod flood;
mod mute;
mod outcome;
mod pace;
mod presence;
mod record;
mod remember;
mod route;
mod send;
mod silence;
mod spaces;

pub use outcome::{Report, TargetOutcome};
pub use pace::IN_FLIGHT;

use crate::event::{Event, Source};
use crate::ports::{Clock, DeliveryLog, Notifier, Records, Spaces};
use crate::route::{Route, TimeInterval};
use route::Routed;

/// A configured destination as the fan-out delivers to it.
#[derive(Clone)]
pub enum Destination {
    /// One post, one delivery-log entry.
    Notifier(Arc<dyn Notifier>),
    /// The Google Chat bot: one post and one delivery-log entry per registered space.
    Spaces(Arc<dyn Spaces>),
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
    /// Every notifier's posts, bounded: spaced, or at most [`IN_FLIGHT`] at once.
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
        let pace = (destinations.keys())
            .map(|n| (n.clone(), pace::Pace::new(Duration::ZERO)))
            .collect();
        Fanout {
            destinations,
            routes,
            log,
            lease_slack: claim::LEASE_SLACK,
            records,
            clock,
            intervals: BTreeMap::new(),
            flood: None,
            pace,
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
        for (name, gap) in gaps {
            self.pace.insert(name, pace::Pace::new(gap));
        }
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
        if presence::is_report(event) {
            match self.news(event).await {
                Ok(true) => {}
                Ok(false) => return Report::nothing(event),
                Err(e) => return Report::later(event, "presence", e),
            }
        }
        let now = self.clock.now();
        let targets = self.route(event, now);
        if targets.is_empty() {
            // Routed nowhere: nothing to hold back or claim; the history says so.
            let report = Report::nothing(event);
            self.remember(event, &report).await;
            return report;
        }
        let outcomes = match self.silences(now).await {
            Ok(silences) => {
                let runs = (targets.iter())
                    .map(|target| self.run(target, event, &silences, now, deadline));
                join_all(runs).await
            }
            Err(e) => targets.iter().map(|_| TargetOutcome::later(&e)).collect(),
        };
        let names = targets.iter().map(|t| t.name.to_string());
        let report = Report {
            key: event.key.clone(),
            targets: names.zip(outcomes).collect(),
        };
        self.remember(event, &report).await;
        report
    }

    /// One target's run through the stages, in their one order.
    async fn run(
        &self,
        target: &Routed<'_>,
        event: &Event,
        silences: &[crate::silence::Silence],
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> TargetOutcome {
        let name = target.name;
        let Some(destination) = self.destinations.get(name) else {
            error!(channel = name, key = %event.key, "Route names a channel that has no destination; event not delivered.");
            return TargetOutcome::Failed {
                error: format!("no channel {name:?}"),
                retryable: false,
            };
        };
        if let Some(reason) = mute::reason(target) {
            return self.withhold(name, event, &reason).await;
        }
        if let Some(reason) = silence::reason(silences, event, name, now) {
            return self.withhold(name, event, &reason).await;
        }
        let attempt = match self.claim(name, event, deadline).await {
            Ok(attempt) => attempt,
            Err(outcome) => return outcome,
        };
        // A bot that posted to some spaces before must not have the event held now: the
        // spaces that took it would see it again in the digest.
        let count_new = attempt == 1 || matches!(destination, Destination::Notifier(_));
        let result = match self.held(name, event, count_new).await {
            Some(held) => held,
            None => self.send(name, destination, event, deadline).await,
        };
        self.record(name, event, result, deadline).await
    }
}

#[cfg(test)]
mod tests;
