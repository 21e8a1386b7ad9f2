//! HTTP clients of the systems opsbell polls.

pub mod kamonohashi;
pub mod orchestrator;

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces requests at least `60 s / per_minute` apart, across every caller sharing it, so a
/// poller stays under a vendor's per-minute quota instead of finding it with 429s.
#[derive(Debug)]
pub struct RateLimiter {
    gap: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub fn per_minute(n: u32) -> Self {
        RateLimiter {
            gap: Duration::from_secs(60) / n.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    pub async fn acquire(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = (*next).max(now) + self.gap;
    }
}

/// One poll `opsbell serve` runs on its interval, and the `job-poller` on a schedule event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollJob {
    pub source: String,
    /// Empty: every route.
    pub destinations: Vec<String>,
    pub every: std::time::Duration,
    /// The schedule expression of its `job-poller` event.
    pub expression: String,
}

impl PollJob {
    pub fn every(source: &str, every: std::time::Duration) -> PollJob {
        PollJob {
            source: source.to_string(),
            destinations: Vec::new(),
            every,
            expression: rate_expression(every),
        }
    }

    /// The name a poll's watermarks are kept under: the source's, or, for a poll restricted to
    /// some destinations, `<source>><destination>,…`.
    pub fn scope(source: &str, destinations: &[String]) -> String {
        match destinations {
            [] => source.to_string(),
            some => format!("{source}>{}", some.join(",")),
        }
    }
}

/// The CloudWatch schedule expression of a period, in whole minutes (`rate(10 minutes)`).
pub fn rate_expression(every: std::time::Duration) -> String {
    match (every.as_secs() / 60).max(1) {
        1 => "rate(1 minute)".into(),
        m => format!("rate({m} minutes)"),
    }
}

/// Every poll to run, each with its interval (for `opsbell serve`'s scheduler and the
/// `job-poller`'s schedule events): one per source, or one per schedule of a source that has
/// them (the predecessor's `scheduled.<target>`s).
pub fn jobs(
    orchestrators: &[orchestrator::config::OrchestratorSource],
    kamonohashi: &[kamonohashi::config::KamonohashiSource],
) -> Vec<PollJob> {
    let mut jobs = Vec::new();
    for source in orchestrators {
        let own = source.schedules.iter().map(|s| PollJob {
            source: source.name.clone(),
            destinations: s.channels.clone(),
            every: s.every,
            expression: s.expression.clone(),
        });
        let before = jobs.len();
        jobs.extend(own);
        if jobs.len() == before {
            jobs.push(PollJob::every(&source.name, source.interval));
        }
    }
    for source in kamonohashi {
        jobs.push(PollJob::every(&source.name, source.interval));
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced() {
        let limiter = RateLimiter::per_minute(60);
        let start = Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }
}
