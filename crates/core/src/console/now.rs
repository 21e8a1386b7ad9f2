//! Now: the problems still open (the latest event of each process, alarm or check is bad) and
//! the escalations calling, with their step, who is rung, the time to the next step and Ack.

use chrono::Duration;
use futures::{StreamExt, TryStreamExt};
use maud::{Markup, html};

use super::View;
use super::history::row;
use super::layout::{button, page as frame, span};
use super::words::Word;
use crate::escalation::narrate::mask;
use crate::event::Severity;
use crate::ports::StoreError;
use crate::state::{
    History, INCIDENT_WINDOW, Incident, OPEN_WINDOW, Problem, RecentIncident, Status, short_id,
};

/// History rows read at once for it.
const LOADS: usize = 16;

/// The latest event of each problem whose state is bad, worst first, then newest.
pub async fn open_problems(view: &View<'_>) -> Result<Vec<(String, History)>, StoreError> {
    let records = view.console.records.as_ref();
    let ids = Problem::open(records, view.now - OPEN_WINDOW).await?;
    let mut open: Vec<(String, History)> = futures::stream::iter(ids)
        .map(|id| async move {
            // A row past its time may be gone before its index entry.
            Ok::<_, StoreError>(History::load(records, &id).await?.map(|h| (id, h)))
        })
        .buffer_unordered(LOADS)
        .try_filter_map(|found| async move { Ok(found) })
        .try_collect()
        .await?;
    open.sort_by_key(|(id, h)| {
        (
            h.event.state.severity() != Severity::Critical,
            std::cmp::Reverse(id.clone()),
        )
    });
    Ok(open)
}

async fn calling(view: &View<'_>) -> Result<Vec<Incident>, StoreError> {
    let records = view.console.records.as_ref();
    let mut calling = Vec::new();
    for recent in RecentIncident::since(records, view.now - INCIDENT_WINDOW).await? {
        if let Some(i) = Incident::load(records, &recent.id).await?
            && i.status == Status::Calling
            && !calling.iter().any(|c: &Incident| c.id == i.id)
        {
            calling.push(i);
        }
    }
    Ok(calling)
}

fn escalation(view: &View<'_>, i: &Incident) -> Markup {
    let call = i.calls.get(i.step);
    let next = view.console.oncall.as_ref().map(|o| {
        let steps = i32::try_from(i.step + 1).unwrap_or(i32::MAX);
        let at = i.created_at + Duration::from_std(o.settings.interval).unwrap_or_default() * steps;
        span((at - view.now).num_seconds().max(0))
    });
    html! {
        tr {
            td { (i.title) @if i.dry_run { " " span.muted { "(dry run)" } } }
            td { (i.step + 1) " / " (i.calls.len()) }
            td { @if let Some(c) = call { (c.group) " " (mask(&c.number)) } }
            td { (next.unwrap_or_default()) }
            td { (button(view, "/ack", &[("incident", &i.id)], &format!("{} {}", view.word(Word::Ack), short_id(&i.id)))) }
        }
    }
}

pub async fn page(view: &View<'_>) -> Result<String, StoreError> {
    let open = open_problems(view).await?;
    let calling = calling(view).await?;
    let content = html! {
        h2 { (view.word(Word::Escalations)) }
        @if calling.is_empty() { p.muted { (view.word(Word::NoEscalations)) } } @else {
            table {
                tr { th { (view.word(Word::Process)) } th { (view.word(Word::Step)) } th { (view.word(Word::Calling)) }
                     th { (view.word(Word::NextStep)) } th {} }
                @for i in &calling { (escalation(view, i)) }
            }
        }
        h2 { (view.word(Word::OpenProblems)) }
        @if open.is_empty() { p.muted { (view.word(Word::NoProblems)) } } @else {
            table {
                tr { th { (view.word(Word::Since)) } th { (view.word(Word::State)) } th { (view.word(Word::Process)) }
                     th { (view.word(Word::Folder)) } th { (view.word(Word::Channels)) } }
                @for (id, h) in &open { (row(view, id, h)) }
            }
        }
    };
    Ok(frame(view, "/", view.word(Word::Now), content))
}
