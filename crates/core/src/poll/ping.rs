//! opsbell's own dead man's switch: after every poll cycle, a `POST` to a configured URL
//! (`self_ping.url`: healthchecks.io, Cronitor, another opsbell's `/ping/<uuid>`), with `/fail`
//! appended when a poll failed, as healthchecks.io reads it. If opsbell itself dies (the VM of
//! `opsbell serve`, a broken deployment), the pings stop and someone outside hears. The URL is a
//! secret: it never appears in a log line.
//! <https://healthchecks.io/docs/http_api/>

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tracing::{info, warn};

use super::{PollError, PollReport, Pollers};
use crate::heartbeat::Heartbeats;
use crate::ports::StoreError;

/// A ping's body: a summary, at most 10 KB as healthchecks.io keeps.
const BODY_MAX: usize = 10_000;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to ping.
pub(super) struct SelfPing {
    pub url: SecretString,
    pub http: reqwest::Client,
}

impl Pollers {
    /// Pings after every poll cycle (see [`Pollers::cycle`]).
    pub fn with_self_ping(mut self, url: SecretString, http: reqwest::Client) -> Self {
        self.ping = Some(SelfPing { url, http });
        self
    }

    /// Judges `heartbeats` after every poll cycle (see [`Pollers::cycle`]).
    pub fn with_heartbeats(mut self, heartbeats: Arc<Heartbeats>) -> Self {
        self.heartbeats = Some(heartbeats);
        self
    }

    /// Whether a self-ping is configured.
    pub fn pings(&self) -> bool {
        self.ping.is_some()
    }

    /// One poll cycle as the `job-poller` Lambda and `opsbell serve` run it: [`Pollers::run`],
    /// then the heartbeat checks' tick, then the self-ping, `/fail` when a poll (or one of its
    /// folders, or the tick) failed.
    pub async fn cycle(
        &self,
        only: &[String],
        destinations: &[String],
        now: chrono::DateTime<chrono::Utc>,
        deadline: tokio::time::Instant,
    ) -> Vec<Result<PollReport, PollError>> {
        let results = self.run(only, destinations, now, deadline).await;
        let ticked = match &self.heartbeats {
            Some(heartbeats) => heartbeats.tick(now).await.map(drop),
            None => Ok(()),
        };
        if let Some(ping) = &self.ping {
            ping.send(&results, ticked.err()).await;
        }
        results
    }
}

impl SelfPing {
    async fn send(&self, results: &[Result<PollReport, PollError>], tick: Option<StoreError>) {
        let tick = tick.map(|e| format!("heartbeat checks: {e}"));
        let failures: Vec<String> = (results.iter())
            .filter_map(|r| match r {
                Err(e) => Some(e.to_string()),
                Ok(r) if !r.failed_folders.is_empty() => Some(format!(
                    "{}: folders {:?} failed",
                    r.source, r.failed_folders
                )),
                Ok(_) => None,
            })
            .chain(tick)
            .collect();
        let base = self.url.expose_secret().trim_end_matches('/');
        let (url, body) = match failures.is_empty() {
            true => (
                base.to_string(),
                format!("opsbell polled {} source(s)", results.len()),
            ),
            false => (format!("{base}/fail"), failures.join("\n")),
        };
        let body = crate::render::fit::prefix_bytes(&body, BODY_MAX).to_string();
        let sent = self
            .http
            .post(&url)
            .timeout(TIMEOUT)
            .body(body)
            .send()
            .await;
        match sent.map(|r| r.status()) {
            Ok(status) if status.is_success() => {
                info!(failed = !failures.is_empty(), "Self-ping sent.");
            }
            Ok(status) => {
                warn!(%status, "The self-ping was refused; whoever watches it will hear of opsbell as down.")
            }
            Err(e) => {
                warn!(error = %e.without_url(), "The self-ping could not be sent; whoever watches it will hear of opsbell as down.")
            }
        }
    }
}
