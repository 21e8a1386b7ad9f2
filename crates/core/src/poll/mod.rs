//! Polling: the safety net for lost webhooks, and the only way to hear about KAMONOHASHI jobs.

mod folders;
pub mod hung;
pub mod kamonohashi;
pub mod orchestrator;
mod ping;
mod queues;
mod runtimes;
mod triggers;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tokio::time::Instant;

pub use crate::client::PollJob;
use crate::client::kamonohashi::{KamonohashiClient, KamonohashiError};
use crate::client::orchestrator::{OrchestratorClient, OrchestratorError};
use crate::ports::{DeliveryLog, Queue, QueueError, Records, StoreError};
use crate::source::uipath::UipathContext;
use crate::state::PollTime;
pub use queues::{RestrictedQueue, Targets, UndeliveredQueue};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("Orchestrator {source_name}: {error}")]
    Orchestrator {
        source_name: String,
        error: OrchestratorError,
    },
    #[error("KAMONOHASHI {source_name}: {error}")]
    Kamonohashi {
        source_name: String,
        error: KamonohashiError,
    },
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

/// What one poll of one source did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PollReport {
    pub source: String,
    pub folders: usize,
    pub pages: usize,
    pub jobs: usize,
    /// Folders (tenants) whose poll failed (the others went on).
    pub failed_folders: Vec<i64>,
    /// Outside the source's watch hours: nothing was polled.
    pub skipped: bool,
}

impl PollReport {
    /// A source's poll fails only when every folder (tenant) failed; otherwise the report lists
    /// the failed ones and the others' work stands.
    pub(crate) fn into_result(
        self,
        first_error: Option<PollError>,
    ) -> Result<PollReport, PollError> {
        match first_error {
            Some(e) if self.failed_folders.len() == self.folders => Err(e),
            _ => Ok(self),
        }
    }
}

/// Every configured polled source, run by the `job-poller` Lambda on its schedule and by
/// `opsbell serve` on each source's interval. Built by [`crate::build::pollers`].
pub struct Pollers {
    orchestrators: Vec<OrchestratorClient>,
    kamonohashi: Vec<KamonohashiClient>,
    /// Watch hours are read in this zone.
    timezone: chrono_tz::Tz,
    /// Orchestrator UI base for links (`webhook.orchestrator.url`, else the source's URL).
    ui_url: Option<String>,
    records: Arc<dyn Records>,
    queue: Arc<dyn Queue>,
    /// Where polled Orchestrator jobs the webhook already brought are recognised, and the
    /// channels each is routed to.
    log: Option<(Arc<dyn DeliveryLog>, Targets)>,
    /// opsbell's own dead man's switch, pinged after every cycle (`ping.rs`).
    ping: Option<ping::SelfPing>,
    /// Heartbeat checks, judged after every cycle (`ping.rs`).
    heartbeats: Option<Arc<crate::heartbeat::Heartbeats>>,
}

impl Pollers {
    pub fn new(
        orchestrators: Vec<OrchestratorClient>,
        kamonohashi: Vec<KamonohashiClient>,
        timezone: chrono_tz::Tz,
        ui_url: Option<String>,
        records: Arc<dyn Records>,
        queue: Arc<dyn Queue>,
    ) -> Self {
        Pollers {
            orchestrators,
            kamonohashi,
            timezone,
            ui_url,
            records,
            queue,
            log: None,
            ping: None,
            heartbeats: None,
        }
    }

    /// Queue only the Orchestrator jobs not yet delivered everywhere (see [`UndeliveredQueue`]);
    /// a poll restricted to some channels still queues every job. Only for a configuration
    /// whose routes send a job's poll copy where its webhook copy goes (no `via`).
    pub fn with_delivery_log(mut self, log: Arc<dyn DeliveryLog>, targets: Targets) -> Self {
        self.log = Some((log, targets));
        self
    }

    /// Every poll to run, each with its interval: see [`crate::client::jobs`].
    pub fn schedule(&self) -> Vec<PollJob> {
        let orchestrators: Vec<_> = self
            .orchestrators
            .iter()
            .map(|c| c.source().clone())
            .collect();
        let kamonohashi: Vec<_> = self
            .kamonohashi
            .iter()
            .map(|c| c.source().clone())
            .collect();
        crate::client::jobs(&orchestrators, &kamonohashi)
    }

