//! The composition root: the one place that names every integration, as Alertmanager's
//! `config/receiver` does. A process (a Lambda's `main`, `opsbell serve`, the CLI) makes its
//! [`Deps`] once and asks for what it runs; nothing is wired anywhere else, and nobody extends a
//! [`Fanout`] or [`Pollers`] afterwards.
//!
//! Adding a destination: its adapter file (its `ChannelConfig` and `X::new(ctx, XConfig)`), its
//! renderer, one line in `config/channel.rs`, and one arm in [`stateless`].

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::client::kamonohashi::KamonohashiClient;
use crate::client::orchestrator::OrchestratorClient;
use crate::config::{Channel, Config};
use crate::fanout::{Destination, Fanout};
use crate::http::RetryPolicy;
use crate::notify::AdapterContext;
use crate::notify::backlog::BacklogNotifier;
use crate::notify::chatwork::ChatworkNotifier;
use crate::notify::console::ConsoleNotifier;
use crate::notify::google_chat::GoogleChatNotifier;
use crate::notify::google_chat_bot::GoogleChatBotNotifier;
use crate::notify::oncall::OncallNotifier;
use crate::notify::slack::SlackNotifier;
use crate::notify::teams::TeamsNotifier;
use crate::notify::webhook::WebhookNotifier;
use crate::poll::Pollers;
use crate::ports::{Clock, DeliveryLog, Escalations, Queue, Records};

/// What a process provides, made once.
#[derive(Clone)]
pub struct Deps {
    /// The process's one HTTP client (connection pools, TLS sessions), shared by every adapter.
    pub http: reqwest::Client,
    pub policy: RetryPolicy,
    pub log: Arc<dyn DeliveryLog>,
    pub records: Arc<dyn Records>,
    pub clock: Arc<dyn Clock>,
    /// Where `oncall` channels start escalations; without it they are not built, and an event
    /// routed to one fails loudly at delivery.
    pub escalations: Option<Arc<dyn Escalations>>,
    /// The events queue, where flood digests wait for their window to end; without it there is
    /// no flood control.
    pub queue: Option<Arc<dyn Queue>>,
}

/// The context an adapter is built with.
fn context(
    config: &Config,
    http: &reqwest::Client,
    policy: RetryPolicy,
    name: &str,
) -> AdapterContext {
    AdapterContext {
        name: name.to_string(),
        http: http.clone(),
        policy,
        render: config.render_options(),
    }
}

/// A destination that needs no state: every kind but the Chat bot (its space registry) and
/// `oncall` (an escalation port). For `opsbell send`, which keeps no state.
pub fn stateless(
    config: &Config,
    http: &reqwest::Client,
    policy: RetryPolicy,
    name: &str,
) -> Option<Arc<dyn crate::ports::Notifier>> {
    let ctx = context(config, http, policy, name);
    Some(match config.channels.get(name)?.clone() {
        Channel::Slack(c) => Arc::new(SlackNotifier::new(ctx, c)),
        Channel::GoogleChat(c) => Arc::new(GoogleChatNotifier::new(ctx, c)),
        Channel::Chatwork(c) => Arc::new(ChatworkNotifier::new(ctx, c)),
        Channel::Teams(c) => Arc::new(TeamsNotifier::new(ctx, c)),
        Channel::Webhook(c) => Arc::new(WebhookNotifier::new(ctx, c)),
        Channel::Backlog(c) => Arc::new(BacklogNotifier::new(ctx, c)),
        Channel::Console(c) => Arc::new(ConsoleNotifier::new(ctx, c)),
        Channel::GoogleChatBot(_) | Channel::Oncall(_) => return None,
    })
}

