//! Wiring only: configuration, the queue, the state table, the pollers, the runtime.
//! `--event FILE` runs one invocation on a schedule input from a file (see `opsbell_aws::local`).

use std::sync::Arc;

use lambda_runtime::{Error, run, service_fn, tracing};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::lambda::required_env;
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::build::{self, Deps};
use opsbell_core::http::{RetryPolicy, client};
use opsbell_core::ports::SystemClock;

// One invocation at a time, its work async I/O: one thread, none spawned at INIT.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let queue_url = required_env("EVENTS_QUEUE_URL")?;
    let table = required_env("STATE_TABLE")?;
    let aws = opsbell_aws::lambda_sdk_config().await;
    let config = opsbell_aws::secrets::load_config(&aws).await?;
    let queue = Arc::new(SqsQueue::from_config(&aws, queue_url));
    let records = Arc::new(DynamoStore::from_config(&aws, table));
    let deps = Deps {
        http: client(),
        policy: RetryPolicy::default(),
        log: records.clone(),
        records,
        clock: Arc::new(SystemClock),
        escalations: None,
        queue: None,
    };
    let pollers = build::pollers(&config, &deps, queue);
    if let Some(event) = opsbell_aws::local::event()? {
        return opsbell_aws::local::print(&job_poller::handle(event, &pollers).await?);
    }
    run(service_fn(|event| job_poller::handle(event, &pollers))).await
}
