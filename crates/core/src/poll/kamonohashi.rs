//! KAMONOHASHI transitions. Per tenant: list training and inference jobs, compare each status with
//! the last one stored (`JOB#kamonohashi:<source>:<tenant>` / `<kind>-<id>`), queue an event for
//! every move from a watched status (Pending, Running) to a notified one (Completed, Killed,
//! UserCanceled, Failed, Error), then store the new statuses. A tenant's first snapshot is stored
//! silently, and so is a job's first sighting, unless it is already in a notified status and was
//! created (`createdAt`, read in the watch time zone) after the tenant's last snapshot: a job that
//! was submitted and failed between two polls, or overnight, is notified as `(new) → Failed`.
//! Outside watch hours nothing is polled: the stored statuses stay, so a job that ended
//! overnight is notified at the next watch start.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{PollError, PollReport};
use crate::client::kamonohashi::{JobKind, KamonohashiClient, KqiJob, Tenant};
use crate::event::{Event, Source, State};
use crate::ports::{Queue, Records};
use crate::state::{JobState, TenantSnapshot};

/// The event state of a KAMONOHASHI status.
pub fn state_of(status: &str) -> State {
    match status {
        "Completed" | "Succeeded" => State::Successful,
        "Killed" | "UserCanceled" => State::Stopped,
        "Running" => State::Started,
        "Pending" | "Opened" => State::Created,
        _ => State::Faulted,
    }
}

pub async fn poll(
    client: &KamonohashiClient,
    tz: Tz,
    records: &dyn Records,
    queue: &dyn Queue,
    now: DateTime<Utc>,
    deadline: Instant,
) -> Result<PollReport, PollError> {
    let source = client.source();
    let mut report = PollReport {
        source: source.name.clone(),
        ..PollReport::default()
    };
    if source.enter_leave {
        notices::step(source, tz, records, queue, now).await?;
    }
    if !source.watch.watching(now, tz) {
        debug!(source = %source.name, "Outside watch hours; not polling.");
        report.skipped = true;
        return Ok(report);
    }
    let err = |error| PollError::Kamonohashi {
        source_name: source.name.clone(),
        error,
    };
    let tenants = match client.tenants(deadline).await {
        Ok(t) => t,
        Err(e) => {
            client.reset().await; // a stale token is the usual cause; log in afresh next time
            return Err(err(e));
        }
    };
    // Today's `Tenant` override, else the default list; empty = every tenant the account sees.
    let wanted = source.watch.tenants(now, tz).unwrap_or(&source.tenants);
    let tenants: Vec<Tenant> = tenants
        .into_iter()
        .filter(|t| wanted.is_empty() || wanted.contains(&t.id))
        .collect();
    report.folders = tenants.len();
    let mut first_error = None;
    for tenant in &tenants {
        if let Err(e) = poll_tenant(
            client,
            tenant,
            tz,
            records,
            queue,
            now,
            deadline,
            &mut report,
        )
        .await
        {
            warn!(source = %source.name, tenant = tenant.id, error = %e, "Tenant poll failed; retried next run.");
            report.failed_folders.push(tenant.id);
            first_error.get_or_insert(e);
        }
    }
    info!(source = %source.name, tenants = tenants.len(), transitions = report.jobs, "KAMONOHASHI polled.");
    if source.enter_leave {
        notices::count(source, tz, records, now, report.jobs).await?;
    }
    report.into_result(first_error)
}

#[allow(clippy::too_many_arguments)]
async fn poll_tenant(
    client: &KamonohashiClient,
    tenant: &Tenant,
    tz: Tz,
    records: &dyn Records,
    queue: &dyn Queue,
    now: DateTime<Utc>,
    deadline: Instant,
    report: &mut PollReport,
) -> Result<(), PollError> {
    let source = client.source();
    let stored: HashMap<String, JobState> = JobState::list(records, &source.name, tenant.id)
        .await?
        .into_iter()
        .collect();
    let baseline = stored.is_empty();
    let snapshot = (TenantSnapshot::load(records, &source.name, tenant.id).await?).map(|s| s.at);
    let mut events = Vec::new();
    let mut changed = Vec::new();
    for kind in [JobKind::Training, JobKind::Inference] {
        let jobs = client
            .jobs(tenant.id, kind, deadline)
            .await
            .map_err(|error| PollError::Kamonohashi {
                source_name: source.name.clone(),
                error,
            })?;
        report.pages += 1;
        for job in jobs {
            let sk = format!("{}-{}", kind.route(), job.id);
            let previous = stored.get(&sk);
            if let Some(prev) = previous.filter(|p| p.status == job.status) {
                let limit = source.long.of(tenant.id, &job.status);
                let (row, stuck) = still(prev, limit, now);
                if stuck {
                    events.push(stuck_event(client, tenant, kind, &job, prev, tz, now));
                }
                if let Some(row) = row {
                    changed.push((sk, row));
                }
                continue;
            }
            let previous = previous.map(|p| &p.status);
            let moved = previous.filter(|p| !baseline && source.from.contains(p));
            let born = previous.is_none() && created_after(&job, snapshot, tz);
            if let Some(prev) = moved.map(String::as_str).or(born.then_some("(new)"))
                && source.notify.contains(&job.status)
            {
                events.push(event(client, tenant, kind, &job, prev, now));
            }
            let since = match previous {
                None if job.status == "Pending" => created(&job, tz).filter(|c| *c <= now),
                _ => None,
            };
            let row = JobState {
                status: job.status,
                since: Some(since.unwrap_or(now)),
                stuck: false,
            };
            changed.push((sk, row));
        }
    }
    // Queue first: a crash before the statuses are stored re-detects the transitions next run,
    // and the delivery log drops the copies.
    queue.enqueue(&events).await?;
    report.jobs += events.len();
    for (sk, row) in changed {
        row.save(records, &source.name, tenant.id, &sk, now).await?;
    }
    TenantSnapshot { at: now }
        .save(records, &source.name, tenant.id)
        .await?;
    Ok(())
}

