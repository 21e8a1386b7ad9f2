//! Helpers for tests that run against a local AWS emulator (moto server).
//!
//! Every test that needs the emulator is `#[ignore = "needs the AWS emulator: run scripts/test.sh"]`,
//! so a plain `cargo test` lists it as ignored, with the reason, and never counts it as passed.
//! `scripts/test.sh` starts moto and runs them with `--include-ignored`.

/// The emulator's SDK configuration. Without `AWS_ENDPOINT_URL` the test fails: it was asked
/// to run (`--include-ignored`), so skipping would pass it without testing anything.
pub async fn emulator() -> aws_config::SdkConfig {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run the AWS tests with scripts/test.sh, which starts moto"
    );
    crate::sdk_config().await
}

/// A name no other test in this run uses (all tests share one emulator).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
