//! Chatwork message `body`: `[info][title]…[/title]…[/info]`.
//! <https://developer.chatwork.com/reference/post-rooms-room_id-messages>
//!
//! Chatwork's notation has no escape: every square bracket of untrusted text becomes
//! full-width ([`fit::chatwork`]), so a robot's `[toall]`, `[To:…]`, `[rp …]` or `[/info]` is
//! text. Only the configured `mentions` become `[To:…]`.

use super::{Label, MentionStyle, RenderOptions, View, fit, mentions};
use crate::event::Event;

/// Chatwork documents no number: very long bodies are refused with 400. The details, each
/// fact and the title stay far below, and the whole body under [`BODY_MAX_CHARS`].
pub const INFO_MAX_CHARS: usize = 4000;
pub const FACT_MAX_CHARS: usize = 500;
pub const TITLE_MAX_CHARS: usize = 300;
pub const BODY_MAX_CHARS: usize = 10_000;
/// Facts shown; the rest are counted.
pub const FACTS_MAX: usize = 20;

pub fn render(event: &Event, opts: RenderOptions) -> String {
    let view = View::new(event, opts);
    let text = |s: &str, max| fit::escape_fit(s, max, fit::chatwork);
    let mut body = mentions(event, MentionStyle::Chatwork);
    let title = text(&view.title, TITLE_MAX_CHARS);
    body.push_str(&format!("[info][title]{} {title}[/title]", view.emoji()));
    if let Some(info) = &event.info {
        body.push_str(&text(&info.replace("\r\n", "\n"), INFO_MAX_CHARS));
        body.push_str("\n\n");
    }
    for (l, v) in view.facts.iter().take(FACTS_MAX) {
        body.push_str(&format!("{}: {}\n", text(l, 100), text(v, FACT_MAX_CHARS)));
    }
    if view.facts.len() > FACTS_MAX {
        body.push_str(&format!("(+{})\n", view.facts.len() - FACTS_MAX));
    }
    if let Some(link) = &event.link {
        body.push_str(&format!(
            "{}: {}\n",
            view.label(Label::Open),
            text(link, 2000)
        ));
    }
    let body = body.trim_end().to_string();
    format!("{body}[/info]")
}

/// The minimal plain-text body: no notation but the configured mentions.
pub fn plain(event: &Event, opts: RenderOptions) -> String {
    let text = fit::escape_fit(&super::plain_text(event, opts), 4000, fit::chatwork);
    format!("{}{text}", mentions(event, MentionStyle::Chatwork))
}