/// Clocks of the KAMONOHASHI server and opsbell may differ by this much.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::minutes(5);

/// Whether `job` was created after the tenant's last snapshot (`None`: none is known, so no).
fn created_after(job: &KqiJob, snapshot: Option<DateTime<Utc>>, tz: Tz) -> bool {
    let Some(snapshot) = snapshot else {
        return false;
    };
    created(job, tz).is_some_and(|c| c > snapshot - CLOCK_SLACK)
}

/// `createdAt`, which the server writes in local time (the watch time zone).
fn created(job: &KqiJob, tz: Tz) -> Option<DateTime<Utc>> {
    let text = job.created_at.as_deref()?;
    let local = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    Some(local.and_local_timezone(tz).earliest()?.with_timezone(&Utc))
}

/// A job still in its stored status: the row to store again, if it changes (a row from before
/// `since` was kept gets it now), and whether it is now stuck (past `limit`, once).
fn still(
    prev: &JobState,
    limit: Option<std::time::Duration>,
    now: DateTime<Utc>,
) -> (Option<JobState>, bool) {
    let Some(since) = prev.since else {
        let row = JobState {
            since: Some(now),
            ..prev.clone()
        };
        return (Some(row), false);
    };
    let limit = limit.and_then(|l| chrono::Duration::from_std(l).ok());
    match limit {
        Some(limit) if !prev.stuck && now - since >= limit => {
            let row = JobState {
                stuck: true,
                ..prev.clone()
            };
            (Some(row), true)
        }
        _ => (None, false),
    }
}

fn event(
    client: &KamonohashiClient,
    tenant: &Tenant,
    kind: JobKind,
    job: &KqiJob,
    previous: &str,
    now: DateTime<Utc>,
) -> Event {
    let source = client.source();
    let scope = format!("{}/{}", source.name, tenant.id);
    let subject = format!("{}-{}", kind.route(), job.id);
    let process = if job.name.is_empty() {
        subject.clone()
    } else {
        job.name.clone()
    };
    let mut event = Event::new(
        Source::Kamonohashi,
        &scope,
        &subject,
        state_of(&job.status),
        process,
        now,
    );
    event.tenant = Some(
        tenant
            .display_name
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| tenant.name.clone()),
    );
    event.job_id = Some(job.id.to_string());
    event.robot = job.created_by.clone();
    let memo = job
        .memo
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| format!("\n{m}"))
        .unwrap_or_default();
    event.info = Some(format!(
        "{} {}: {previous} → {}{memo}",
        kind.route(),
        job.id,
        job.status
    ));
    event.link = Some(format!(
        "{}/#/{}/{}?tenantId={}",
        source.server,
        kind.route(),
        job.id,
        tenant.id
    ));
    event.mentions = source.mentions.get(&tenant.id).cloned().unwrap_or_default();
    let phrase = source.phrase(&[job.status.as_str(), "Unknown"]);
    event.headline = phrase.map(|phrase| {
        // The slackbot's sentence: "<tenant>テナントのジョブ(<id>)は<phrase>".
        let tenant = event.tenant.as_deref().unwrap_or_default();
        format!("{tenant}テナントのジョブ({})は{phrase}", job.id)
    });
    event
}

/// A job stuck in its status: its own event (`stuck`), keyed by the job and the status, so it
/// is said once; the job's end is notified as any.
fn stuck_event(
    client: &KamonohashiClient,
    tenant: &Tenant,
    kind: JobKind,
    job: &KqiJob,
    prev: &JobState,
    tz: Tz,
    now: DateTime<Utc>,
) -> Event {
    let source = client.source();
    let mut e = event(client, tenant, kind, job, &job.status, now);
    let subject = format!("{}-{}-stuck-{}", kind.route(), job.id, job.status);
    let scope = format!("{}/{}", source.name, tenant.id);
    e.key = crate::event::EventKey::new(Source::Kamonohashi, &scope, &subject, State::Stuck);
    e.state = State::Stuck;
    e.headline = None;
    let since = prev.since.unwrap_or(now);
    let minutes = (now - since).num_minutes().max(0);
    let long = format!("{}h {:02}m", minutes / 60, minutes % 60);
    let limit = source
        .long
        .of(tenant.id, &job.status)
        .and_then(|l| chrono::Duration::from_std(l).ok());
    e.info = Some(format!(
        "{} {}: {} for {long}, since {} (limit {})",
        kind.route(),
        job.id,
        job.status,
        since.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z"),
        limit.map(crate::time::span_text).unwrap_or_default(),
    ));
    e.started_at = Some(since);
    e
}

mod notices;

#[cfg(test)]
mod tests;
