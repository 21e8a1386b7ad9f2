//! The destinations: one adapter file each, with its configuration (`XConfig`, defaults and
//! validation beside it) and its constructor `X::new(AdapterContext, XConfig)` (the Chat bot also takes the space
//! registry it reads). Every one is a
//! [`Notifier`](crate::ports::Notifier); [`crate::build`] is the only place that names them all.

pub mod backlog;
pub mod chat_api;
pub mod chatwork;
pub mod console;
pub mod google_chat;
pub mod google_chat_bot;
pub mod oncall;
pub mod slack;
pub mod teams;
#[cfg(test)]
pub(crate) mod testkit;
pub mod webhook;

use serde_json::Value;

use crate::event::{Event, State};
use crate::http::RetryPolicy;
use crate::problem::Problems;
use crate::render::RenderOptions;

/// What every adapter shares: its channel name (for logs), the process's HTTP client, the retry
/// policy and rendering options.
#[derive(Debug, Clone)]
pub struct AdapterContext {
    pub name: String,
    pub http: reqwest::Client,
    pub policy: RetryPolicy,
    pub render: RenderOptions,
}

/// A destination's configuration as `config` reads it: the `type` that names it, how it is read
/// and checked at its path, the states it hears when no route names it, and what it would send.
pub trait ChannelConfig: Sized {
    /// The channel's `type` (`"slack"`).
    const KIND: &'static str;

    /// Reads and checks the configuration at `path` (`channels.ops`); `None` when anything is
    /// wrong, each problem in `p`.
    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self>;

    /// The states a channel of this kind gets when no route names it: chat hears every job end,
    /// every trigger that could not start, every alarm change, robots that went offline
    /// and came back, heartbeats, and jobs stuck or hung.
    fn default_states(&self) -> Vec<State> {
        vec![
            State::Faulted,
            State::NotStarted,
            State::Successful,
            State::Stopped,
            State::Alarm,
            State::Ok,
            State::Offline,
            State::Online,
            State::Late,
            State::Down,
            State::Up,
            State::Stuck,
            State::Hung,
        ]
    }

    /// Exactly what the channel would receive for `event`, without credentials (`opsbell send
    /// --dry-run`).
    fn preview(&self, event: &Event, opts: RenderOptions) -> String;

    /// Whether a flood is held back for digests by default (chat: yes).
    fn floods(&self) -> bool {
        false
    }

    /// The least time between two posts, from the vendor's documented rate limit; posts are
    /// also sent one at a time. `None`: no pacing.
    fn spacing(&self) -> Option<std::time::Duration> {
        None
    }
}

/// Whether `refusal` says the message itself was malformed, so its plain-text form may pass:
/// HTTP 413, or 400 whose detail names one of `reasons` (any 400 when `reasons` is empty).
pub(crate) fn malformed(refusal: &crate::ports::NotifyError, reasons: &[&str]) -> bool {
    match refusal {
        crate::ports::NotifyError::Permanent { status: 413, .. } => true,
        crate::ports::NotifyError::Permanent {
            status: 400,
            detail,
            ..
        } => reasons.is_empty() || reasons.iter().any(|r| detail.contains(r)),
        _ => false,
    }
}

/// JSON, indented, for previews.
pub(crate) fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
