//! Slack incoming-webhook message: fallback `text` plus an attachment coloured by state whose
//! `blocks` carry the details. <https://api.slack.com/messaging/webhooks>

use std::borrow::Cow;

use serde::Serialize;

use super::{Label, MentionStyle, RenderOptions, View, fit, mentions};
use crate::event::{Event, Severity};

/// Slack's Block Kit limits, counted in the escaped text Slack receives.
/// <https://api.slack.com/reference/block-kit/blocks#section>,
/// <https://api.slack.com/reference/block-kit/blocks#context>,
/// <https://api.slack.com/reference/messaging/payload>
pub mod limits {
    /// Blocks in one message.
    pub const BLOCKS: usize = 50;
    /// A section's `text`.
    pub const SECTION_TEXT: usize = 3000;
    /// A header block's text.
    pub const HEADER_TEXT: usize = 150;
    /// A section's `fields`, and each field's text.
    pub const FIELDS: usize = 10;
    pub const FIELD_TEXT: usize = 2000;
    /// A context block's elements.
    pub const CONTEXT_ELEMENTS: usize = 10;
    /// A button's text, and its URL.
    pub const BUTTON_TEXT: usize = 75;
    pub const BUTTON_URL: usize = 3000;
    /// The top-level `text`.
    pub const TEXT: usize = 40_000;
}

/// A section block's text limit (kept for callers that name it).
pub const SECTION_TEXT_MAX: usize = limits::SECTION_TEXT;

/// The message as posted. Typed rather than a `serde_json::Value`: building the value's maps
/// was most of a warm delivery's own time. Fields are in alphabetical order, so it serializes
/// exactly as the value did (whose maps sort their keys).
#[derive(Debug, Serialize)]
pub struct Message {
    pub attachments: [Attachment; 1],
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Attachment {
    pub blocks: Vec<Block>,
    pub color: &'static str,
    pub fallback: String,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Block {
    Text {
        text: Text,
        #[serde(rename = "type")]
        kind: &'static str,
    },
    Fields {
        fields: Vec<Text>,
        #[serde(rename = "type")]
        kind: &'static str,
    },
    Elements {
        elements: Vec<Element>,
        #[serde(rename = "type")]
        kind: &'static str,
    },
}

#[derive(Debug, Serialize)]
pub struct Text {
    pub text: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Element {
    Text(Text),
    Button {
        text: Text,
        #[serde(rename = "type")]
        kind: &'static str,
        url: String,
    },
}

fn mrkdwn(text: String) -> Text {
    Text {
        text,
        kind: "mrkdwn",
    }
}

pub fn render(event: &Event, opts: RenderOptions) -> Message {
    use limits::*;
    let view = View::new(event, opts);
    // Mentions are Slack's own `<@U…>` markup, so they are never escaped; everything else is.
    let who = mentions(event, MentionStyle::Slack);
    // `{who}*{emoji} {title}*`: four characters besides the mentions and the title.
    let room = SECTION_TEXT.saturating_sub(who.chars().count() + 4);
    let title = format!(
        "{} {}",
        view.emoji(),
        fit::escape_fit(&view.title, room, fit::slack)
    );
    let headline = format!("{who}{title}");
    let section = "section";
    let mut blocks = vec![Block::Text {
        text: mrkdwn(format!("{who}*{title}*")),
        kind: section,
    }];
    if !view.facts.is_empty() {
        blocks.push(Block::Fields {
            fields: fields(&view.facts),
            kind: section,
        });
    }
    if let Some(info) = &event.info {
        let info = match info.contains(['\r', '`']) {
            true => Cow::Owned(info.replace("\r\n", "\n").replace("```", "'''")),
            false => Cow::Borrowed(info.as_str()),
        };
        // The fence is opened and closed here, around text already cut to fit inside it.
        let info = fit::escape_fit(&info, SECTION_TEXT - 6, fit::slack);
        blocks.push(Block::Text {
            text: mrkdwn(format!("```{info}```")),
            kind: section,
        });
    }
    if let Some(link) = event.link.as_ref().filter(|l| l.len() <= BUTTON_URL) {
        let label = view.label(Label::Open).chars().take(BUTTON_TEXT).collect();
        let button = Element::Button {
            text: Text {
                text: label,
                kind: "plain_text",
            },
            kind: "button",
            url: link.clone(),
        };
        blocks.push(Block::Elements {
            elements: vec![button],
            kind: "actions",
        });
    }
    let key = fit::escape_fit(event.key.as_str(), SECTION_TEXT - 40, fit::slack);
    let footer = format!("opsbell · {} · `{key}`", event.source);
    blocks.push(Block::Elements {
        elements: vec![Element::Text(mrkdwn(footer))],
        kind: "context",
    });
    debug_assert!(blocks.len() <= BLOCKS);
    Message {
        attachments: [Attachment {
            blocks,
            color: color(event),
            fallback: headline.clone(),
        }],
        text: headline,
    }
}

/// The facts as at most [`limits::FIELDS`] fields of at most [`limits::FIELD_TEXT`]
/// characters; facts past the ninth share the last field.
fn fields(facts: &[(String, String)]) -> Vec<Text> {
    use limits::*;
    let field = |label: &str, value: &str| {
        let label = fit::escape_fit(label, 100, fit::slack);
        let room = FIELD_TEXT - label.chars().count() - 3;
        mrkdwn(format!(
            "*{label}*\n{}",
            fit::escape_fit(value, room, fit::slack)
        ))
    };
    if facts.len() <= FIELDS {
        return facts.iter().map(|(l, v)| field(l, v)).collect();
    }
    let (shown, rest) = facts.split_at(FIELDS - 1);
    let mut fields: Vec<Text> = shown.iter().map(|(l, v)| field(l, v)).collect();
    let rest: Vec<String> = rest.iter().map(|(l, v)| format!("{l}: {v}")).collect();
    fields.push(field("…", &rest.join("\n")));
    fields
}

/// The minimal plain-text message for a vendor that refused the rich one: the top-level text
/// only, escaped and cut to one section's length.
pub fn plain(event: &Event, opts: RenderOptions) -> serde_json::Value {
    let who = mentions(event, MentionStyle::Slack);
    let text = super::plain_text(event, opts);
    let room = limits::SECTION_TEXT - who.chars().count();
    serde_json::json!({ "text": format!("{who}{}", fit::escape_fit(&text, room, fit::slack)) })
}

fn color(event: &Event) -> &'static str {
    match event.state.severity() {
        Severity::Critical => "#E01E5A",
        Severity::Warning => "#ECB22E",
        Severity::Good => "#2EB67D",
        Severity::Info => "#36C5F0",
    }
}
