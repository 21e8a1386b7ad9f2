//! Wiring only: configuration, the SQS queue, and the Lambda runtime (or, with `--event FILE`,
//! one API Gateway event from a file: see `opsbell_aws::local`).

use std::sync::Arc;

use lambda_http::{Error, run, service_fn, tracing};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::lambda::required_env;
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::ingest::Ingest;
use opsbell_core::ports::SystemClock;

// One invocation at a time, its work async I/O: one thread, none spawned at INIT.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let queue_url = required_env("EVENTS_QUEUE_URL")?;
    let aws = opsbell_aws::lambda_sdk_config().await;
    let config = opsbell_aws::secrets::load_config(&aws).await?;
    let queue = Arc::new(SqsQueue::from_config(&aws, queue_url));
    let ingest = Ingest::new(&config, queue.clone(), Arc::new(SystemClock))?;
    // Heartbeat pings write the check's row; without checks the table is never touched.
    let heartbeats = match config.heartbeats.is_empty() {
        true => None,
        false => {
            let table = required_env("STATE_TABLE")?;
            let records = Arc::new(DynamoStore::from_config(&aws, table));
            opsbell_core::build::heartbeats(&config, records, queue)
        }
    };
    if let Some(request) = opsbell_aws::local::request()? {
        let response = webhook_ingest::handle(request, &ingest, heartbeats.as_deref()).await?;
        return opsbell_aws::local::print_response(&response);
    }
    run(service_fn(|request| {
        webhook_ingest::handle(request, &ingest, heartbeats.as_deref())
    }))
    .await
}
