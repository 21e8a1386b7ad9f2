//! What every Lambda's `main` and handler needs from the runtime: its required environment and
//! the invocation's deadline.

use std::time::SystemTime;

use lambda_runtime::Context;
use tokio::time::Instant;

/// The value of environment variable `name`, or an error naming it (a cold-start failure).
pub fn required_env(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!("{name} is not set")),
    }
}

/// The invocation's deadline as a monotonic instant.
pub fn deadline(context: &Context) -> Instant {
    let remaining = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Instant::now() + remaining
}
