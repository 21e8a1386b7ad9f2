//! Slack incoming-webhook message: fallback `text` plus an attachment coloured by state whose
//! `blocks` carry the details. <https://api.slack.com/messaging/webhooks>

use serde_json::{Value, json};

use super::{Label, MentionStyle, RenderOptions, View, mentions};
use crate::event::truncate;
use crate::event::{Event, Severity};

/// A section block's text is limited to 3,000 characters.
/// <https://api.slack.com/reference/block-kit/blocks#section>
pub const SECTION_TEXT_MAX: usize = 3000;

pub fn render(event: &Event, opts: RenderOptions) -> Value {
    let view = View::new(event, opts);
    // Mentions are Slack's own `<@U…>` markup, so they are never escaped; the title is.
    let who = mentions(event, MentionStyle::Slack);
    let title = format!("{} {}", view.emoji(), escape(&view.title));
    let headline = format!("{who}{title}");
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": format!("{who}*{title}*") }
    })];
    if !view.facts.is_empty() {
        let fields: Vec<Value> = view
            .facts
            .iter()
            .map(|(l, v)| json!({ "type": "mrkdwn", "text": format!("*{l}*\n{}", escape(v)) }))
            .collect();
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    if let Some(info) = &event.info {
        let info = truncate(
            &info.replace("\r\n", "\n").replace("```", "'''"),
            SECTION_TEXT_MAX - 8,
        );
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("```{}```", escape(&info)) }
        }));
    }
    if let Some(link) = &event.link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": view.label(Label::Open) },
                "url": link
            }]
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!("opsbell · {} · `{}`", event.source, event.key) }]
    }));
    json!({
        "text": headline,
        "attachments": [{ "color": color(event), "fallback": headline, "blocks": blocks }]
    })
}

fn color(event: &Event) -> &'static str {
    match event.state.severity() {
        Severity::Critical => "#E01E5A",
        Severity::Warning => "#ECB22E",
        Severity::Good => "#2EB67D",
        Severity::Info => "#36C5F0",
    }
}

/// Slack mrkdwn control characters. <https://api.slack.com/reference/surfaces/formatting#escaping>
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
