//! `opsbell serve`'s timers: each poll on its interval and the heartbeat checks' judge, with
//! the same code the `job-poller` Lambda runs on its schedule.

use std::sync::Arc;
use std::time::Duration;

use opsbell_core::heartbeat::Heartbeats;
use opsbell_core::poll::Pollers;
use opsbell_local::scheduler::Scheduler;
use tokio::sync::watch;
use tracing::{error, info};

/// Each poll on its own interval (a source's, or a `scheduled.<target>`'s), with the same code
/// as the `job-poller` Lambda.
pub fn pollers(scheduler: &mut Scheduler, pollers: Arc<Pollers>, shutdown: &watch::Receiver<bool>) {
    if pollers.schedule().is_empty() && pollers.pings() {
        // Nothing to poll: the self-ping still says, every 5 minutes, that opsbell is alive.
        let pollers = pollers.clone();
        let every = std::time::Duration::from_secs(300);
        scheduler.every(
            "self-ping".to_string(),
            every,
            shutdown.clone(),
            move || {
                let pollers = pollers.clone();
                async move {
                    let deadline = tokio::time::Instant::now() + every;
                    pollers.cycle(&[], &[], chrono::Utc::now(), deadline).await;
                }
            },
        );
    }
    for job in pollers.schedule() {
        let scope = opsbell_core::poll::PollJob::scope(&job.source, &job.destinations);
        info!(poll = %scope, every = ?job.every, "Polling.");
        let pollers = pollers.clone();
        let every = job.every;
        scheduler.every(format!("poll:{scope}"), every, shutdown.clone(), move || {
            let pollers = pollers.clone();
            let (only, destinations) = (vec![job.source.clone()], job.destinations.clone());
            async move {
                let deadline = tokio::time::Instant::now() + every;
                let now = chrono::Utc::now();
                for result in pollers.cycle(&only, &destinations, now, deadline).await {
                    if let Err(e) = result {
                        error!(error = %e, "Poll failed; the next run retries from the stored state.");
                    }
                }
            }
        });
    }
}

/// Heartbeat checks judged often enough to see a grace end: a quarter of the shortest grace
/// or period, between 1 second and a minute.
pub fn heartbeats(
    scheduler: &mut Scheduler,
    heartbeats: Arc<Heartbeats>,
    shutdown: &watch::Receiver<bool>,
) {
    let shortest = (heartbeats.checks().iter())
        .flat_map(|c| {
            let period = match &c.every {
                opsbell_core::heartbeat::Every::Period(p) => Some(*p),
                opsbell_core::heartbeat::Every::Cron { .. } => None,
            };
            [Some(c.grace), period].into_iter().flatten()
        })
        .filter_map(|d| d.to_std().ok())
        .min()
        .unwrap_or(Duration::from_secs(60));
    let every = (shortest / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    info!(checks = heartbeats.checks().len(), every = ?every, "Heartbeat checks.");
    scheduler.every("heartbeats".into(), every, shutdown.clone(), move || {
        let heartbeats = heartbeats.clone();
        async move {
            if let Err(e) = heartbeats.tick(chrono::Utc::now()).await {
                error!(error = %e, "Heartbeat checks could not be judged; the next tick retries.");
            }
        }
    });
}
