//! Stage 3, silence: the configuration's planned silences and the stored ones (chat, CLI),
//! read once per event; a silence covering the event at a channel withholds it there.

use chrono::{DateTime, Utc};
use tracing::warn;

use super::Fanout;
use crate::event::Event;
use crate::silence::Silence;

impl Fanout {
    /// The silences in force at `now`. Unreadable, they hold nothing back: a delivery the
    /// silence would have withheld is sent rather than risked.
    pub(super) async fn silences(&self, now: DateTime<Utc>) -> Vec<Silence> {
        let mut active: Vec<Silence> = (self.planned.iter())
            .filter(|s| s.is_active(now))
            .cloned()
            .collect();
        match Silence::all(self.records.as_ref(), now).await {
            Ok(all) => active.extend(all.into_iter().filter(|s| s.is_active(now))),
            Err(e) => {
                warn!(error = %e, "Could not read the silences; delivering as if there were none.");
            }
        }
        active
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
