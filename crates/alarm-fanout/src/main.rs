//! Wiring only: configuration, the delivery log (and the Chat bot's space registry), the chat and
//! ticket adapters, the on-call caller's queue for `oncall` channels, the runtime. `--event FILE`
//! handles one SQS or SNS event from a file (see `opsbell_aws::local`).

use std::sync::Arc;

use lambda_runtime::{Error, run, service_fn, tracing};
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::lambda::required_env;
use opsbell_aws::sqs::{SqsEscalations, SqsQueue};
use opsbell_core::build::{self, Deps};
use opsbell_core::http::{RetryPolicy, client};
use opsbell_core::ports::{Escalations, SystemClock};

// One invocation at a time, its work async I/O: one thread, none spawned at INIT.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let table = required_env("STATE_TABLE")?;
    let aws = opsbell_aws::lambda_sdk_config().await;
    let config = opsbell_aws::secrets::load_config(&aws).await?;
    let store = Arc::new(DynamoStore::from_config(&aws, table));
    let escalations = std::env::var("ONCALL_QUEUE_URL").ok().map(|url| {
        let queue = SqsEscalations(SqsQueue::from_config(&aws, url));
        Arc::new(queue) as Arc<dyn Escalations>
    });
    // Flood digests wait on the events queue itself (a delayed message per window).
    let queue = std::env::var("EVENTS_QUEUE_URL").ok().map(|url| {
        Arc::new(SqsQueue::from_config(&aws, url)) as Arc<dyn opsbell_core::ports::Queue>
    });
    let deps = Deps {
        http: client(),
        policy: RetryPolicy::default(),
        log: store.clone(),
        records: store,
        clock: Arc::new(SystemClock),
        escalations,
        queue,
    };
    let fanout = build::fanout(&config, &deps);
    if let Some(event) = opsbell_aws::local::event()? {
        return opsbell_aws::local::print(&alarm_fanout::handle_any(event, &fanout).await?);
    }
    run(service_fn(|event| alarm_fanout::handle_any(event, &fanout))).await
}
