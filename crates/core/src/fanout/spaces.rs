//! The send stage of a destination made of spaces (the Google Chat bot): every registered
//! space is its own delivery (`<channel>#<space>`: claim → post → record), at most
//! `concurrency` at a time, so a retry posts only to the spaces that did not take it.
//!
//! A refusal never empties the registry by itself. Spaces that answered 403 or 404 are
//! forgotten only when another space took the same event in the same run, which shows the app
//! itself works; when every space tried refused (a removed app, a wrong `api_base`, a project
//! refused), nothing is forgotten: an ERROR, a retry, then the DLQ. A bot in no space is a
//! failure too, never "delivered to 0 of 0".

use futures::{StreamExt, stream};
use tokio::time::Instant;
use tracing::{error, warn};

use super::{Fanout, TargetOutcome};
use crate::event::Event;
use crate::ports::{NotifyError, Receipt, Spaces};

impl Fanout {
    pub(super) async fn send_to_spaces(
        &self,
        name: &str,
        bot: &dyn Spaces,
        event: &Event,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError> {
        let key = &event.key;
        let spaces = bot.spaces().await.map_err(|e| {
            warn!(channel = name, %key, error = %e, "Space registry unavailable; will retry.");
            NotifyError::later(format!("space registry: {e}"))
        })?;
        if spaces.is_empty() {
            error!(channel = name, %key, "The Chat bot is in no space, so nobody hears this; add it to a space. The event will be retried, then dead-lettered.");
            return Err(NotifyError::later("the bot is in no space"));
        }
        let posts = spaces.into_iter().map(|space| async move {
            let target = format!("{name}#{space}");
            let outcome = match self.claim(&target, event, deadline).await {
                Err(outcome) => outcome,
                Ok(_) => {
                    let rich = bot.post(&space, event, deadline).await;
                    let result = super::send::or_plain(&target, event, rich, |refusal| {
                        bot.post_plain(&space, event, refusal, deadline)
                    })
                    .await;
                    let refused = matches!(
                        result,
                        Err(NotifyError::Permanent {
                            status: 403 | 404,
                            ..
                        })
                    );
                    let outcome = self.record(&target, event, result, deadline).await;
                    return (space, outcome, refused);
                }
            };
            (space, outcome, false)
        });
        let mut outcomes: Vec<(String, TargetOutcome, bool)> = stream::iter(posts)
            .buffer_unordered(bot.concurrency())
            .collect()
            .await;
        let any_posted =
            (outcomes.iter()).any(|(_, o, _)| matches!(o, TargetOutcome::Delivered { .. }));
        let refused = outcomes.iter().filter(|(_, _, r)| *r).count();
        if refused > 0 && !any_posted {
            error!(
                channel = name,
                spaces = refused,
                "Every space the bot tried refused it (HTTP 403/404); none is forgotten and the event will be retried. Check the Chat API, the app's configuration and `api_base`."
            );
        }
        for (space, outcome, was_refused) in outcomes.iter_mut() {
            if !*was_refused {
                continue;
            }
            *outcome = match any_posted {
                true => {
                    warn!(space = %space, channel = name, "The space refused the bot while others took the event; forgetting it.");
                    bot.forget(space).await;
                    TargetOutcome::Forgotten {
                        detail: format!("{space} refused the bot; forgotten"),
                    }
                }
                false => TargetOutcome::later(format!("{space} refused the bot")),
            };
        }
        let outcomes: Vec<TargetOutcome> = outcomes.into_iter().map(|(_, o, _)| o).collect();
        summarize(&outcomes)
    }
}

/// The bot's one result: retried when any space failed or is busy; otherwise delivered, with
/// how many spaces heard it (forgotten spaces are not failures).
fn summarize(outcomes: &[TargetOutcome]) -> Result<Receipt, NotifyError> {
    let count = |f: fn(&TargetOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let posted = count(|o| matches!(o, TargetOutcome::Delivered { .. }));
    let before = count(|o| matches!(o, TargetOutcome::AlreadyDelivered));
    let total = outcomes.len();
    let retry: Vec<&TargetOutcome> = outcomes.iter().filter(|o| o.is_unfinished()).collect();
    if let Some(first) = retry.first() {
        let error = match first {
            TargetOutcome::Failed { error, .. } => error.clone(),
            _ => "busy".into(),
        };
        return Err(NotifyError::later(format!(
            "{} of {total} space(s) to retry; first: {error}",
            retry.len()
        )));
    }
    let attempts = (outcomes.iter())
        .map(|o| match o {
            TargetOutcome::Delivered { attempts, .. } => *attempts,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    Ok(Receipt {
        attempts,
        detail: format!(
            "{posted} of {total} space(s) posted now, {before} before, {} not posted",
            total - posted - before
        ),
    })
}
