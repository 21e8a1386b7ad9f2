//! Helpers for tests that run against a local AWS emulator (moto server).

/// The emulator's SDK configuration, or `None` (with a note) when `AWS_ENDPOINT_URL` is unset.
/// Under `CI=true` a missing emulator is a failure, never a skip, so a broken setup can't pass.
pub async fn emulator() -> Option<aws_config::SdkConfig> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "AWS_ENDPOINT_URL is not set under CI=true: run the tests with scripts/test.sh, which starts moto"
        );
        eprintln!("skipped: AWS_ENDPOINT_URL not set (run scripts/test.sh to start moto)");
        return None;
    }
    Some(crate::sdk_config().await)
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
