//! Polling: the safety net for lost webhooks, and the only way to hear about KAMONOHASHI jobs.

pub mod orchestrator;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tokio::time::Instant;

use crate::client::orchestrator::OrchestratorClient;
use crate::config::Config;
use crate::http::RetryPolicy;
use crate::ports::{Queue, Records};
use crate::source::uipath::UipathContext;

/// Every configured polled source, run by the `job-poller` Lambda on its schedule and by
/// `opsbell serve` on each source's interval.
pub struct Pollers {
    pub orchestrators: Vec<OrchestratorClient>,
    /// Orchestrator UI base for links (`webhook.orchestrator.url`, else the source's URL).
    pub ui_url: Option<String>,
    pub records: Arc<dyn Records>,
    pub queue: Arc<dyn Queue>,
}

impl Pollers {
    pub fn from_config(
        config: &Config,
        http: &reqwest::Client,
        policy: RetryPolicy,
        records: Arc<dyn Records>,
        queue: Arc<dyn Queue>,
    ) -> Self {
        let orchestrators = config
            .orchestrators
            .iter()
            .map(|s| OrchestratorClient::new(s.clone(), http.clone(), policy))
            .collect();
        Pollers {
            orchestrators,
            ui_url: config.orchestrator.url.clone(),
            records,
            queue,
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.orchestrators
            .iter()
            .map(|c| c.source().name.clone())
            .collect()
    }

    /// Polls the sources named in `only` (all when empty) concurrently.
    pub async fn run(
        &self,
        only: &[String],
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Vec<Result<orchestrator::PollReport, orchestrator::PollError>> {
        let chosen = self
            .orchestrators
            .iter()
            .filter(|c| only.is_empty() || only.contains(&c.source().name));
        join_all(chosen.map(|client| async move {
            let url = self
                .ui_url
                .clone()
                .or_else(|| Some(client.source().url.clone()));
            let ctx = UipathContext {
                orchestrator_url: url,
                received_at: now,
            };
            orchestrator::poll(
                client,
                &ctx,
                self.records.as_ref(),
                self.queue.as_ref(),
                now,
                deadline,
            )
            .await
        }))
        .await
    }
}
