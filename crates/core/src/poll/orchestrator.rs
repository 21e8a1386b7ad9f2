//! Exact Orchestrator polling. Per folder, from a persisted high-water mark (EndTime, Id) minus an
//! overlap window, page through jobs that ended in a terminal state, queue each page's events,
//! then advance the mark. A run that dies after queueing a page re-reads it next time; the event
//! keys equal the webhook's, so the delivery log drops every copy after the first.

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{info, warn};

use super::{PollError, PollReport};
use crate::client::orchestrator::OrchestratorClient;
use crate::event::Event;
use crate::ports::{Queue, Records};
use crate::source::ParseError;
use crate::source::uipath::{UipathContext, job_event, terminal_state};
use crate::state::Watermark;

/// Polls every folder of `client`'s source once, keeping its watermarks under `scope` (the source
/// name, or that of one of its [`crate::client::orchestrator::config::PollSchedule`]s).
pub async fn poll(
    client: &OrchestratorClient,
    scope: &str,
    ctx: &UipathContext,
    records: &dyn Records,
    queue: &dyn Queue,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<PollReport, PollError> {
    let source = client.source();
    let err = |error| PollError::Orchestrator {
        source_name: source.name.clone(),
        error,
    };
    let folders = match source.folders.is_empty() {
        true => client.folders(deadline).await.map_err(err)?,
        false => source.folders.clone(),
    };
    let mut report = PollReport {
        source: source.name.clone(),
        folders: folders.len(),
        ..PollReport::default()
    };
    let mut first_error = None;
    for folder in folders {
        match poll_folder(
            client,
            scope,
            ctx,
            records,
            queue,
            folder,
            now,
            deadline,
            &mut report,
        )
        .await
        {
            Ok(()) => {}
            Err(e) => {
                warn!(source = %source.name, folder, error = %e, "Folder poll failed; its watermark stays, the next run retries.");
                report.failed_folders.push(folder);
                first_error.get_or_insert(e);
            }
        }
    }
    info!(source = %source.name, jobs = report.jobs, pages = report.pages, "Orchestrator polled.");
    report.into_result(first_error)
}

#[allow(clippy::too_many_arguments)]
async fn poll_folder(
    client: &OrchestratorClient,
    scope: &str,
    ctx: &UipathContext,
    records: &dyn Records,
    queue: &dyn Queue,
    folder: i64,
    now: DateTime<Utc>,
    deadline: Instant,
    report: &mut PollReport,
) -> Result<(), PollError> {
    let source = client.source();
    let mark = Watermark::load(records, scope, folder).await?;
    let overlap = chrono::Duration::from_std(source.overlap).unwrap_or_default();
    let lookback = chrono::Duration::from_std(source.initial_lookback).unwrap_or_default();
    let from = mark.map_or(now - lookback, |m| m.end_time - overlap);
    let mut after = None;
    let mut high = mark;
    loop {
        let page = client
            .ended_jobs(folder, from, now, after, deadline)
            .await
            .map_err(|error| PollError::Orchestrator {
                source_name: source.name.clone(),
                error,
            })?;
        let events = normalize(&page.jobs, folder, ctx);
        queue.enqueue(&events).await?;
        if let Some(learn) = source.hung.as_ref().and_then(|h| h.learn.as_ref()) {
            let learned =
                super::runtimes::learn(records, &source.name, folder, &page.jobs, learn.runs, now);
            if let Err(e) = learned.await {
                warn!(source = %source.name, folder, error = %e, "Could not record the successful runs' durations; hung jobs are judged on what is known.");
            }
        }
        report.pages += 1;
        report.jobs += events.len();
        let last = page.jobs.iter().filter_map(cursor_of).max();
        if let Some(last) = last {
            after = Some(last);
            if high.is_none_or(|h| last > h) {
                high = Some(last);
                last.save(records, scope, folder).await?;
            }
        }
        if !page.more || last.is_none() {
            return Ok(());
        }
    }
}

fn cursor_of(job: &crate::source::uipath::Job) -> Option<Watermark> {
    Some(Watermark {
        end_time: job.end_time?,
        id: job.id?,
    })
}

/// Polled jobs as events, keyed exactly like the webhook's.
pub fn normalize(
    jobs: &[crate::source::uipath::Job],
    folder: i64,
    ctx: &UipathContext,
) -> Vec<Event> {
    jobs.iter()
        .enumerate()
        .filter_map(|(i, job)| {
            let state = terminal_state(job)?;
            let occurred_at = job.end_time.unwrap_or(ctx.received_at);
            let mut event = job_event(job, state, ctx, &format!("value[{i}]"), occurred_at)
                .map_err(|e: ParseError| warn!(folder, error = %e, "Polled job skipped."))
                .ok()?;
            event.via = Some(crate::event::Via::Poll);
            if event.folder.is_none() {
                event.folder = Some(folder.to_string());
                event.link = crate::source::uipath::link_for(ctx, &event);
            }
            Some(event)
        })
        .collect()
}

#[cfg(test)]
mod tests;
