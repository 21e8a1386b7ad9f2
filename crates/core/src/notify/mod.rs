//! HTTP adapters for chat destinations, and building every configured target from [`Config`].

pub mod chat_api;
pub mod chat_bot;
pub mod chatwork;
pub mod console;
pub mod google_chat;
pub mod slack;
#[cfg(test)]
pub(crate) mod testkit;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{Channel, Config};
use crate::http::RetryPolicy;
use tokio::time::Instant;

use crate::event::Event;
use crate::ports::{Notifier, NotifyError, Receipt, Ticketing};
use crate::render::RenderOptions;
use crate::ticket::backlog::BacklogTickets;

/// What every adapter shares: its channel name (for logs), the HTTP client, retry policy and
/// rendering options.
#[derive(Debug, Clone)]
pub struct AdapterContext {
    pub name: String,
    pub http: reqwest::Client,
    pub policy: RetryPolicy,
    pub render: RenderOptions,
}

/// A destination as the fan-out sees it.
#[derive(Clone)]
pub enum Sink {
    Notifier(Arc<dyn Notifier>),
    Tickets(Arc<dyn Ticketing>),
}

/// Delivers `event` to one sink.
pub async fn deliver(
    sink: &Sink,
    event: &Event,
    deadline: Instant,
) -> Result<Receipt, NotifyError> {
    match sink {
        Sink::Notifier(n) => n.notify(event, deadline).await,
        Sink::Tickets(t) => t.open_ticket(event, deadline).await,
    }
}

/// Exactly what `channel` would receive for `event`, without credentials: the JSON body for
/// Slack and Google Chat, the form fields for Chatwork and Backlog, the text for the console.
pub fn preview(channel: &Channel, event: &Event, opts: RenderOptions) -> String {
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    match channel {
        Channel::Slack { .. } => pretty(crate::render::slack::render(event, opts)),
        Channel::GoogleChat { .. } => pretty(crate::render::google_chat::render(event, opts)),
        Channel::GoogleChatBot(c) => format!(
            "POST {}/v1/{{every space of bot {:?}}}/messages\n{}",
            c.api_base,
            c.bot,
            pretty(crate::render::google_chat::render(event, opts))
        ),
        Channel::Chatwork { room_id, .. } => {
            let body = crate::render::chatwork::render(event, opts);
            format!("POST /v2/rooms/{room_id}/messages\nbody:\n{body}\nself_unread: 0")
        }
        Channel::Backlog(c) => {
            let issue = crate::render::backlog::render(event, opts);
            format!(
                "POST /api/v2/issues\nprojectId: {}\nissueTypeId: {}\npriorityId: {}\nsummary: {}\ndescription:\n{}",
                c.project_id, c.issue_type_id, c.priority_id, issue.summary, issue.description
            )
        }
        Channel::Console => console::render(event, opts),
        Channel::Oncall => format!(
            "start the on-call escalation: {}",
            crate::oncall::escalation::start_of(event).title
        ),
    }
}

/// A sink for every `oncall` channel, starting escalations through `escalations`.
pub fn oncall_sinks(
    config: &Config,
    escalations: Arc<dyn crate::oncall::escalation::Escalations>,
) -> BTreeMap<String, Sink> {
    let sink = Sink::Notifier(Arc::new(crate::oncall::escalation::OncallNotifier(
        escalations,
    )));
    let names = config
        .channels
        .iter()
        .filter(|(_, c)| matches!(c, Channel::Oncall))
        .map(|(n, _)| n.clone());
    names.map(|n| (n, sink.clone())).collect()
}

/// Every configured channel with the context its adapter is built from.
fn adapters<'a>(
    config: &'a Config,
    http: &'a reqwest::Client,
    policy: RetryPolicy,
) -> impl Iterator<Item = (&'a String, &'a Channel, AdapterContext)> {
    let render = RenderOptions::from_config(config);
    config.channels.iter().map(move |(name, channel)| {
        let ctx = AdapterContext {
            name: name.clone(),
            http: http.clone(),
            policy,
            render,
        };
        (name, channel, ctx)
    })
}

/// A [`ChatBot`](chat_bot::ChatBot) per `google_chat_bot` channel, reading spaces from `records`.
pub fn build_bots(
    config: &Config,
    http: &reqwest::Client,
    policy: RetryPolicy,
    records: Arc<dyn crate::ports::Records>,
) -> BTreeMap<String, Arc<chat_bot::ChatBot>> {
    let bots = adapters(config, http, policy).filter_map(|(name, channel, ctx)| {
        let Channel::GoogleChatBot(c) = channel else {
            return None;
        };
        let bot = chat_bot::ChatBot {
            api: chat_api::ChatApi::new(ctx, c.key.clone(), &c.api_base),
            bot: c.bot.clone(),
            concurrency: c.concurrency,
            records: records.clone(),
        };
        Some((name.clone(), Arc::new(bot)))
    });
    bots.collect()
}

/// Builds one sink per configured channel (but `oncall`: see [`oncall_sinks`]).
pub fn build_sinks(
    config: &Config,
    http: &reqwest::Client,
    policy: RetryPolicy,
) -> BTreeMap<String, Sink> {
    adapters(config, http, policy)
        .filter_map(|(name, channel, ctx)| {
            let sink = match channel {
                Channel::Slack { webhook_url } => Sink::Notifier(Arc::new(
                    slack::SlackNotifier::new(ctx, webhook_url.clone()),
                )),
                Channel::GoogleChat { webhook_url } => Sink::Notifier(Arc::new(
                    google_chat::GoogleChatWebhook::new(ctx, webhook_url.clone()),
                )),
                Channel::Chatwork {
                    api_token,
                    room_id,
                    api_base,
                } => Sink::Notifier(Arc::new(chatwork::ChatworkNotifier::new(
                    ctx,
                    api_token.clone(),
                    room_id.clone(),
                    api_base,
                ))),
                Channel::Backlog(cfg) => {
                    Sink::Tickets(Arc::new(BacklogTickets::new(ctx, cfg.clone())))
                }
                Channel::Console => Sink::Notifier(Arc::new(console::ConsoleNotifier::new(ctx))),
                // Provided by the process that can start escalations (see `oncall_sinks`).
                Channel::Oncall => return None,
                // Delivered per space (see `build_bots`).
                Channel::GoogleChatBot(_) => return None,
            };
            Some((name.clone(), sink))
        })
        .collect()
}
