//! Wiring only: settings, rotation files (S3 or a folder), Connect (or a dry run), the check
//! queue, the state table, the runtime. `--event FILE` handles one SNS or SQS event from a file
//! (see `opsbell_aws::local`).

use std::sync::Arc;

use lambda_runtime::{Error, run, service_fn, tracing};
use oncall_caller::Caller;
use opsbell_aws::connect::ConnectDialer;
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::lambda::required_env;
use opsbell_aws::s3::S3Files;
use opsbell_aws::sqs::{SqsCheckQueue, SqsQueue};
use opsbell_core::config::ConfigError;
use opsbell_core::escalation::Escalation;
use opsbell_core::escalation::trigger::DirFiles;
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::ports::Dialer;
use opsbell_core::ports::Files;

// One invocation at a time, its work async I/O: one thread, none spawned at INIT.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let settings = OncallSettings::from_env(&env).map_err(|problems| ConfigError { problems })?;
    let aws = opsbell_aws::lambda_sdk_config().await;
    let files: Arc<dyn Files> = match (&settings.bucket, &settings.files_dir) {
        (Some(bucket), _) => Arc::new(S3Files::from_config(&aws, bucket)),
        (None, dir) => Arc::new(DirFiles(dir.clone().unwrap_or_default().into())),
    };
    let dialer: Arc<dyn Dialer> = match &settings.connect {
        Some(connect) if !settings.dry_run => {
            Arc::new(ConnectDialer::from_config(&aws, connect.clone()))
        }
        _ => Arc::new(opsbell_core::escalation::dry_run::DryRunDialer),
    };
    let records = DynamoStore::from_config(&aws, required_env("STATE_TABLE")?);
    let checks = SqsCheckQueue(SqsQueue::from_config(
        &aws,
        required_env("CHECK_QUEUE_URL")?,
    ));
    let events = SqsQueue::from_config(&aws, required_env("EVENTS_QUEUE_URL")?);
    let escalation = Escalation {
        records: &records,
        dialer: dialer.as_ref(),
        checks: &checks,
        events: &events,
        interval: settings.interval,
        dry_run: settings.dry_run,
    };
    let caller = Caller {
        settings: &settings,
        files: files.as_ref(),
        escalation,
    };
    if let Some(event) = opsbell_aws::local::event()? {
        return opsbell_aws::local::print(&oncall_caller::handle(event, &caller).await?);
    }
    run(service_fn(|event| oncall_caller::handle(event, &caller))).await
}
