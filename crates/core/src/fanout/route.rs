//! Stage 1, route: which channels hear the event, each with the mute interval it falls in
//! ([`crate::route::decide`]). An event no route hears is said at INFO, never dropped unseen.

use chrono::{DateTime, Utc};
use tracing::info;

use super::Fanout;
use crate::event::Event;

/// One channel an event is routed to, and the mute interval that holds it back now, if any.
pub(super) struct Routed<'a> {
    pub name: &'a str,
    pub muted: Option<String>,
}

impl Fanout {
    pub(super) fn route(&self, event: &Event, now: DateTime<Utc>) -> Vec<Routed<'_>> {
        let decided = crate::route::decide(&self.routes, &self.intervals, event, now);
        if decided.is_empty() {
            info!(key = %event.key, state = %event.state, source = %event.source.as_str(),
                "No route hears this event; nothing sent.");
        }
        decided
            .into_iter()
            .map(|(name, muted)| Routed { name, muted })
            .collect()
    }
}
