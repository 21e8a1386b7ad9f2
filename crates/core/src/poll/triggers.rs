//! Schedules that never fire, and triggers Orchestrator disabled, found by the poll. Per
//! folder, the triggers (`GET /odata/ProcessSchedules`) are read again every `refresh` (they
//! change rarely) and kept in `TRIGGERS#<source>` / `<folder>`. A trigger enabled at one read
//! and disabled at the next was disabled (Orchestrator does it itself after 10 failed launches
//! with no success in 24 hours): a `not_started` event. Every expected time of each enabled
//! time trigger (its Quartz cron in its zone, by `croner`) that is `grace` old must have a job
//! whose `StartingScheduleId` is that trigger, created from a minute before it to `grace`
//! after; otherwise it is a missed run: a `not_started` event, once (its key is the trigger and
//! the time). Triggers on a calendar are skipped (the API does not give the calendar's days).

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::{info, warn};

use super::folders::{Watch, each_folder};
use super::{PollError, PollReport};
use crate::client::orchestrator::OrchestratorClient;
use crate::client::orchestrator::config::TriggerWatch;
use crate::client::orchestrator::schedules::{ProcessSchedule, TriggeredJob};
use crate::event::{Event, EventKey, Source, State, Via};
use crate::ports::{Queue, Records};
use crate::source::uipath::UipathContext;
use crate::state::{Key, load, save};

/// The longest window judged at once: after a long outage, older runs are not reported.
const WINDOW_MAX_HOURS: i64 = 24;
/// Expected times judged per trigger and window (a trigger every second would be 86,400).
const FIRES_MAX: usize = 200;
/// A job created this long before its time still counts (clocks differ).
const EARLY_SECONDS: i64 = 60;
/// A folder's row, written every cycle it is watched, expires this long after the last.
const ROW_TTL_DAYS: i64 = 30;

/// What the folder's row remembers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Row {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fetched_at: Option<DateTime<Utc>>,
    #[serde(default)]
    triggers: Vec<Watched>,
    /// Expected times up to here are judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checked_until: Option<DateTime<Utc>>,
}

/// A trigger as read, with the time it was first seen enabled (no run is expected before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Watched {
    #[serde(flatten)]
    schedule: ProcessSchedule,
    since: DateTime<Utc>,
}

/// Watches every folder of `client`'s source: a report named `<source>:triggers` whose
/// `pages` are the requests made and `jobs` the events queued.
pub(super) async fn watch_source(
    client: &OrchestratorClient,
    ctx: &UipathContext,
    records: &dyn Records,
    queue: &dyn Queue,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<PollReport, PollError> {
    let source = client.source();
    let Some(tw) = &source.triggers else {
        return Ok(PollReport::default());
    };
    // The trigger reads this cycle may still make, shared by the folders in turn.
    let budget = Mutex::new(None);
    each_folder(client, "triggers", deadline, |folder, folders| {
        let budget = &budget;
        async move {
            let set = *budget.lock().unwrap_or_else(|p| p.into_inner());
            let mut left = set.unwrap_or_else(|| tw.reads_per_cycle(folders, source.interval));
            let watched = watch(
                client, tw, ctx, records, queue, folder, now, deadline, &mut left,
            )
            .await;
            *budget.lock().unwrap_or_else(|p| p.into_inner()) = Some(left);
            watched
        }
    })
    .await
}

/// Watches `folder`'s triggers at `now` (see the module's documentation); reads them again
/// when they are `refresh` old and `budget` allows (never read: always).
#[allow(clippy::too_many_arguments)]
pub(super) async fn watch(
    client: &OrchestratorClient,
    watch: &TriggerWatch,
    ctx: &UipathContext,
    records: &dyn Records,
    queue: &dyn Queue,
    folder: i64,
    now: DateTime<Utc>,
    deadline: Instant,
    budget: &mut usize,
) -> Result<Watch, PollError> {
    let source = client.source();
    let err = |error| PollError::Orchestrator {
        source_name: source.name.clone(),
        error,
    };
    let key = Key::new(format!("TRIGGERS#{}", source.name), folder.to_string());
    let mut row: Row = load(records, &key).await?.unwrap_or_default();
    let mut done = Watch::default();
    let mut events = Vec::new();
    let grace = Duration::from_std(watch.grace).unwrap_or_default();
    let refresh = Duration::from_std(watch.refresh).unwrap_or_default();
    let stale = match row.fetched_at {
        None => true,
        Some(at) => now - at >= refresh && *budget > 0,
    };
    if stale {
        *budget = budget.saturating_sub(1);
        let read = client
            .process_schedules(folder, deadline)
            .await
            .map_err(err)?;
        done.requests += 1;
        events.extend(disabled(&row.triggers, &read, folder, ctx, now));
        row.triggers = read
            .into_iter()
            .map(|schedule| {
                let was = (row.triggers.iter()).find(|w| w.schedule.id == schedule.id);
                let since = match was {
                    Some(w) if w.schedule.enabled => w.since,
                    _ => now,
                };
                Watched { schedule, since }
            })
            .collect();
        row.fetched_at = Some(now);
    }
    let to = now - grace;
    let from = row
        .checked_until
        .unwrap_or(to)
        .max(to - Duration::hours(WINDOW_MAX_HOURS));
    let expected: Vec<(&Watched, DateTime<Utc>)> = (row.triggers.iter())
        .flat_map(|w| fires(w, from, to).into_iter().map(move |t| (w, t)))
        .collect();
    if !expected.is_empty() {
        let since = from - grace - Duration::seconds(EARLY_SECONDS);
        let (jobs, requests) =
            (client.triggered_jobs(folder, since, now, deadline).await).map_err(err)?;
        done.requests += requests;
        for (w, at) in expected {
            if !ran(&jobs, w.schedule.id, at, grace) {
                events.push(missed(w, at, folder, ctx, watch));
            }
        }
    }
    if !events.is_empty() {
        queue.enqueue(&events).await?;
        info!(source = %source.name, folder, events = events.len(), "Triggers: runs missed or triggers disabled.");
    }
    done.events = events.len();
    row.checked_until = Some(to.max(from));
    // A folder no cycle watches any more (a source or folder removed) goes after a while.
    let expires = now + Duration::days(ROW_TTL_DAYS);
    save(records, &key, &row, Some(expires)).await?;
    Ok(done)
}

/// The expected times of `w` in (from, to], after it was first seen enabled; none for a
/// disabled, queue or calendar trigger, or one whose cron or zone cannot be read.
fn fires(w: &Watched, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let s = &w.schedule;
    if !s.enabled || s.use_calendar == Some(true) {
        return Vec::new();
    }
    let Some(text) = s
        .start_process_cron
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    else {
        return Vec::new();
    };
    let Some(cron) = quartz(text) else {
        warn!(
            trigger = s.id,
            cron = text,
            "A trigger's cron could not be read; its runs are not watched."
        );
        return Vec::new();
    };
    let zone: chrono_tz::Tz = (s.time_zone_iana.as_deref())
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let start = from.max(w.since).with_timezone(&zone);
    cron.iter_after(start)
        .map(|t| t.with_timezone(&Utc))
        .take_while(|t| *t <= to)
        .take(FIRES_MAX)
        .collect()
}

/// A Quartz cron (`0 0/15 9-17 ? * MON-FRI *`): seconds first, an optional year, weekdays
/// 1–7 from Sunday, steps from a start (`0/15`).
pub fn quartz(text: &str) -> Option<croner::Cron> {
    use croner::parser::{CronParser, Seconds, Year};
    let parser = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Optional)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build();
    parser.parse(text.trim()).ok()
}

