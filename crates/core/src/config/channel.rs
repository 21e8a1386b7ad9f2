//! The channel kinds: the one list in `config` that names every destination's configuration.
//! Each adapter's [`ChannelConfig`] says how it is read and checked, what it hears by default and
//! what it would send; the list turns that into [`Channel`], its `type` names and its parser.

use serde_json::Value;

use crate::event::{Event, State};
use crate::notify::ChannelConfig;
use crate::notify::backlog::BacklogConfig;
use crate::notify::chatwork::ChatworkConfig;
use crate::notify::console::ConsoleConfig;
use crate::notify::google_chat::GoogleChatConfig;
use crate::notify::google_chat_bot::GoogleChatBotConfig;
use crate::notify::oncall::OncallConfig;
use crate::notify::slack::SlackConfig;
use crate::notify::teams::TeamsConfig;
use crate::notify::webhook::WebhookConfig;
use crate::problem::Problems;
use crate::render::RenderOptions;

macro_rules! channels {
    ($($(#[$doc:meta])* $variant:ident($config:ty)),* $(,)?) => {
        /// A named destination: its kind (`type`) and that adapter's own configuration.
        #[derive(Debug, Clone)]
        pub enum Channel {
            $($(#[$doc])* $variant($config),)*
        }

        impl Channel {
            /// The kinds a channel's `type` names.
            pub const KINDS: &[&str] = &[$(<$config as ChannelConfig>::KIND),*];

            pub fn kind(&self) -> &'static str {
                match self {
                    $(Channel::$variant(_) => <$config as ChannelConfig>::KIND,)*
                }
            }

            /// The states a channel of this kind gets when no route names it.
            pub fn default_states(&self) -> Vec<State> {
                match self {
                    $(Channel::$variant(c) => c.default_states(),)*
                }
            }

            /// Whether a flood is held back for digests unless the channel says otherwise.
            pub fn floods(&self) -> bool {
                match self {
                    $(Channel::$variant(c) => c.floods(),)*
                }
            }

            /// The least time between two posts to this channel (its vendor's rate limit).
            pub fn spacing(&self) -> Option<std::time::Duration> {
                match self {
                    $(Channel::$variant(c) => c.spacing(),)*
                }
            }

            /// Exactly what the channel would receive for `event`, without credentials.
            pub fn preview(&self, event: &Event, opts: RenderOptions) -> String {
                match self {
                    $(Channel::$variant(c) => c.preview(event, opts),)*
                }
            }

            fn parse_kind(kind: &str, value: Value, path: &str, p: &mut Problems) -> Option<Channel> {
                $(if kind == <$config as ChannelConfig>::KIND {
                    return <$config as ChannelConfig>::parse(value, path, p).map(Channel::$variant);
                })*
                None
            }
        }
    };
}

channels! {
    Slack(SlackConfig),
    GoogleChat(GoogleChatConfig),
    /// The Google Chat bot: every space it was added to, through the Chat API.
    GoogleChatBot(GoogleChatBotConfig),
    Chatwork(ChatworkConfig),
    /// Microsoft Teams, through a Teams Workflow's webhook.
    Teams(TeamsConfig),
    /// A standard signed webhook (`opsbell.event.v1`).
    Webhook(WebhookConfig),
    Backlog(BacklogConfig),
    /// Prints rendered messages to standard output (local runs).
    Console(ConsoleConfig),
    /// Starts the on-call phone escalation (the `oncall-caller`; a dry run in `opsbell serve`).
    Oncall(OncallConfig),
}

impl Channel {
    /// Reads the channel at `path` (`channels.ops`): its `type`, then that adapter's
    /// configuration, checked by the adapter. `None` when anything is wrong.
    pub fn parse(mut value: Value, path: &str, p: &mut Problems) -> Option<Channel> {
        let kind = value.as_object_mut().and_then(|m| m.remove("type"));
        let kind = kind.as_ref().and_then(Value::as_str);
        let Some(kind) = kind.filter(|k| Channel::KINDS.contains(k)) else {
            let known = Channel::KINDS.join(", ");
            let message = match kind {
                Some(other) => format!("unknown channel type {other:?} (known: {known})"),
                None => format!("a channel needs a \"type\" ({known})"),
            };
            p.push(format!("{path}.type"), message);
            return None;
        };
        Channel::parse_kind(kind, value, path, p)
    }
}
