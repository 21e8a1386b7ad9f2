//! Prints rendered messages to standard output: the default channel of a local run, and a way to
//! see what opsbell would send without any chat account.

use async_trait::async_trait;
use tokio::time::Instant;

use serde_json::Value;

use super::{AdapterContext, ChannelConfig};
use crate::event::Event;
use crate::ports::{Notifier, NotifyError, Receipt};
use crate::problem::Problems;
use crate::render::{RenderOptions, chatwork};

/// Plain text: the Chatwork rendering without its tags reads best on a terminal.
pub fn render(event: &Event, opts: RenderOptions) -> String {
    let text = chatwork::render(event, opts);
    let text = text
        .trim_start_matches("[info][title]")
        .replacen("[/title]", "\n", 1);
    text.trim_end_matches("[/info]").to_string()
}

/// `{"type": "console"}`: nothing to set.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {}

impl ChannelConfig for ConsoleConfig {
    const KIND: &'static str = "console";

    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self> {
        p.read(path, value, |_, _, _| {})
    }

    fn preview(&self, event: &Event, opts: RenderOptions) -> String {
        render(event, opts)
    }
}

pub struct ConsoleNotifier {
    ctx: AdapterContext,
}

impl ConsoleNotifier {
    pub fn new(ctx: AdapterContext, _config: ConsoleConfig) -> Self {
        ConsoleNotifier { ctx }
    }
}

#[async_trait]
impl Notifier for ConsoleNotifier {
    async fn notify(&self, event: &Event, _deadline: Instant) -> Result<Receipt, NotifyError> {
        // The Chatwork rendering is plain text with a title: the most readable on a terminal.
        let text = chatwork::render(event, self.ctx.render);
        let text = text
            .trim_start_matches("[info][title]")
            .replacen("[/title]", "\n", 1);
        let text = text.trim_end_matches("[/info]");
        println!("[{}] {}\n{text}\n", self.ctx.name, event.key);
        Ok(Receipt {
            detail: "printed".into(),
            attempts: 1,
        })
    }
}