/// Whether a job of trigger `id` was created around `at`.
fn ran(jobs: &[TriggeredJob], id: i64, at: DateTime<Utc>, grace: Duration) -> bool {
    let (earliest, latest) = (at - Duration::seconds(EARLY_SECONDS), at + grace);
    jobs.iter().any(|j| {
        j.starting_schedule_id == Some(id)
            && j.creation_time
                .is_some_and(|c| c >= earliest && c <= latest)
    })
}

/// Triggers enabled at the last read and disabled now.
fn disabled(
    before: &[Watched],
    now_read: &[ProcessSchedule],
    folder: i64,
    ctx: &UipathContext,
    now: DateTime<Utc>,
) -> Vec<Event> {
    now_read
        .iter()
        .filter(|s| !s.enabled)
        .filter(|s| {
            before
                .iter()
                .any(|w| w.schedule.id == s.id && w.schedule.enabled)
        })
        .map(|s| {
            let subject = format!("trigger-{}-disabled-{}", s.id, now.timestamp());
            let mut e = event(s, &subject, now, folder, ctx);
            e.info = Some(
                "The trigger was disabled. Orchestrator disables a time trigger after 10 failed \
                 launches in a row with no success in 24 hours; no job of it runs until it is \
                 enabled again."
                    .into(),
            );
            e
        })
        .collect()
}

fn missed(
    w: &Watched,
    at: DateTime<Utc>,
    folder: i64,
    ctx: &UipathContext,
    watch: &TriggerWatch,
) -> Event {
    let s = &w.schedule;
    let subject = format!("trigger-{}-missed-{}", s.id, at.timestamp());
    let mut e = event(s, &subject, at, folder, ctx);
    let zone: chrono_tz::Tz = (s.time_zone_iana.as_deref())
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let local = at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S %Z");
    e.info = Some(format!(
        "No job of this trigger started within {} of {local}.",
        crate::time::span_text(Duration::from_std(watch.grace).unwrap_or_default())
    ));
    e.details.insert(1, ("Expected".into(), local.to_string()));
    e
}

/// A `not_started` event about trigger `s`, keyed by `subject`.
fn event(
    s: &ProcessSchedule,
    subject: &str,
    at: DateTime<Utc>,
    folder: i64,
    ctx: &UipathContext,
) -> Event {
    let name = s.name.clone().unwrap_or_else(|| format!("#{}", s.id));
    let process =
        (s.package_name.clone().or_else(|| s.release_name.clone())).unwrap_or_else(|| name.clone());
    let mut e = Event::new(Source::Uipath, "", subject, State::NotStarted, process, at);
    e.key = EventKey::new(Source::Uipath, "", subject, State::NotStarted);
    e.tenant = ctx.tenant.clone();
    e.folder = Some(folder.to_string());
    e.trigger_id = Some(s.id.to_string());
    e.via = Some(Via::Poll);
    e.details = [
        ("Trigger", Some(name)),
        ("Cron", s.start_process_cron.clone()),
        ("Time zone", s.time_zone_iana.clone()),
    ]
    .into_iter()
    .filter_map(|(l, v)| Some((l.to_string(), v?)))
    .collect();
    e.link = crate::source::schedule::trigger_link(ctx, e.folder.as_deref());
    e
}

#[cfg(test)]
mod tests;