    /// Polls the sources named in `only` (all when empty) concurrently; the events go only to
    /// `destinations` when that is not empty. A source with schedules of its own is polled once
    /// per schedule when no destinations are given. Each set of destinations keeps its own
    /// watermarks: a poll for one target never advances past jobs another has not seen.
    pub async fn run(
        &self,
        only: &[String],
        destinations: &[String],
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Vec<Result<PollReport, PollError>> {
        let wanted = |name: &String| only.is_empty() || only.contains(name);
        let restricted = RestrictedQueue {
            inner: self.queue.as_ref(),
            channels: destinations.to_vec(),
        };
        let queue: &dyn Queue = if destinations.is_empty() {
            self.queue.as_ref()
        } else {
            &restricted
        };
        let records = self.records.as_ref();
        let mut plans: Vec<(&OrchestratorClient, Vec<String>)> = Vec::new();
        for client in self
            .orchestrators
            .iter()
            .filter(|c| wanted(&c.source().name))
        {
            let schedules = &client.source().schedules;
            if !destinations.is_empty() || schedules.is_empty() {
                plans.push((client, destinations.to_vec()));
            } else {
                plans.extend(schedules.iter().map(|s| (client, s.channels.clone())));
            }
        }
        let uipath = plans.into_iter().map(|(client, channels)| async move {
            let url = self
                .ui_url
                .clone()
                .or_else(|| Some(client.source().url.clone()));
            let ctx = UipathContext {
                orchestrator_url: url,
                received_at: now,
                tenant: client.source().tenant_id.map(|t| t.to_string()),
            };
            let scope = PollJob::scope(&client.source().name, &channels);
            let restricted = RestrictedQueue {
                inner: self.queue.as_ref(),
                channels,
            };
            let undelivered = (self.log.as_ref()).map(|(log, targets)| UndeliveredQueue {
                inner: self.queue.as_ref(),
                log: log.as_ref(),
                targets,
            });
            let queue: &dyn Queue = match (restricted.channels.is_empty(), &undelivered) {
                (true, Some(undelivered)) => undelivered,
                (true, None) => self.queue.as_ref(),
                (false, _) => &restricted,
            };
            orchestrator::poll(client, &scope, &ctx, records, queue, now, deadline).await
        });
        let kqi = self
            .kamonohashi
            .iter()
            .filter(|c| wanted(&c.source().name))
            .map(|client| kamonohashi::poll(client, self.timezone, records, queue, now, deadline));
        let watched = (self.orchestrators.iter())
            // Once per cycle: not again in a poll for some channels only.
            .filter(|_| destinations.is_empty())
            .filter(|c| wanted(&c.source().name))
            .flat_map(|client| {
                let url = (self.ui_url.clone()).or_else(|| Some(client.source().url.clone()));
                let ctx = UipathContext {
                    orchestrator_url: url,
                    received_at: now,
                    tenant: client.source().tenant_id.map(|t| t.to_string()),
                };
                let queue = self.queue.as_ref();
                let source = client.source();
                let triggers = (source.triggers.is_some()).then(|| {
                    let ctx = ctx.clone();
                    Box::pin(async move {
                        triggers::watch_source(client, &ctx, records, queue, now, deadline).await
                    }) as futures::future::BoxFuture<'_, _>
                });
                let hung = (source.hung.is_some()).then(|| {
                    Box::pin(async move {
                        hung::watch_source(client, &ctx, records, queue, now, deadline).await
                    }) as futures::future::BoxFuture<'_, _>
                });
                triggers.into_iter().chain(hung)
            });
        let (mut results, more, watched) =
            futures::join!(join_all(uipath), join_all(kqi), join_all(watched));
        results.extend(more);
        results.extend(watched);
        results
    }

    /// Poll lag per source, in seconds: 0 for a source that was just polled completely (every
    /// folder or tenant, or skipped outside its watch hours), otherwise the time since its last
    /// complete poll (`WATERMARK#<source>`, `-`). Sources never polled completely are left out.
    /// The job-poller publishes these as a metric with an alarm, so a source that keeps failing
    /// is noticed even while others succeed.
    pub async fn lags(
        &self,
        only: &[String],
        results: &[Result<PollReport, PollError>],
        now: DateTime<Utc>,
    ) -> Vec<(String, i64)> {
        let names = self
            .orchestrators
            .iter()
            .map(|c| c.source().name.clone())
            .chain(self.kamonohashi.iter().map(|c| c.source().name.clone()))
            .filter(|n| only.is_empty() || only.contains(n));
        let mut lags = Vec::new();
        for name in names {
            let complete = results.iter().any(|r| {
                r.as_ref()
                    .is_ok_and(|r| r.source == name && r.failed_folders.is_empty())
            });
            let records = self.records.as_ref();
            if complete {
                let at = PollTime { polled_at: now };
                if let Err(e) = at.save(records, &name).await {
                    tracing::warn!(source = %name, error = %e, "Could not record the poll time.");
                }
                lags.push((name, 0));
                continue;
            }
            let last = PollTime::load(records, &name).await.ok().flatten();
            if let Some(PollTime { polled_at: at }) = last {
                lags.push((name, (now - at).num_seconds().max(0)));
            }
        }
        lags
    }
}

#[cfg(test)]
mod tests;
