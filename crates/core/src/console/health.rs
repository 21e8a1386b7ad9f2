//! Health: each source's last complete poll, the queue (waiting and dead, with redrive), the
//! flood windows open now, and the last delivery of each channel.

use std::collections::BTreeMap;

use maud::html;

use super::View;
use super::layout::{button, page as frame, span};
use super::words::Word;
use crate::fanout::flood::window_of;
use crate::ports::StoreError;
use crate::state::{DELIVERY_WINDOW, FloodWindow, PollTime, RecentDelivery};

pub async fn page(view: &View<'_>) -> Result<String, StoreError> {
    let config = &view.console.config;
    let records = view.console.records.as_ref();
    let ago = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} ({} {})",
            view.time(t),
            span((view.now - t).num_seconds()),
            view.word(Word::Ago)
        )
    };
    let names = (config.orchestrators.iter().map(|c| c.name.clone()))
        .chain(config.kamonohashi.iter().map(|c| c.name.clone()));
    let mut polls = Vec::new();
    for name in names {
        let last = PollTime::load(records, &name).await?;
        polls.push((name, last.map(|p| ago(p.polled_at))));
    }
    let depths = match &view.console.dead {
        Some(dead) => Some(dead.depths().await?),
        None => None,
    };
    let mut floods = Vec::new();
    for (channel, policy) in &config.flood {
        let start = window_of(policy, view.now);
        if let Some(w) = FloodWindow::load(records, channel, start).await?
            && w.row.held > 0
        {
            floods.push((channel.clone(), start, w.row.count, w.row.held));
        }
    }
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for d in RecentDelivery::since(records, view.now - DELIVERY_WINDOW).await? {
        for target in &d.targets {
            last.entry(target.clone()).or_insert_with(|| ago(d.at));
        }
    }
    let never = view.word(Word::Never);
    let content = html! {
        h2 { (view.word(Word::LastPoll)) }
        table { @for (name, at) in &polls { tr { th { (name) } td { (at.as_deref().unwrap_or(never)) } } } }
        @if let Some((pending, dead)) = depths {
            h2 { (view.word(Word::Queue)) }
            p { (pending) " " (view.word(Word::Pending)) ", "
                span class=[(dead > 0).then_some("critical")] { (dead) " " (view.word(Word::Dead)) }
                @if dead > 0 { " " (button(view, "/redrive", &[], view.word(Word::Redrive))) } }
        }
        h2 { (view.word(Word::Floods)) }
        @if floods.is_empty() { p.muted { (view.word(Word::NoFloods)) } }
        table { @for (channel, start, count, held) in &floods {
            tr { th { (channel) } td { (view.time(*start)) } td { (count) " / " (held) " held" } }
        } }
        h2 { (view.word(Word::LastDelivery)) }
        table { @for name in config.channels.keys() {
            tr { th { (name) } td { (last.get(name).map_or(never, String::as_str)) } }
        } }
    };
    Ok(frame(view, "/health", view.word(Word::Health), content))
}
