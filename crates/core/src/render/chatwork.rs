//! Chatwork message `body`: `[info][title]…[/title]…[/info]`.
//! <https://developer.chatwork.com/reference/post-rooms-room_id-messages>

use super::{Label, MentionStyle, RenderOptions, View, mentions};
use crate::event::Event;
use crate::event::truncate;

/// Very long bodies are refused with 400; stay far below.
pub const INFO_MAX_CHARS: usize = 4000;

pub fn render(event: &Event, opts: RenderOptions) -> String {
    let view = View::new(event, opts);
    let mut body = mentions(event, MentionStyle::Chatwork);
    body.push_str(&format!(
        "[info][title]{} {}[/title]",
        view.emoji(),
        view.title
    ));
    if let Some(info) = &event.info {
        body.push_str(&truncate(&info.replace("\r\n", "\n"), INFO_MAX_CHARS));
        body.push_str("\n\n");
    }
    for (l, v) in &view.facts {
        body.push_str(&format!("{l}: {v}\n"));
    }
    if let Some(link) = &event.link {
        body.push_str(&format!("{}: {link}\n", view.label(Label::Open)));
    }
    let body = body.trim_end().to_string();
    format!("{body}[/info]")
}
