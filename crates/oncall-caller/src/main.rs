//! Wiring only: settings, rotation files (S3 or a folder), Connect (or a dry run), the check
//! queue, the state table, the runtime. `--event FILE` handles one SNS or SQS event from a file
//! (see `opsbell_aws::local`).

use std::sync::Arc;

use lambda_runtime::{Error, run, service_fn, tracing};
use oncall_caller::Caller;
use opsbell_aws::connect::ConnectDialer;
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::s3::S3Files;
use opsbell_aws::sqs::{SqsCheckQueue, SqsQueue};
use opsbell_core::oncall::escalation::{Dialer, Escalation};
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::oncall::trigger::{DirFiles, Files};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let settings = OncallSettings::from_env(&env).map_err(|p| p.join("; "))?;
    let var = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
    let aws = opsbell_aws::sdk_config().await;
    let files: Arc<dyn Files> = match (&settings.bucket, &settings.files_dir) {
        (Some(bucket), _) => Arc::new(S3Files::from_config(&aws, bucket)),
        (None, dir) => Arc::new(DirFiles(dir.clone().unwrap_or_default().into())),
    };
    let dialer: Arc<dyn Dialer> = match &settings.connect {
        Some(connect) if !settings.dry_run => {
            Arc::new(ConnectDialer::from_config(&aws, connect.clone()))
        }
        _ => Arc::new(opsbell_core::oncall::escalation::DryRunDialer),
    };
    let records = DynamoStore::from_config(&aws, var("STATE_TABLE")?);
    let checks = SqsCheckQueue(SqsQueue::from_config(&aws, var("CHECK_QUEUE_URL")?));
    let events = SqsQueue::from_config(&aws, var("EVENTS_QUEUE_URL")?);
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
