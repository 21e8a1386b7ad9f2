//! Stage 7, send: one post with retry (the adapter's own retry policy, bounded by the instant
//! it is given), paced per destination. Only here do destinations differ: a notifier posts
//! once; the Google Chat bot posts to each of its spaces (`spaces.rs`).

use std::future::Future;

use tokio::time::Instant;
use tracing::error;

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
                let post = async {
                    let rich = notifier.notify(event, post_by).await;
                    or_plain(name, event, rich, |refusal| {
                        notifier.notify_plain(event, refusal, post_by)
                    })
                    .await
                };
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

/// A rich message the vendor refused as malformed goes once more as plain text (`plain`
/// says whether this vendor has that form and the refusal is of that kind), so the alert
/// still arrives; the refusal is an ERROR either way, since a renderer produced something the
/// vendor does not take. Only if the plain text is refused too is it a refusal.
pub(super) async fn or_plain<F, P>(
    target: &str,
    event: &Event,
    rich: Result<Receipt, NotifyError>,
    plain: P,
) -> Result<Receipt, NotifyError>
where
    P: FnOnce(NotifyError) -> F,
    F: Future<Output = Option<Result<Receipt, NotifyError>>>,
{
    let refusal = match rich {
        Err(refusal @ NotifyError::Permanent { .. }) => refusal,
        other => return other,
    };
    let Some(sent) = plain(refusal.clone()).await else {
        return Err(refusal);
    };
    let key = &event.key;
    match &sent {
        Ok(_) => {
            error!(target_name = target, %key, refusal = %refusal, "The vendor refused the message as malformed; it was sent as plain text instead.");
        }
        Err(e) => {
            error!(target_name = target, %key, refusal = %refusal, plain = %e, "The vendor refused the message as malformed, and its plain-text form too.");
        }
    }
    sent.map(|r| Receipt {
        detail: format!("as plain text ({refusal}): {}", r.detail),
        attempts: r.attempts,
    })
}

/// When posting must end: a quarter of the time left (at most 10 s) stays for recording the
/// delivery, so a store that blinks right after a post does not make it post twice.
pub(super) fn post_deadline(deadline: Instant) -> Instant {
    let reserve = (deadline.saturating_duration_since(Instant::now()) / 4).min(RECORD_RESERVE_MAX);
    deadline - reserve
}

const RECORD_RESERVE_MAX: std::time::Duration = std::time::Duration::from_secs(10);
