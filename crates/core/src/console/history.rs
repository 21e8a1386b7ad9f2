//! History: every event, newest first, with what each channel got; filtered and paged. One
//! event's page shows each channel's fate and its rendered message (as `send --dry-run`).

use chrono::{Duration, NaiveDate};
use maud::{Markup, html};

use super::layout;
use super::words::Word;
use super::{Request, View};
use crate::ports::{Records, StoreError};
use crate::state::{DELIVERY_TTL_DAYS, Fate, History};

/// Rows read per query while scanning.
const BATCH: usize = 200;
/// Events on one page.
const PAGE: usize = 50;
/// Rows a filtered page reads at most before it offers "older".
const BUDGET: usize = 5_000;

/// Rows of the days `from..=until` (newest first) starting below `before`, kept by `keep`,
/// until `want` are kept or `budget` read; with the cursor to continue from, if any is left.
pub(super) async fn scan(
    records: &dyn Records,
    from: NaiveDate,
    until: NaiveDate,
    before: Option<String>,
    want: usize,
    budget: usize,
    keep: impl Fn(&str, &History) -> bool,
) -> Result<(Vec<(String, History)>, Option<String>), StoreError> {
    let mut day = before
        .as_deref()
        .and_then(History::key_of)
        .and_then(|k| NaiveDate::parse_from_str(k.sk.get(..10)?, "%Y-%m-%d").ok())
        .map_or(until, |d| d.min(until));
    let mut cursor = before.filter(|b| b.starts_with(&day.to_string()));
    let (mut kept, mut read) = (Vec::new(), 0);
    while day >= from {
        let rows = History::page(records, day, cursor.as_deref(), BATCH).await?;
        let full = rows.len() == BATCH;
        for (id, row) in rows {
            read += 1;
            cursor = Some(id.clone());
            if keep(&id, &row) {
                kept.push((id, row));
            }
            if kept.len() >= want || read >= budget {
                return Ok((kept, cursor));
            }
        }
        if !full {
            day -= Duration::days(1);
            cursor = None;
        }
    }
    Ok((kept, None))
}

struct Filters {
    state: String,
    source: String,
    process: String,
    folder: String,
    tenant: String,
    channel: String,
    fate: String,
}

impl Filters {
    fn of(r: &Request) -> Filters {
        let p = |n: &str| r.param(n).unwrap_or_default().trim().to_string();
        Filters {
            state: p("state"),
            source: p("source"),
            process: p("process"),
            folder: p("folder"),
            tenant: p("tenant"),
            channel: p("channel"),
            fate: p("fate"),
        }
    }

    fn keep(&self, h: &History) -> bool {
        let e = &h.event;
        let is = |want: &str, have: &str| want.is_empty() || want.eq_ignore_ascii_case(have);
        let has = |want: &str, have: Option<&str>| want.is_empty() || have == Some(want);
        let fate = |t: &crate::state::Told| fate_name(t.fate) == self.fate;
        is(&self.state, e.state.as_str())
            && is(&self.source, e.source.as_str())
            && (self.process.is_empty()
                || e.process
                    .to_lowercase()
                    .contains(&self.process.to_lowercase()))
            && has(&self.folder, e.folder.as_deref())
            && has(&self.tenant, e.tenant.as_deref())
            && (self.channel.is_empty() || h.channels.contains_key(&self.channel))
            && (self.fate.is_empty() || h.channels.values().any(fate))
    }
}

const FATES: [&str; 6] = [
    "delivered",
    "withheld",
    "digest",
    "retrying",
    "failed",
    "gone",
];

pub fn fate_name(fate: Fate) -> &'static str {
    match fate {
        Fate::Delivered => "delivered",
        Fate::Withheld => "withheld",
        Fate::Digest => "digest",
        Fate::Retrying => "retrying",
        Fate::Failed => "failed",
        Fate::Gone => "gone",
    }
}

