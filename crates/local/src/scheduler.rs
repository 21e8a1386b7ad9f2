//! Runs periodic jobs in-process (pollers, housekeeping) until shutdown. Each job runs on its own
//! task; a slow run delays only its own next run (missed ticks are skipped, not bunched).

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::debug;

#[derive(Default)]
pub struct Scheduler {
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Runs `job` now and then every `period` until `shutdown` turns true.
    pub fn every<F, Fut>(
        &mut self,
        name: String,
        period: Duration,
        mut shutdown: watch::Receiver<bool>,
        mut job: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {
                        debug!(job = %name, "Scheduled job running.");
                        job().await;
                    }
                    _ = shutdown.changed() => {}
                }
                if *shutdown.borrow() {
                    break;
                }
            }
        }));
    }

    /// Waits for every job to finish its current run after shutdown.
    pub async fn join(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn runs_at_start_and_every_period_until_shutdown() {
        let (stop, shutdown) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let mut scheduler = Scheduler::default();
        let counter = runs.clone();
        scheduler.every(
            "count".into(),
            Duration::from_secs(60),
            shutdown,
            move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            },
        );
        tokio::time::sleep(Duration::from_secs(150)).await;
        stop.send(true).unwrap();
        scheduler.join().await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }
}
