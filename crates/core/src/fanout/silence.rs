//! Stage 3, silence: the configuration's planned silences and the stored ones (chat, CLI),
//! read once per event; a silence covering the event at a channel withholds it there.

use chrono::{DateTime, Utc};
use tracing::warn;

use super::Fanout;
use crate::event::Event;
use crate::silence::Silence;

impl Fanout {
    /// The silences in force at `now`. Unreadable, the event waits (a retry, then the DLQ):
    /// posted anyway, it would wake someone who silenced it for a maintenance window, and the
    /// delivery log lives in the same store, so a claim would most likely fail too.
    pub(super) async fn silences(&self, now: DateTime<Utc>) -> Result<Vec<Silence>, String> {
        let mut active: Vec<Silence> = (self.planned.iter())
            .filter(|s| s.is_active(now))
            .cloned()
            .collect();
        match Silence::all(self.records.as_ref(), now).await {
            Ok(all) => active.extend(all.into_iter().filter(|s| s.is_active(now))),
            Err(e) => {
                warn!(error = %e, "Could not read the silences; the event will be retried.");
                return Err(format!("silences unreadable: {e}"));
            }
        }
        Ok(active)
    }
}

/// Why `channel` must not hear `event` now, if a silence holds it.
pub(super) fn reason(
    silences: &[Silence],
    event: &Event,
    channel: &str,
    now: DateTime<Utc>,
) -> Option<String> {
    crate::silence::holding(silences, event, channel, now).map(|s| format!("silenced by {}", s.id))
}
