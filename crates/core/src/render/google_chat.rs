//! Google Chat message (incoming webhook or bot): short `text` plus a `cardsV2` card, threaded by
//! job so a job's start and end sit together.
//! <https://developers.google.com/workspace/chat/api/reference/rest/v1/cards>

use serde_json::{Value, json};

use super::{Label, MentionStyle, RenderOptions, View, fit, mentions};
use crate::event::{Event, Source};

/// A message, cards included, may be at most 32,000 bytes (the JSON Google receives).
/// <https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages/create>
pub const MESSAGE_MAX_BYTES: usize = 32_000;
/// The details' share of it, counted in escaped characters; halved until the whole message
/// fits (CJK text takes three bytes a character).
pub const INFO_MAX_CHARS: usize = 6000;
/// A fact's value, escaped; a card header's title and subtitle.
pub const FACT_MAX_CHARS: usize = 1000;
pub const HEADER_MAX_CHARS: usize = 200;

pub fn render(event: &Event, opts: RenderOptions) -> Value {
    let mut room = INFO_MAX_CHARS;
    loop {
        let message = render_within(event, opts, room);
        if room == 0 || message.to_string().len() <= MESSAGE_MAX_BYTES {
            return message;
        }
        room /= 2;
    }
}

fn render_within(event: &Event, opts: RenderOptions, info_room: usize) -> Value {
    let view = View::new(event, opts);
    let facts = view.facts.len();
    let fact_room = match facts {
        0 => 0,
        n => FACT_MAX_CHARS.min(MESSAGE_MAX_BYTES / 3 / n),
    };
    let mut sections = Vec::new();
    if !view.facts.is_empty() {
        let widgets: Vec<Value> = view
            .facts
            .iter()
            .map(|(l, v)| {
                let text = fit::escape_fit(v, fact_room, fit::html);
                json!({ "decoratedText": { "topLabel": fit::escape_fit(l, 100, fit::html), "text": text } })
            })
            .collect();
        sections.push(json!({ "widgets": widgets }));
    }
    if let Some(info) = &event.info {
        let text = fit::escape_fit(&info.replace("\r\n", "\n"), info_room, fit::html);
        sections.push(json!({
            "header": view.label(Label::Info),
            "collapsible": true,
            "uncollapsibleWidgetsCount": 1,
            "widgets": [{ "textParagraph": { "text": text } }]
        }));
    }
    if let Some(link) = &event.link {
        sections.push(json!({
            "widgets": [{ "buttonList": { "buttons": [{
                "text": view.label(Label::Open),
                "onClick": { "openLink": { "url": link } }
            }]}}]
        }));
    }
    let title = fit::escape_fit(&view.title, HEADER_MAX_CHARS, fit::chat_text);
    let who = mentions(event, MentionStyle::GoogleChat);
    let mut message = json!({
        "text": format!("{who}{} *{title}*", view.emoji()),
        "cardsV2": [{
            "cardId": "opsbell-event",
            "card": {
                "header": { "title": title, "subtitle": format!("opsbell · {}", event.source) },
                "sections": sections
            }
        }]
    });
    if let Some(key) = thread_key(event) {
        message["thread"] = json!({ "threadKey": key });
    }
    message
}

/// Messages about one job, or one alarm, share a thread: a job's start and end sit together, and
/// an alarm's OK lands under its ALARM; so do an escalation's.
pub fn thread_key(event: &Event) -> Option<String> {
    // An escalation's messages (who is called, each outcome, the end) share one thread.
    if event.source == Source::Oncall
        && let Some(incident) = &event.origin_id
    {
        return Some(format!("oncall-{}", crate::state::short_id(incident)));
    }
    if let Some(job) = event.job_key.as_deref().or(event.job_id.as_deref()) {
        return Some(format!("{}-{job}", event.source));
    }
    let at = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    (event.source == Source::Cloudwatch).then(|| {
        let (account, region) = (at(&event.tenant), at(&event.folder));
        format!("cloudwatch-{account}-{region}-{}", event.process)
    })
}

/// The minimal plain-text message for a vendor that refused the card: the text only, in the
/// same thread.
pub fn plain(event: &Event, opts: RenderOptions) -> Value {
    let who = mentions(event, MentionStyle::GoogleChat);
    let text = fit::escape_fit(&super::plain_text(event, opts), 4000, fit::chat_text);
    let mut message = json!({ "text": format!("{who}{text}") });
    if let Some(key) = thread_key(event) {
        message["thread"] = json!({ "threadKey": key });
    }
    message
}
