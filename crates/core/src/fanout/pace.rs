//! One post at a time per destination, spaced by the vendor's documented rate (each adapter's
//! `ChannelConfig::spacing`, with its source in the adapter's header): the fan-out queues
//! instead of hammering a webhook into 429s. `Retry-After` on a 429 is still honoured by the
//! retry loop.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct Pace {
    gap: Duration,
    last: Mutex<Option<Instant>>,
}

impl Pace {
    pub fn new(gap: Duration) -> Pace {
        Pace {
            gap,
            last: Mutex::new(None),
        }
    }

    /// Runs `post` once the previous post of this destination is done and `gap` has passed.
    pub async fn run<T>(&self, post: impl Future<Output = T>) -> T {
        let mut last = self.last.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + self.gap).await;
        }
        let out = post.await;
        *last = Some(Instant::now());
        out
    }
}