/// The destination of channel `name`; `None` for an `oncall` channel without escalations.
fn destination(config: &Config, deps: &Deps, name: &str) -> Option<Destination> {
    match config.channels.get(name)? {
        Channel::GoogleChatBot(c) => {
            let ctx = context(config, &deps.http, deps.policy, name);
            let bot = GoogleChatBotNotifier::new(ctx, c.clone(), deps.records.clone());
            Some(Destination::Spaces(Arc::new(bot)))
        }
        Channel::Backlog(c) => {
            let ctx = context(config, &deps.http, deps.policy, name);
            let tickets = BacklogNotifier::new(ctx, c.clone());
            let tickets = tickets.with_tickets(deps.records.clone(), deps.clock.clone());
            Some(Destination::Notifier(Arc::new(tickets)))
        }
        Channel::Oncall(c) => {
            let escalations = deps.escalations.clone()?;
            let notifier = OncallNotifier(escalations, c.clone());
            Some(Destination::Notifier(Arc::new(notifier)))
        }
        _ => stateless(config, &deps.http, deps.policy, name).map(Destination::Notifier),
    }
}

/// Every configured destination.
pub fn destinations(config: &Config, deps: &Deps) -> BTreeMap<String, Destination> {
    let named = config.channels.keys();
    named
        .filter_map(|name| Some((name.clone(), destination(config, deps, name)?)))
        .collect()
}

/// The fan-out of `config`: its destinations and routes over `deps`.
pub fn fanout(config: &Config, deps: &Deps) -> Fanout {
    let fanout = Fanout::new(
        destinations(config, deps),
        config.routes.clone(),
        deps.log.clone(),
        deps.records.clone(),
        deps.clock.clone(),
    )
    .with_time_intervals(config.time_intervals.clone())
    .with_silences(config.silences.clone())
    .with_pacing(config.spacing.clone());
    match &deps.queue {
        Some(queue) => fanout.with_flood(config.flood.clone(), queue.clone()),
        None => fanout,
    }
}

/// The channels `config` routes an event to now (mutes included: they are recorded too).
pub fn targets(config: &Config, clock: Arc<dyn crate::ports::Clock>) -> crate::poll::Targets {
    let (routes, intervals) = (config.routes.clone(), config.time_intervals.clone());
    Arc::new(move |event| {
        let decided = crate::route::decide(&routes, &intervals, event, clock.now());
        decided.into_iter().map(|(n, _)| n.to_string()).collect()
    })
}

/// Every polled source of `config`, queueing what they find on `queue`.
pub fn pollers(config: &Config, deps: &Deps, queue: Arc<dyn Queue>) -> Pollers {
    let orchestrators = config.orchestrators.iter();
    let orchestrators = orchestrators
        .map(|s| OrchestratorClient::new(s.clone(), deps.http.clone(), deps.policy))
        .collect();
    let kamonohashi = config.kamonohashi.iter();
    let kamonohashi = kamonohashi
        .map(|s| KamonohashiClient::new(s.clone(), deps.http.clone(), deps.policy))
        .collect();
    let pollers = Pollers::new(
        orchestrators,
        kamonohashi,
        config.timezone,
        config.orchestrator.url.clone(),
        deps.records.clone(),
        queue.clone(),
    );
    // A route that tells webhook from poll (`via`, as a predecessor's `scheduled.<target>`
    // becomes) sends a job's poll copy where its webhook copy did not go: then every copy counts.
    let by_path = config.routes.iter().any(|r| !r.matchers.via.is_empty());
    let pollers = match &config.self_ping {
        Some(url) => pollers.with_self_ping(url.clone(), deps.http.clone()),
        None => pollers,
    };
    let pollers = match heartbeats(config, deps.records.clone(), queue) {
        Some(heartbeats) => pollers.with_heartbeats(heartbeats),
        None => pollers,
    };
    match by_path {
        true => pollers,
        false => pollers.with_delivery_log(deps.log.clone(), targets(config, deps.clock.clone())),
    }
}

/// The heartbeat checks of `config`, their rows in `records` and their events on `queue`;
/// `None` when there are none. `webhook-ingest` and `opsbell serve` take their pings, the
/// pollers' cycle judges them.
pub fn heartbeats(
    config: &Config,
    records: Arc<dyn crate::ports::Records>,
    queue: Arc<dyn Queue>,
) -> Option<Arc<crate::heartbeat::Heartbeats>> {
    let checks = config.heartbeats.clone();
    (!checks.is_empty())
        .then(|| Arc::new(crate::heartbeat::Heartbeats::new(checks, records, queue)))
}
