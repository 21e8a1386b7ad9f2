//! Slack incoming-webhook message: fallback `text` plus an attachment coloured by state whose
//! `blocks` carry the details. <https://api.slack.com/messaging/webhooks>

use std::borrow::Cow;

use serde::Serialize;

use super::{Label, MentionStyle, RenderOptions, View, mentions};
use crate::event::truncate;
use crate::event::{Event, Severity};

/// A section block's text is limited to 3,000 characters.
/// <https://api.slack.com/reference/block-kit/blocks#section>
pub const SECTION_TEXT_MAX: usize = 3000;

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
    let view = View::new(event, opts);
    // Mentions are Slack's own `<@U…>` markup, so they are never escaped; the title is.
    let who = mentions(event, MentionStyle::Slack);
    let title = format!("{} {}", view.emoji(), escape(&view.title));
    let headline = format!("{who}{title}");
    let section = "section";
    let mut blocks = vec![Block::Text {
        text: mrkdwn(format!("{who}*{title}*")),
        kind: section,
    }];
    if !view.facts.is_empty() {
        let fields = (view.facts.iter())
            .map(|(l, v)| mrkdwn(format!("*{l}*\n{}", escape(v))))
            .collect();
        blocks.push(Block::Fields {
            fields,
            kind: section,
        });
    }
    if let Some(info) = &event.info {
        let info = match info.contains(['\r', '`']) {
            true => Cow::Owned(info.replace("\r\n", "\n").replace("```", "'''")),
            false => Cow::Borrowed(info.as_str()),
        };
        let info = truncate(&info, SECTION_TEXT_MAX - 8);
        blocks.push(Block::Text {
            text: mrkdwn(format!("```{}```", escape(&info))),
            kind: section,
        });
    }
    if let Some(link) = &event.link {
        let button = Element::Button {
            text: Text {
                text: view.label(Label::Open).to_string(),
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
    let footer = format!("opsbell · {} · `{}`", event.source, event.key);
    blocks.push(Block::Elements {
        elements: vec![Element::Text(mrkdwn(footer))],
        kind: "context",
    });
    Message {
        attachments: [Attachment {
            blocks,
            color: color(event),
            fallback: headline.clone(),
        }],
        text: headline,
    }
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
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}
