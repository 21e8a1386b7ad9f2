//! Silences: the list (with Expire), and a form in chat's own syntax that previews which of the
//! last day's events the silence would have held before it is saved (Alertmanager's preview).
//! The same parser, maximum length and store as chat and `opsbell silence`.

use chrono::Duration;
use maud::{Markup, html};

use super::history::{row, scan};
use super::layout::{button, page as frame};
use super::words::Word;
use super::{Request, View};
use crate::ports::StoreError;
use crate::silence::{self, Silence};
use crate::state::History;

/// A silence as words, and the events it would have held.
pub type Preview = (String, Vec<(String, History)>);

/// Events a preview lists at most.
const PREVIEWED: usize = 100;
/// Rows a preview reads at most (the last day).
const BUDGET: usize = 20_000;

/// The silence `text` asks for, as it would be saved now by `who` (not saved).
pub fn draft(view: &View<'_>, text: &str) -> Result<Silence, String> {
    let request = silence::parse(text, view.console.silence_max)?;
    Ok(Silence {
        id: "preview".into(),
        matchers: request.matchers,
        channels: request.channels,
        starts_at: view.now,
        ends_at: view
            .now
            .checked_add_signed(request.length)
            .unwrap_or(view.now),
        created_by: view.session.who.clone(),
        comment: request.comment,
    })
}

/// The last day's events `draft` would have held at some channel they went to.
async fn preview(view: &View<'_>, draft: &Silence) -> Result<Vec<(String, History)>, StoreError> {
    let records = view.console.records.as_ref();
    let (until, from) = (
        view.now.date_naive(),
        (view.now - Duration::days(1)).date_naive(),
    );
    // Rows sort by when they were told (`History::id`), not by the event's own clock.
    let since = (view.now - Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let held = |id: &str, h: &History| {
        *id >= *since
            && h.channels
                .keys()
                .any(|c| draft.covers(&h.event, c, view.now))
    };
    Ok(scan(records, from, until, None, PREVIEWED, BUDGET, held)
        .await?
        .0)
}

fn form(view: &View<'_>, text: &str) -> Markup {
    html! {
        form method="post" action=(view.link("/silences")) {
            input type="hidden" name="csrf" value=(view.csrf);
            p { input type="text" name="text" value=(text) size="60" placeholder="process=Invoice* for 2h deploying"; }
            p.muted { (view.word(Word::SilenceHelp)) }
            button type="submit" name="preview" value="1" { (view.word(Word::Preview)) } " "
            button type="submit" name="save" value="1" { (view.word(Word::Save)) }
        }
    }
}

/// The page; with `posted`, the preview of its `text` (or why it does not parse).
pub async fn page(view: &View<'_>, posted: Option<&Request>) -> Result<String, StoreError> {
    let text = posted.and_then(|r| r.field("text")).unwrap_or_default();
    let previewed = match posted.map(|_| draft(view, &text)) {
        Some(Ok(d)) => Some(Ok((silence::what(&d), preview(view, &d).await?))),
        Some(Err(e)) => Some(Err(e)),
        None => None,
    };
    body(view, &text, previewed).await
}

/// The page with `text` in the form and, when given, its preview or its error.
pub async fn body(
    view: &View<'_>,
    text: &str,
    previewed: Option<Result<Preview, String>>,
) -> Result<String, StoreError> {
    let records = view.console.records.as_ref();
    let stored = Silence::all(records, view.now).await?;
    let planned = &view.console.config.silences;
    let content = html! {
        (form(view, text))
        @match &previewed {
            Some(Err(e)) => p.notice { (e) },
            Some(Ok((what, held))) => {
                h2 { (view.word(Word::WouldHold)) ": " code { (what) } }
                @if held.is_empty() { p.muted { (view.word(Word::HoldsNothing)) } } @else {
                    table { @for (id, h) in held { (row(view, id, h)) } }
                }
            }
            None => {}
        }
        h2 { (view.word(Word::Silences)) }
        @if stored.is_empty() && planned.is_empty() { p.muted { (view.word(Word::NoSilences)) } }
        table {
            @for s in stored.iter().chain(planned.iter()) {
                tr {
                    td { code { (s.id) } }
                    td { @if s.is_active(view.now) { span.warning { (view.word(Word::Active)) } } @else { span.muted { (view.word(Word::Ended)) } } }
                    td { (silence::what(s)) }
                    td { (view.time(s.starts_at)) " – " (view.time(s.ends_at)) }
                    td { (view.word(Word::By)) " " (s.created_by) @if !s.comment.is_empty() { ": " (s.comment) } }
                    td { @if s.is_active(view.now) && !planned.iter().any(|p| p.id == s.id) {
                        (button(view, "/silences/expire", &[("id", &s.id)], view.word(Word::Expire)))
                    } }
                }
            }
        }
    };
    Ok(frame(view, "/silences", view.word(Word::Silences), content))
}
