//! Jobs that stay too long in one state, found by the poll (`hung`). Per folder and cycle, one
//! request reads the oldest jobs that have not ended (`client/orchestrator/active.rs`); each is
//! judged against its state's limit:
//! - Running or Resumed: the process's `max_running`, else its learned limit (k × the p95 of
//!   its last successful runs, at least a floor: `poll/runtimes.rs`), else `running`. Past it
//!   the job is `hung` (critical: it pages like a fault, and opens a ticket).
//! - Stopping or Terminating: `stopping`; past it, `hung` too.
//! - Pending (since its creation) or Suspended: their own limits; past them it is `stuck`
//!   (warning: waiting for a robot, or for a person in Action Center).
//!
//! Each job is announced once per state (`HUNG#<source>` / `<folder>` remembers the jobs seen,
//! since when, and what was said). Its end is told as every job end is, by the poll or the
//! webhook, and a successful end closes the ticket the hung job opened.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::info;

use super::folders::{Watch, each_folder};
use super::{PollError, PollReport, runtimes};
use crate::client::orchestrator::OrchestratorClient;
use crate::client::orchestrator::config::HungWatch;
use crate::event::{Event, EventKey, Source, State, Via};
use crate::ports::{Queue, Records};
use crate::source::uipath::{Job, UipathContext, job_event, link_for, process_of};
use crate::state::{Key, load, save};

/// A job not seen for this long is forgotten with its folder's row.
const ROW_TTL_DAYS: i64 = 30;

/// The states judged alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    Pending,
    Running,
    Suspended,
    Stopping,
}