async fn list(view: &View<'_>, request: &Request) -> Result<Markup, StoreError> {
    let f = Filters::of(request);
    let today = view.now.date_naive();
    let date = |n: &str| {
        request
            .param(n)
            .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
    };
    let from = date("from").unwrap_or(today - Duration::days(DELIVERY_TTL_DAYS));
    let until = date("until").unwrap_or(today);
    let records = view.console.records.as_ref();
    let before = request.param("before").filter(|b| !b.is_empty());
    let (rows, next) = scan(records, from, until, before, PAGE, BUDGET, |_, h| f.keep(h)).await?;
    let states: Vec<&str> = crate::event::State::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let select = |name: &str, label: Word, value: &str, options: &[&str]| {
        html! {
            label { (view.word(label)) select name=(name) {
                option value="" { "" }
                @for o in options { option value=(o) selected[*o == value] { (o) } }
            } }
        }
    };
    let text = |name: &str, label: Word, value: &str| {
        html! {
            label { (view.word(label)) input type="text" name=(name) value=(value) size="12"; }
        }
    };
    let older = next.map(|cursor| {
        let mut query: Vec<(String, String)> =
            serde_urlencoded::from_str(&request.query).unwrap_or_default();
        query.retain(|(k, _)| k != "before");
        query.push(("before".into(), cursor));
        format!(
            "{}?{}",
            view.link("/history"),
            serde_urlencoded::to_string(query).unwrap_or_default()
        )
    });
    Ok(html! {
        form.filters method="get" action=(view.link("/history")) {
            (select("state", Word::State, &f.state, &states)) (text("source", Word::Source, &f.source))
            (text("process", Word::Process, &f.process)) (text("folder", Word::Folder, &f.folder))
            (text("tenant", Word::Tenant, &f.tenant)) (text("channel", Word::Channels, &f.channel))
            (select("fate", Word::Outcome, &f.fate, &FATES))
            label { (view.word(Word::From)) input type="date" name="from" value=(from); }
            label { (view.word(Word::Until)) input type="date" name="until" value=(until); }
            button type="submit" { (view.word(Word::Filter)) }
        }
        @if rows.is_empty() { p.muted { (view.word(Word::NoEvents)) } } @else {
            table {
                tr { th { (view.word(Word::Time)) } th { (view.word(Word::State)) } th { (view.word(Word::Process)) }
                     th { (view.word(Word::Folder)) } th { (view.word(Word::Channels)) } }
                @for (id, h) in &rows { (row(view, id, h)) }
            }
        }
        @if let Some(older) = older { p { a href=(older) { (view.word(Word::Older)) " →" } } }
    })
}

pub async fn page(view: &View<'_>, request: &Request) -> Result<String, StoreError> {
    let content = list(view, request).await?;
    Ok(layout::page(
        view,
        "/history",
        view.word(Word::History),
        content,
    ))
}

/// One event as a table row, linking to its page.
pub fn row(view: &View<'_>, id: &str, h: &History) -> Markup {
    let e = &h.event;
    let link = format!("{}?id={}", view.link("/event"), encode(id));
    html! {
        tr {
            td { (view.time(e.occurred_at)) }
            td class=(layout::severity_class(e.state.severity())) { (e.state.as_str()) }
            td { a href=(link) { (e.process) } }
            td { (e.folder.as_deref().unwrap_or("")) }
            td { (fates(view, h)) }
        }
    }
}

pub fn fates(view: &View<'_>, h: &History) -> Markup {
    html! {
        @if h.channels.is_empty() { span.muted { (view.word(Word::RoutedNowhere)) } }
        @for (channel, told) in &h.channels {
            span class={ "fate " (fate_name(told.fate)) } title=(told.detail) { (channel) ": " (fate_name(told.fate)) }
        }
    }
}

pub fn encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).unwrap_or_default()[1..].to_string()
}

pub async fn event(view: &View<'_>, request: &Request) -> Result<String, StoreError> {
    let id = request.param("id").unwrap_or_default();
    let config = &view.console.config;
    let Some(h) = History::load(view.console.records.as_ref(), &id).await? else {
        return Ok(layout::page(
            view,
            "/history",
            view.word(Word::NotFound),
            html! {},
        ));
    };
    let e = &h.event;
    let opts = config.render_options();
    let fields = [
        (Word::Time, view.time(e.occurred_at)),
        (Word::State, e.state.as_str().to_string()),
        (Word::Source, e.source.as_str().to_string()),
        (Word::Tenant, e.tenant.clone().unwrap_or_default()),
        (Word::Folder, e.folder.clone().unwrap_or_default()),
    ];
    let content = html! {
        table { @for (w, v) in &fields { tr { th { (view.word(*w)) } td { (v) } } } }
        p.muted { (e.key.as_str()) }
        @if h.channels.is_empty() { p.muted { (view.word(Word::RoutedNowhere)) } }
        @for (channel, told) in &h.channels {
            h2 { (channel) " " span class={ "fate " (fate_name(told.fate)) } { (fate_name(told.fate)) } }
            p.muted { (view.time(told.at)) " " (told.detail) }
            @if let Some(c) = config.channels.get(channel) {
                details { summary { (view.word(Word::Message)) } pre { (c.preview(e, opts)) } }
            }
        }
    };
    Ok(layout::page(view, "/history", &e.process, content))
}
