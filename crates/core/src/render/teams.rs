//! Microsoft Teams through a Workflow ("When a Teams webhook request is received" → "Post card
//! in a chat or channel"): an Adaptive Card 1.4 in a `message` body, as Alertmanager's
//! `msteamsv2` and Grafana send it.
//! <https://learn.microsoft.com/en-us/connectors/teams/?tabs=text1#microsoft-teams-webhook>
//!
//! Untrusted text goes into TextBlocks and FactSets with `[`, `]`, `<` and `>` full-width
//! ([`fit::teams`]): no Markdown link, `<at>` mention or HTML can form. Configured mentions
//! that are e-mail addresses (UPNs) become `<at>…</at>` with their `msteams.entities`.

use serde_json::{Value, json};

use super::{Label, MentionStyle, RenderOptions, View, fit, mentions};
use crate::event::{Event, Severity};

/// A workflow refuses a message over 28 KB ("max allowed size is 28672 bytes"), counted in
/// its own "message properties", which ran ~18% over the body's bytes in a reported case
/// (MicrosoftDocs/msteams-docs#11274): so the body stays under 20,000 bytes.
pub const BODY_MAX_BYTES: usize = 20_000;
/// The details' share, halved until the body fits.
pub const INFO_MAX_CHARS: usize = 6000;
pub const FACT_MAX_CHARS: usize = 1000;
pub const TITLE_MAX_CHARS: usize = 300;
/// Facts shown in the FactSet; the rest are counted.
pub const FACTS_MAX: usize = 20;

pub const CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

pub fn render(event: &Event, opts: RenderOptions) -> Value {
    let mut room = INFO_MAX_CHARS;
    loop {
        let message = card(event, opts, room);
        if room == 0 || message.to_string().len() <= BODY_MAX_BYTES {
            return message;
        }
        room /= 2;
    }
}

fn card(event: &Event, opts: RenderOptions, info_room: usize) -> Value {
    let view = View::new(event, opts);
    let text = |s: &str, max| fit::escape_fit(s, max, fit::teams);
    let who = mentions(event, MentionStyle::Teams);
    let title = text(&view.title, TITLE_MAX_CHARS);
    let mut body = vec![json!({
        "type": "TextBlock", "text": format!("{who}{} {title}", view.emoji()),
        "weight": "Bolder", "size": "Medium", "color": color(event), "wrap": true
    })];
    if !view.facts.is_empty() {
        let mut facts: Vec<Value> = (view.facts.iter().take(FACTS_MAX))
            .map(|(l, v)| json!({ "title": text(l, 100), "value": text(v, FACT_MAX_CHARS) }))
            .collect();
        if view.facts.len() > FACTS_MAX {
            let more = format!("+{}", view.facts.len() - FACTS_MAX);
            facts.push(json!({ "title": "…", "value": more }));
        }
        body.push(json!({ "type": "FactSet", "facts": facts }));
    }
    if let Some(info) = &event.info {
        let info = text(&info.replace("\r\n", "\n"), info_room);
        body.push(json!({ "type": "TextBlock", "text": info, "wrap": true, "fontType": "Monospace", "size": "Small" }));
    }
    let footer = format!(
        "opsbell · {} · {}",
        event.source,
        text(event.key.as_str(), 500)
    );
    body.push(json!({ "type": "TextBlock", "text": footer, "isSubtle": true, "size": "Small", "wrap": true }));
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": { "width": "Full", "entities": entities(event) }
    });
    if let Some(link) = &event.link {
        content["actions"] =
            json!([{ "type": "Action.OpenUrl", "title": view.label(Label::Open), "url": link }]);
    }
    message(content)
}

/// The Workflow's body around one card.
fn message(content: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{ "contentType": CONTENT_TYPE, "contentUrl": null, "content": content }]
    })
}

/// The configured mentions that Teams can notify: users by UPN (an e-mail address).
fn entities(event: &Event) -> Vec<Value> {
    (event.mentions.iter())
        .filter(|m| m.contains('@'))
        .map(|m| json!({ "type": "mention", "text": format!("<at>{m}</at>"), "mentioned": { "id": m, "name": m } }))
        .collect()
}

/// Attention for a failure, Good for a recovery, Warning otherwise.
fn color(event: &Event) -> &'static str {
    match event.state.severity() {
        Severity::Critical => "Attention",
        Severity::Good => "Good",
        Severity::Warning | Severity::Info => "Warning",
    }
}

/// The minimal message for a workflow that refused the card: one TextBlock of plain text.
pub fn plain(event: &Event, opts: RenderOptions) -> Value {
    let text = fit::escape_fit(&super::plain_text(event, opts), 4000, fit::teams);
    message(json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{ "type": "TextBlock", "text": text, "wrap": true }]
    }))
}
