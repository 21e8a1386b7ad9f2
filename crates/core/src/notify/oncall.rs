//! The `oncall` destination: starts the phone escalation for an event, through the
//! [`Escalations`] port (the caller's queue on AWS, a local task in `opsbell serve`).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::time::Instant;

use serde_json::Value;

use super::ChannelConfig;
use crate::event::{Event, State};
use crate::ports::{Escalations, Notifier, NotifyError, Receipt, Start};
use crate::problem::Problems;
use crate::render::RenderOptions;

/// `{"type": "oncall"}`; the caller's settings are its environment. With lambda-connect's
/// mapping mode, `"topic": "<sns topic name>"` picks that topic's rotation and message for the
/// events this channel hears.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OncallConfig {
    #[serde(default)]
    pub topic: Option<String>,
}

impl ChannelConfig for OncallConfig {
    const KIND: &'static str = "oncall";

    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self> {
        p.read(path, value, |_, _, _| {})
    }

    /// A phone call is for alarms only.
    fn default_states(&self) -> Vec<State> {
        vec![State::Alarm]
    }

    fn preview(&self, event: &Event, _: RenderOptions) -> String {
        let title = Start::of(event).title;
        format!("start the on-call escalation: {title}")
    }
}

/// The `oncall` channel: hands the event to [`Escalations`]. Unlike the HTTP adapters it is
/// built from the process's escalation port, not from an [`AdapterContext`](super::AdapterContext).
pub struct OncallNotifier(pub Arc<dyn Escalations>, pub OncallConfig);

#[async_trait]
impl Notifier for OncallNotifier {
    async fn notify(&self, event: &Event, _deadline: Instant) -> Result<Receipt, NotifyError> {
        let mut start = Start::of(event);
        start.topic = self.1.topic.clone();
        self.0
            .start(&start)
            .await
            .map_err(|e| NotifyError::Retryable {
                detail: e.to_string(),
                attempts: 1,
                retry_after: None,
            })?;
        Ok(Receipt {
            detail: format!("escalation {}", start.id),
            attempts: 1,
        })
    }
}
