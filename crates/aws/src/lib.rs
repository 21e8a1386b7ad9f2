//! AWS implementations of opsbell's ports. One cargo feature per AWS service, so each Lambda
//! compiles and links only the SDKs it calls.

#[cfg(feature = "connect")]
pub mod connect;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "dynamodb")]
pub mod ipf;
#[cfg(feature = "local")]
pub mod lambda;
#[cfg(feature = "local")]
pub mod local;
#[cfg(feature = "dynamodb")]
pub mod records;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "sqs")]
pub mod sqs;
pub mod testing;

/// Loads the SDK configuration from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL`, which points tests at a local emulator).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// An SDK error's full text (the plain `Display` of SDK errors says only "service error").
pub(crate) fn describe<E: std::error::Error>(e: &E) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
