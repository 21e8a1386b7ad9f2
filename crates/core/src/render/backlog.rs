//! Backlog issue summary and description.
//! <https://developer.nulab.com/docs/backlog/api/2/add-issue/>

use super::{Label, RenderOptions, View};
use crate::event::Event;
use crate::event::truncate;

/// Backlog's summary field holds 255 characters.
pub const SUMMARY_MAX_CHARS: usize = 255;
/// Keep descriptions readable; the full stack trace stays in Orchestrator.
pub const INFO_MAX_CHARS: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    pub summary: String,
    pub description: String,
}

pub fn render(event: &Event, opts: RenderOptions) -> Issue {
    let view = View::new(event, opts);
    let summary = match &event.machine {
        Some(machine) => format!("{} ({machine})", view.title),
        None => view.title.clone(),
    };
    let mut description = String::new();
    if let Some(info) = &event.info {
        description.push_str(&format!(
            "{}:\n{}\n\n",
            view.label(Label::Info),
            truncate(info, INFO_MAX_CHARS)
        ));
    }
    for (l, v) in &view.facts {
        description.push_str(&format!("{l}: {v}\n"));
    }
    if let Some(link) = &event.link {
        description.push_str(&format!("{}: {link}\n", view.label(Label::Open)));
    }
    description.push_str(&format!("{}: {}\n", view.label(Label::EventKey), event.key));
    Issue {
        summary: truncate(&summary, SUMMARY_MAX_CHARS),
        description: description.replace("\r\n", "\n"),
    }
}
