//! Wiring only: the configuration (its secrets resolved), the state table, the queues' depths
//! and the DLQ's redrive, on-call files when configured, the login. `--event FILE` handles one
//! API Gateway event from a file (see `opsbell_aws::local`).

use std::sync::Arc;

use lambda_http::{Error, run, service_fn, tracing};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::lambda::required_env;
use opsbell_aws::s3::S3Files;
use opsbell_aws::sqs::SqsDeadLetters;
use opsbell_core::config::ConfigError;
use opsbell_core::console::login::Oidc;
use opsbell_core::console::session::{Login, Sessions};
use opsbell_core::console::{Console, Oncall};
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::ports::SystemClock;
use secrecy::ExposeSecret;

// One invocation at a time, its work async I/O: one thread, none spawned at INIT.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let table = required_env("STATE_TABLE")?;
    let aws = opsbell_aws::lambda_sdk_config().await;
    let config = opsbell_aws::secrets::load_config(&aws).await?;
    // Behind a public endpoint the console always needs a login, and every instance one key;
    // without them it answers 404 with the reason (a deployment without a console).
    let login = config.console.login.clone();
    let key = (config.console.cookie_key.as_ref()).map(|k| k.expose_secret().as_bytes().to_vec());
    let (Some(login), Some(key)) = (login, key) else {
        tracing::warn!(
            "The console is off: set console.login and console.cookie_key in config.json."
        );
        return run(service_fn(|_| console::off())).await;
    };
    let oncall = OncallSettings::optional(&env).map_err(|problems| ConfigError { problems })?;
    let oncall = oncall.and_then(|settings| {
        let bucket = settings.bucket.clone()?;
        Some(Oncall {
            settings,
            files: Arc::new(S3Files::from_config(&aws, bucket)),
        })
    });
    let dead = SqsDeadLetters::from_config(
        &aws,
        required_env("EVENTS_QUEUE_URL")?,
        required_env("EVENTS_QUEUE_ARN")?,
        required_env("EVENTS_DLQ_URL")?,
        required_env("EVENTS_DLQ_ARN")?,
    );
    let silence_max = opsbell_core::silence::max_length(&env).map_err(Error::from)?;
    let secure = login.redirect_url.starts_with("https://");
    let console = Console {
        config: Arc::new(config),
        records: Arc::new(DynamoStore::from_config(&aws, table)),
        clock: Arc::new(SystemClock),
        oncall,
        dead: Some(Arc::new(dead)),
        base: console::MOUNT.into(),
        sessions: Sessions::new(key, Login::Required, secure),
        oidc: Some(Arc::new(Oidc::new(login))),
        silence_max,
    };
    if let Some(request) = opsbell_aws::local::request()? {
        let response = console::handle(request, &console).await?;
        return opsbell_aws::local::print_response(&response);
    }
    run(service_fn(|request| console::handle(request, &console))).await
}
