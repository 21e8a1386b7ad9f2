//! The Google Chat bot's targets: every registered space, each its own delivery.

use futures::{StreamExt, stream};
use tokio::time::Instant;
use tracing::warn;

use super::{Fanout, TargetOutcome};
use crate::event::Event;
use crate::notify::google_chat_bot::GoogleChatBotNotifier;
use crate::ports::NotifyError;

impl Fanout {
    /// Every registered space of `bot`, at most `bot.concurrency` at a time, each with its own
    /// delivery-log entry (`<channel>#<space>`), so a retry posts only to the spaces that failed.
    pub(super) async fn deliver_to_spaces(
        &self,
        name: &str,
        bot: &GoogleChatBotNotifier,
        event: &Event,
        deadline: Instant,
    ) -> TargetOutcome {
        let key = &event.key;
        let spaces = match bot.spaces().await {
            Ok(spaces) => spaces,
            Err(e) => {
                warn!(channel = name, %key, error = %e, "Space registry unavailable; will retry.");
                return TargetOutcome::Failed {
                    error: e.to_string(),
                    retryable: true,
                };
            }
        };
        if spaces.is_empty() {
            warn!(channel = name, %key, "The Chat bot is in no space yet; add it to a space to hear alerts.");
        }
        // Spaces that answered an unclear 403: a removed app only if another space took the
        // event (see `google_chat_bot`).
        let refused = std::sync::Mutex::new(Vec::new());
        let posts = spaces.into_iter().map(|space| {
            let refused = &refused;
            async move {
                let target = format!("{name}#{space}");
                let name_of_space = &space;
                let post = |post_by| async move {
                    let space = name_of_space;
                    let result = bot.post(space, event, post_by).await;
                    if let Err(NotifyError::Permanent { status: 403, .. }) = result {
                        refused.lock().unwrap().push(space.clone());
                    }
                    result
                };
                let outcome = self.claim_and_send(&target, event, deadline, post).await;
                (space, outcome)
            }
        });
        let mut outcomes: Vec<(String, TargetOutcome)> = stream::iter(posts)
            .buffer_unordered(bot.concurrency())
            .collect()
            .await;
        let refused = refused.into_inner().unwrap_or_default();
        let any_posted = outcomes
            .iter()
            .any(|(_, o)| matches!(o, TargetOutcome::Delivered { .. }));
        for space in bot.settle(&refused, any_posted).await {
            if let Some((_, o)) = outcomes.iter_mut().find(|(s, _)| *s == space) {
                *o = TargetOutcome::Forgotten {
                    detail: format!("HTTP 403: the bot was removed from {space}; forgotten"),
                };
            }
        }
        let outcomes: Vec<TargetOutcome> = outcomes.into_iter().map(|(_, o)| o).collect();
        summarize_spaces(&outcomes)
    }
}

/// One outcome for a bot: retried when any space failed or is busy; otherwise delivered, with
/// how many spaces heard it (forgotten spaces are not failures).
fn summarize_spaces(outcomes: &[TargetOutcome]) -> TargetOutcome {
    let count = |f: fn(&TargetOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let posted = count(|o| matches!(o, TargetOutcome::Delivered { .. }));
    let before = count(|o| matches!(o, TargetOutcome::AlreadyDelivered));
    let retry: Vec<&TargetOutcome> = outcomes.iter().filter(|o| o.is_unfinished()).collect();
    let attempts = outcomes
        .iter()
        .map(|o| match o {
            TargetOutcome::Delivered { attempts, .. } => *attempts,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    let total = outcomes.len();
    if let Some(first) = retry.first() {
        let error = match first {
            TargetOutcome::Failed { error, .. } => error.clone(),
            _ => "busy".into(),
        };
        return TargetOutcome::Failed {
            error: format!(
                "{} of {total} space(s) to retry; first: {error}",
                retry.len()
            ),
            retryable: true,
        };
    }
    if total > 0 && before == total {
        return TargetOutcome::AlreadyDelivered;
    }
    TargetOutcome::Delivered {
        attempts,
        detail: format!(
            "{posted} of {total} space(s) posted now, {before} before, {} not posted",
            total - posted - before
        ),
    }
}
