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
#[cfg(test)]
pub(crate) mod testkit;

use crate::http::RetryPolicy;
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
