//! AWS implementations of opsbell's ports. One cargo feature per AWS service, so each Lambda
//! compiles and links only the SDKs it calls.

#[cfg(feature = "connect")]
pub mod connect;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod http;
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
/// `AWS_ENDPOINT_URL`, which points tests at a local emulator), over opsbell's HTTP client.
pub async fn sdk_config() -> aws_config::SdkConfig {
    loader().load().await
}

/// A Lambda function's SDK configuration: as [`sdk_config`], with the credentials Lambda puts in
/// the environment (its execution role's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) read directly. The default chain finds them first too, but building it
/// makes an STS client for web identity, as much CPU at INIT as the rest of webhook-ingest's.
pub async fn lambda_sdk_config() -> aws_config::SdkConfig {
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    loader().credentials_provider(credentials).load().await
}

fn loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http::sdk_http_client())
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
