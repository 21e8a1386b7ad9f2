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
