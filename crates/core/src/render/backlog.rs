//! Backlog issue summary and description.
//! <https://developer.nulab.com/docs/backlog/api/2/add-issue/>
//!
//! A project writes its text in Backlog notation or in Markdown; untrusted text is safe in
//! both: its square brackets become full-width ([`fit::brackets`]), so neither
//! `[[text>url]]` nor `[text](url)` can form, and the summary is one line.

use super::{Label, RenderOptions, View, fit};
use crate::event::Event;

/// Backlog's summary field holds 255 characters, on one line.
pub const SUMMARY_MAX_CHARS: usize = 255;
/// Keep descriptions readable; the full stack trace stays in Orchestrator.
pub const INFO_MAX_CHARS: usize = 20_000;
/// A fact's value.
pub const FACT_MAX_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    pub summary: String,
    pub description: String,
}

pub fn render(event: &Event, opts: RenderOptions) -> Issue {
    let view = View::new(event, opts);
    let text = |s: &str, max| fit::escape_fit(s, max, fit::brackets);
    let summary = match &event.machine {
        Some(machine) => format!("{} ({machine})", view.title),
        None => view.title.clone(),
    };
    let summary: String = summary.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut description = String::new();
    if let Some(info) = &event.info {
        description.push_str(&format!(
            "{}:\n{}\n\n",
            view.label(Label::Info),
            text(info, INFO_MAX_CHARS)
        ));
    }
    for (l, v) in &view.facts {
        description.push_str(&format!("{}: {}\n", text(l, 100), text(v, FACT_MAX_CHARS)));
    }
    if let Some(link) = &event.link {
        description.push_str(&format!("{}: {link}\n", view.label(Label::Open)));
    }
    let key = text(event.key.as_str(), 1000);
    description.push_str(&format!("{}: {key}\n", view.label(Label::EventKey)));
    Issue {
        summary: text(&summary, SUMMARY_MAX_CHARS),
        description: description.replace("\r\n", "\n"),
    }
}
