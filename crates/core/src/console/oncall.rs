//! On call: who is rung first now for each topic, this month's calendar and the full call plan
//! of any day, all from the caller's own plan ([`crate::escalation::trigger`]), numbers masked.

use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc};
use maud::{Markup, html};

use super::layout::page as frame;
use super::words::Word;
use super::{Oncall, Request, View};
use crate::config::Channel;
use crate::escalation::narrate::mask;
use crate::escalation::trigger::{Today, plan_for, today};
use crate::ports::StoreError;

fn who(view: &View<'_>, t: &Today) -> Markup {
    match t {
        Today::OnCall { group, numbers, .. } => {
            let masked: Vec<String> = numbers.iter().map(|n| mask(n)).collect();
            html! { strong { (group) } " " (masked.join(", ")) }
        }
        Today::Gap { notice, .. } => {
            html! { span.warning { (view.word(Word::Gap)) } " " span.muted { (notice) } }
        }
        Today::Broken { finding, .. } => html! { span.critical { (finding) } },
    }
}

/// Noon of `day` in the rotation's zone: a time that is that day wherever the day is read.
fn noon(o: &Oncall, day: NaiveDate) -> chrono::DateTime<Utc> {
    let local = day.and_hms_opt(12, 0, 0).unwrap_or_default();
    (o.settings
        .plan
        .timezone
        .from_local_datetime(&local)
        .earliest())
    .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

pub async fn page(view: &View<'_>, request: &Request) -> Result<String, StoreError> {
    let title = view.word(Word::OnCall);
    let Some(o) = view.console.oncall.as_ref() else {
        return Ok(frame(
            view,
            "/oncall",
            title,
            html! { p.muted { (view.word(Word::NoOncall)) } },
        ));
    };
    let mut topics: Vec<Option<String>> = vec![None];
    for c in view.console.config.channels.values() {
        if let Channel::Oncall(c) = c
            && !topics.contains(&c.topic)
        {
            topics.push(c.topic.clone());
        }
    }
    let files = o.files.as_ref();
    let topic = request.param("topic").filter(|t| !t.is_empty());
    let tz = o.settings.plan.timezone;
    let here = view.now.with_timezone(&tz).date_naive();
    let day = (request
        .param("day")
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
    .unwrap_or(here);
    let mut now_rows = Vec::new();
    for t in &topics {
        now_rows.push((
            t.clone(),
            today(&o.settings, files, t.as_deref(), view.now).await,
        ));
    }
    let first = here.with_day(1).unwrap_or(here);
    let mut month = Vec::new();
    let mut d = first;
    while d.month() == first.month() {
        month.push((
            d,
            today(&o.settings, files, topic.as_deref(), noon(o, d)).await,
        ));
        d = d.checked_add_days(Days::new(1)).unwrap_or(d);
        if d == first {
            break;
        }
    }
    let planned = plan_for(&o.settings, files, topic.as_deref(), noon(o, day)).await;
    let content = html! {
        h2 { (view.word(Word::Today)) }
        table { @for (t, today) in &now_rows { tr { th { (t.as_deref().unwrap_or("default")) } td { (who(view, today)) } } } }
        h2 { (view.word(Word::Calendar)) " (" (tz.name()) ")" }
        div.cal { @for (d, t) in &month {
            div class=[(*d == here).then_some("today")] {
                a href={ (view.link("/oncall")) "?day=" (d) } { (d.format("%m-%d %a")) } br; (who(view, t))
            }
        } }
        h2 { (view.word(Word::Plan)) " " (day) }
        @match &planned {
            Ok(p) => {
                @if let Some(n) = &p.notice { p.notice { (n) } }
                table {
                    tr { th { "#" } th { "round" } th { "group" } th { "number" } }
                    @for (i, c) in p.calls.iter().enumerate() {
                        tr { td { (i + 1) } td { @if c.round == 0 { "fallback" } @else { (c.round) } } td { (c.group) } td { (mask(&c.number)) } }
                    }
                }
            }
            Err(e) => p.critical { (e) }
        }
    };
    Ok(frame(view, "/oncall", title, content))
}
