//! Stage 2, time mute: a route muted now (`mute_time_intervals`, or outside its
//! `active_time_intervals`) withholds the event from its channels, recorded with the reason.

use super::route::Routed;

/// Why `target` must not hear the event now, if it must not.
pub(super) fn reason(target: &Routed<'_>) -> Option<String> {
    target.muted.clone()
}
