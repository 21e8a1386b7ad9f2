//! What each stage may end a target's run with, and what a whole event's run reports.

use crate::event::EventKey;

/// What happened at one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOutcome {
    Delivered {
        attempts: u32,
        detail: String,
    },
    /// The delivery log says so: nothing sent.
    AlreadyDelivered,
    /// The destination no longer exists (a Chat space the bot left) and was forgotten.
    Forgotten {
        detail: String,
    },
    /// Another worker holds the claim; try again later.
    Busy,
    /// Not sent on purpose (a mute interval, a silence), and recorded so; never sent later.
    Withheld {
        reason: String,
    },
    Failed {
        error: String,
        retryable: bool,
    },
}

impl TargetOutcome {
    /// Not done at this target: it failed (a permanent refusal too: it posted nothing, so a
    /// later try is safe) or another worker holds it.
    pub fn is_unfinished(&self) -> bool {
        matches!(self, TargetOutcome::Busy | TargetOutcome::Failed { .. })
    }

    /// A failure a later try may mend, before anything was sent.
    pub(super) fn later(error: impl ToString) -> TargetOutcome {
        TargetOutcome::Failed {
            error: error.to_string(),
            retryable: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub key: EventKey,
    pub targets: Vec<(String, TargetOutcome)>,
}

impl Report {
    /// Nothing to deliver anywhere.
    pub fn nothing(event: &crate::event::Event) -> Report {
        Report {
            key: event.key.clone(),
            targets: Vec::new(),
        }
    }

    /// A stage before routing failed (`stage`): the message comes back later.
    pub(super) fn later(event: &crate::event::Event, stage: &str, e: impl ToString) -> Report {
        Report {
            key: event.key.clone(),
            targets: vec![(stage.to_string(), TargetOutcome::later(e))],
        }
    }

    /// True when some target is unfinished, so the message must return to the queue; after the
    /// queue's receive limit that lands it in the dead-letter queue for a human instead of
    /// letting it vanish.
    pub fn should_retry(&self) -> bool {
        self.targets.iter().any(|(_, o)| o.is_unfinished())
    }
}
