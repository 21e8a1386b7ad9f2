//! Stage 7, send: one post with retry (the adapter's own retry policy, bounded by the instant
//! it is given), paced per destination. Only here do destinations differ: a notifier posts
//! once; the Google Chat bot posts to each of its spaces (`spaces.rs`).

use tokio::time::Instant;

use super::{Destination, Fanout};
use crate::event::Event;
use crate::ports::{NotifyError, Receipt};

impl Fanout {
    pub(super) async fn send(
        &self,
        name: &str,
        destination: &Destination,
        event: &Event,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError> {
        let post_by = post_deadline(deadline);
        match destination {
            Destination::Notifier(notifier) => {
                let post = notifier.notify(event, post_by);
                match self.pace.get(name) {
                    Some(pace) => pace.run(post).await,
                    None => post.await,
                }
            }
            Destination::Spaces(bot) => {
                self.send_to_spaces(name, bot.as_ref(), event, post_by)
                    .await
            }
        }
    }
}

/// When posting must end: a quarter of the time left (at most 10 s) stays for recording the
/// delivery, so a store that blinks right after a post does not make it post twice.
pub(super) fn post_deadline(deadline: Instant) -> Instant {
    let reserve = (deadline.saturating_duration_since(Instant::now()) / 4).min(RECORD_RESERVE_MAX);
    deadline - reserve
}

const RECORD_RESERVE_MAX: std::time::Duration = std::time::Duration::from_secs(10);
