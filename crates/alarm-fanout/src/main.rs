//! Wiring only: configuration, the delivery log (and the Chat bot's space registry), the chat and
//! ticket adapters, the on-call caller's queue for `oncall` channels, the runtime. `--event FILE`
//! handles one SQS or SNS event from a file (see `opsbell_aws::local`).

use std::sync::Arc;

use lambda_runtime::{Error, run, service_fn, tracing};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::sqs::{SqsEscalations, SqsQueue};
use opsbell_core::fanout::Fanout;
use opsbell_core::http::{RetryPolicy, client};
use opsbell_core::notify::oncall_sinks;
use opsbell_core::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let table = std::env::var("STATE_TABLE").map_err(|_| "STATE_TABLE is not set")?;
    let aws = opsbell_aws::sdk_config().await;
    let config = opsbell_aws::secrets::load_config(&aws).await?;
    let store = Arc::new(DynamoStore::from_config(&aws, table));
    let policy = RetryPolicy::default();
    let mut fanout = Fanout::from_config(
        &config,
        &client(),
        policy,
        store.clone(),
        store,
        Arc::new(SystemClock),
    );
    if let Ok(url) = std::env::var("ONCALL_QUEUE_URL") {
        let escalations = Arc::new(SqsEscalations(SqsQueue::from_config(&aws, url)));
        fanout.sinks.extend(oncall_sinks(&config, escalations));
    }
    if let Some(event) = opsbell_aws::local::event()? {
        return opsbell_aws::local::print(&alarm_fanout::handle_any(event, &fanout).await?);
    }
    run(service_fn(|event| alarm_fanout::handle_any(event, &fanout))).await
}
