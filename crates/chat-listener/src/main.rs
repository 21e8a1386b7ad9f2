//! Wiring only: bot settings, Google's keys, the space registry, on-call files when configured.
//! `--event FILE` handles one API Gateway event from a file (see `opsbell_aws::local`).

use lambda_http::{Error, run, service_fn, tracing};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::lambda::required_env;
use opsbell_aws::s3::S3Files;
use opsbell_core::access::Access;
use opsbell_core::chat::ChatSettings;
use opsbell_core::chat::listener::ChatListener;
use opsbell_core::chat::verify::ChatVerifier;
use opsbell_core::config::ConfigError;
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::ports::Files;

// One invocation at a time, its work async I/O: one thread, none spawned at INIT.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let chat = ChatSettings::from_env(&env)
        .map_err(|problems| ConfigError { problems })?
        .ok_or("set CHAT_PROJECT_NUMBER or CHAT_ENDPOINT_URL")?;
    let table = required_env("STATE_TABLE")?;
    let aws = opsbell_aws::lambda_sdk_config().await;
    let records = DynamoStore::from_config(&aws, table);
    let verifier = ChatVerifier::new(
        chat.audience.clone(),
        chat.keys_url.clone(),
        opsbell_core::http::client(),
    );
    // On-call settings half set are a cold-start error, never a silently missing `oncall`.
    let oncall = OncallSettings::optional(&env).map_err(|problems| ConfigError { problems })?;
    let files = oncall
        .as_ref()
        .and_then(|s| s.bucket.as_ref())
        .map(|b| S3Files::from_config(&aws, b));
    let oncall = oncall.as_ref().zip(files.as_ref().map(|f| f as &dyn Files));
    // Who may act: only `access` of the deployed config.json (no channel secrets needed).
    let raw = opsbell_core::config::Config::raw_from_environment()?;
    let access = Access::from_raw(&raw).map_err(|problems| ConfigError { problems })?;
    if access.responders.is_empty() {
        tracing::warn!(
            "No responders (access.responders): nobody may ack, silence or unsilence from chat."
        );
    }
    let listener = ChatListener {
        bot: &chat.bot,
        verifier: &verifier,
        records: &records,
        oncall,
        language: chat.language,
        silence_max: chat.silence_max,
        access: &access,
    };
    if let Some(request) = opsbell_aws::local::request()? {
        let response = chat_listener::handle(request, &listener).await?;
        return opsbell_aws::local::print_response(&response);
    }
    run(service_fn(|request| {
        chat_listener::handle(request, &listener)
    }))
    .await
}
