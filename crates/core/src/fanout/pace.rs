//! Stage 6, pace: posts to one destination are bounded. A destination with a spacing (each
//! adapter's `ChannelConfig::spacing`, with its source in the adapter's header, or the
//! channel's `spacing`) posts one at a time, that far apart: the fan-out queues instead of
//! hammering a webhook into 429s. One without (`"spacing": "0s"`) still has at most
//! [`IN_FLIGHT`] posts under way: 340 polled jobs at once into one webhook made its answers
//! time out after the vendor took the post, and each time-out was posted again.
//! `Retry-After` on a 429 is still honoured by the retry loop.

use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// Posts under way at once to a destination without spacing.
pub const IN_FLIGHT: usize = 8;

pub struct Pace {
    gap: Duration,
    slots: Semaphore,
    last: Mutex<Option<Instant>>,
}

impl Pace {
    /// One post at a time, `gap` apart; a zero gap allows [`IN_FLIGHT`] at once, unspaced.
    pub fn new(gap: Duration) -> Pace {
        let slots = if gap.is_zero() { IN_FLIGHT } else { 1 };
        Pace {
            gap,
            slots: Semaphore::new(slots),
            last: Mutex::new(None),
        }
    }

    /// Runs `post` once a slot is free and, when spaced, `gap` has passed since the last post.
    pub async fn run<T>(&self, post: impl Future<Output = T>) -> T {
        let _slot = self.slots.acquire().await;
        if !self.gap.is_zero() {
            let last = *self.last.lock().await;
            if let Some(at) = last {
                tokio::time::sleep_until(at + self.gap).await;
            }
        }
        let out = post.await;
        *self.last.lock().await = Some(Instant::now());
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_destination_without_spacing_has_at_most_eight_posts_in_flight() {
        let pace = Arc::new(Pace::new(Duration::ZERO));
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let posts = (0..40).map(|_| {
            let (pace, now, most) = (pace.clone(), now.clone(), most.clone());
            async move {
                pace.run(async {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }
        });
        futures::future::join_all(posts).await;
        assert_eq!(most.load(Ordering::SeqCst), IN_FLIGHT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_spaced_destination_posts_one_at_a_time_gap_apart() {
        let pace = Pace::new(Duration::from_millis(500));
        let started = Instant::now();
        for _ in 0..3 {
            pace.run(async {}).await;
        }
        assert_eq!(started.elapsed(), Duration::from_millis(1000));
    }
}
