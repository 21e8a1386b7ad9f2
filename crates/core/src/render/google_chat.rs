//! Google Chat message (incoming webhook or bot): short `text` plus a `cardsV2` card, threaded by
//! job so a job's start and end sit together.
//! <https://developers.google.com/workspace/chat/api/reference/rest/v1/cards>

use serde_json::{Value, json};

use super::{Label, MentionStyle, RenderOptions, View, mentions};
use crate::event::truncate;
use crate::event::{Event, Source};

/// A message, cards included, may be at most 32,000 bytes; keep the free text well inside it.
/// <https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages>
pub const INFO_MAX_CHARS: usize = 6000;

pub fn render(event: &Event, opts: RenderOptions) -> Value {
    let view = View::new(event, opts);
    let mut sections = Vec::new();
    if !view.facts.is_empty() {
        let widgets: Vec<Value> = view
            .facts
            .iter()
            .map(|(l, v)| json!({ "decoratedText": { "topLabel": l, "text": escape(v) } }))
            .collect();
        sections.push(json!({ "widgets": widgets }));
    }
    if let Some(info) = &event.info {
        let text = escape(&truncate(info, INFO_MAX_CHARS)).replace("\r\n", "\n");
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
    let mut message = json!({
        "text": format!("{}{} *{}*", mentions(event, MentionStyle::GoogleChat), view.emoji(), view.title),
        "cardsV2": [{
            "cardId": "opsbell-event",
            "card": {
                "header": { "title": view.title, "subtitle": format!("opsbell · {}", event.source) },
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

/// Card text is a subset of HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
