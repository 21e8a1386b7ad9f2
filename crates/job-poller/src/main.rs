//! Wiring only: configuration, the queue, the state table, the pollers, the runtime.
//! `--event FILE` runs one invocation on a schedule input from a file (see `opsbell_aws::local`).

use std::sync::Arc;

use lambda_runtime::{Error, run, service_fn, tracing};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::http::{RetryPolicy, client};
use opsbell_core::poll::Pollers;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let queue_url = std::env::var("EVENTS_QUEUE_URL").map_err(|_| "EVENTS_QUEUE_URL is not set")?;
    let table = std::env::var("STATE_TABLE").map_err(|_| "STATE_TABLE is not set")?;
    let aws = opsbell_aws::sdk_config().await;
    let config = opsbell_aws::secrets::load_config(&aws).await?;
    let queue = Arc::new(SqsQueue::from_config(&aws, queue_url));
    let records = Arc::new(DynamoStore::from_config(&aws, table));
    let pollers = Pollers::from_config(&config, &client(), RetryPolicy::default(), records, queue);
    if let Some(event) = opsbell_aws::local::event()? {
        return opsbell_aws::local::print(&job_poller::handle(event, &pollers).await?);
    }
    run(service_fn(|event| job_poller::handle(event, &pollers))).await
}