impl Phase {
    fn of(state: &str) -> Option<Phase> {
        Some(match state {
            "Pending" => Phase::Pending,
            "Running" | "Resumed" => Phase::Running,
            "Suspended" => Phase::Suspended,
            "Stopping" | "Terminating" => Phase::Stopping,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Running => "running",
            Phase::Suspended => "suspended",
            Phase::Stopping => "stopping",
        }
    }

    fn state(self) -> State {
        match self {
            Phase::Running | Phase::Stopping => State::Hung,
            Phase::Pending | Phase::Suspended => State::Stuck,
        }
    }
}

/// A job as last seen: in which phase, since when, and whether that was announced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Seen {
    id: i64,
    phase: Phase,
    since: DateTime<Utc>,
    #[serde(default)]
    announced: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Row {
    jobs: Vec<Seen>,
}

/// Watches every folder of `client`'s source: a report named `<source>:hung` whose `pages` are
/// the requests made and `jobs` the events queued.
pub(super) async fn watch_source(
    client: &OrchestratorClient,
    ctx: &UipathContext,
    records: &dyn Records,
    queue: &dyn Queue,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<PollReport, PollError> {
    let source = client.source();
    let Some(hung) = &source.hung else {
        return Ok(PollReport::default());
    };
    let err = |error| PollError::Orchestrator {
        source_name: source.name.clone(),
        error,
    };
    each_folder(client, "hung", deadline, |folder, _| async move {
        let page = client.active_jobs(folder, deadline).await.map_err(err)?;
        let events = judge(records, &source.name, hung, ctx, folder, &page.jobs, now).await?;
        if !events.is_empty() {
            queue.enqueue(&events).await?;
            info!(source = %source.name, folder, events = events.len(), "Jobs in one state too long.");
        }
        Ok(Watch {
            requests: 1,
            events: events.len(),
        })
    })
    .await
}

/// Judges `folder`'s jobs that have not ended at `now` (as `GET /odata/Jobs` lists them),
/// remembers them under `source`, and returns the events of those that just passed their limit.
pub async fn judge(
    records: &dyn Records,
    source: &str,
    hung: &HungWatch,
    ctx: &UipathContext,
    folder: i64,
    jobs: &[Job],
    now: DateTime<Utc>,
) -> Result<Vec<Event>, PollError> {
    let key = Key::new(format!("HUNG#{source}"), folder.to_string());
    let row: Row = load(records, &key).await?.unwrap_or_default();
    let mut next = Row::default();
    let mut events = Vec::new();
    let mut learned: HashMap<String, Option<(Duration, usize)>> = HashMap::new();
    for job in jobs {
        let (Some(id), Some(phase)) = (job.id, job.state.as_deref().and_then(Phase::of)) else {
            continue;
        };
        let before = (row.jobs.iter()).find(|s| s.id == id && s.phase == phase);
        let since = match (before, phase) {
            (Some(b), _) => b.since,
            (None, Phase::Pending) => job.creation_time.unwrap_or(now),
            (None, Phase::Running) if job.state.as_deref() == Some("Running") => {
                job.start_time.unwrap_or(now)
            }
            (None, _) => now,
        };
        let mut seen = Seen {
            id,
            phase,
            since,
            announced: before.is_some_and(|b| b.announced),
        };
        let process = process_of(job);
        let limit = match phase {
            Phase::Pending => hung.pending.map(|d| (d, "hung.pending".to_string())),
            Phase::Suspended => hung.suspended.map(|d| (d, "hung.suspended".to_string())),
            Phase::Stopping => hung.stopping.map(|d| (d, "hung.stopping".to_string())),
            Phase::Running => {
                running_limit(records, source, folder, &process, hung, &mut learned).await?
            }
        };
        let over = |(limit, _): &(Duration, String)| {
            (now - since).to_std().is_ok_and(|held| held >= *limit)
        };
        if let Some((limit, why)) = limit.filter(over).filter(|_| !seen.announced) {
            seen.announced = true;
            events.push(event(job, phase, since, limit, &why, folder, ctx, now));
        }
        next.jobs.push(seen);
    }
    if next != row {
        let expires = now + chrono::Duration::days(ROW_TTL_DAYS);
        save(records, &key, &next, Some(expires)).await?;
    }
    Ok(events)
}

/// A Running job's limit and where it comes from: the process's `max_running`, its learned
/// limit, or `running`.
async fn running_limit(
    records: &dyn Records,
    source: &str,
    folder: i64,
    process: &str,
    hung: &HungWatch,
    learned: &mut HashMap<String, Option<(Duration, usize)>>,
) -> Result<Option<(Duration, String)>, PollError> {
    if let Some(max) = hung.max_running.get(process) {
        return Ok(Some((*max, format!("hung.max_running of {process}"))));
    }
    if let Some(learn) = &hung.learn {
        if !learned.contains_key(process) {
            let found = runtimes::learned_limit(records, source, folder, process, learn).await?;
            learned.insert(process.to_string(), found);
        }
        if let Some((limit, runs)) = learned[process] {
            let floor =
                crate::time::span_text(chrono::Duration::from_std(learn.floor).unwrap_or_default());
            let why = format!(
                "{} × the p95 of the last {runs} successful runs, at least {floor}",
                learn.k
            );
            return Ok(Some((limit, why)));
        }
    }
    Ok(hung.running.map(|d| (d, "hung.running".to_string())))
}

#[allow(clippy::too_many_arguments)]
fn event(
    job: &Job,
    phase: Phase,
    since: DateTime<Utc>,
    limit: Duration,
    why: &str,
    folder: i64,
    ctx: &UipathContext,
    now: DateTime<Utc>,
) -> Event {
    let state = phase.state();
    let fallback = || {
        Event::new(
            Source::Uipath,
            "",
            &format!("id-{}", job.id.unwrap_or_default()),
            state,
            process_of(job),
            now,
        )
    };
    let mut e = job_event(job, state, ctx, "value", now).unwrap_or_else(|_| fallback());
    // One event per job and phase: a job stuck Pending and later hung Running is told twice.
    let subject = match (&job.key, job.id) {
        (Some(k), _) if !k.is_empty() => k.clone(),
        (_, id) => format!("id-{}", id.unwrap_or_default()),
    };
    e.key = EventKey::new(
        Source::Uipath,
        "",
        &format!("{subject}:{}", phase.name()),
        state,
    );
    e.via = Some(Via::Poll);
    if e.folder.is_none() {
        e.folder = Some(folder.to_string());
        e.link = link_for(ctx, &e);
    }
    // Whole minutes held, whole seconds of a learned limit: "2h 5m", "30m 39s".
    let minutes = (now - since).num_minutes().max(0) as u64;
    let held = humantime::format_duration(Duration::from_secs(minutes * 60)).to_string();
    let limit = humantime::format_duration(Duration::from_secs(limit.as_secs())).to_string();
    e.details = vec![
        ("State".into(), job.state.clone().unwrap_or_default()),
        ("For".into(), held),
        ("Limit".into(), format!("{limit} ({why})")),
    ];
    e
}

#[cfg(test)]
mod tests;
