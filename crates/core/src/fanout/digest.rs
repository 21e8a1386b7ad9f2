//! A channel's flood digest, due after its window: composed from the window and posted to that
//! channel only, through the same claim → send → record as any event, under the digest's key.

use tokio::time::Instant;
use tracing::{error, info};

use super::{Fanout, Report, TargetOutcome};
use crate::event::Event;

impl Fanout {
    pub(super) async fn deliver_digest(&self, digest: &Event, deadline: Instant) -> Report {
        let mut report = Report {
            key: digest.key.clone(),
            targets: Vec::new(),
        };
        let Some(channel) = digest.only_channels.first() else {
            error!(key = %digest.key, "A flood digest names no channel; it cannot be posted.");
            return report;
        };
        let outcome = match (&self.flood, self.destinations.get(channel)) {
            (Some(flood), Some(destination)) => {
                match flood.compose(self.records.as_ref(), digest).await {
                    Ok(None) => return report,
                    Ok(Some(message)) => {
                        info!(channel = %channel, key = %digest.key, "Posting the flood digest.");
                        match self.claim(channel, &message, deadline).await {
                            Err(outcome) => outcome,
                            Ok(_) => {
                                let sent =
                                    self.send(channel, destination, &message, deadline).await;
                                self.record(channel, &message, sent, deadline).await
                            }
                        }
                    }
                    Err(error) => TargetOutcome::later(error),
                }
            }
            _ => {
                error!(channel = %channel, key = %digest.key, "A flood digest for a channel that has no flood control or no destination now; kept for a redrive after the configuration is fixed.");
                TargetOutcome::Failed {
                    error: format!("no flood-controlled channel {channel:?}"),
                    retryable: true,
                }
            }
        };
        report.targets.push((channel.clone(), outcome));
        report
    }
}
