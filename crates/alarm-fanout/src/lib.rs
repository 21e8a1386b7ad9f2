//! The `alarm-fanout` Lambda: SQS batch of normalized events → [`Fanout`] per event → partial
//! batch response, so only messages with a retryable failure return to the queue (and, after
//! the queue's receive limit, land in the DLQ). An unreadable message is returned too, so it ends
//! in the DLQ for a human instead of vanishing.

use std::time::SystemTime;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use lambda_runtime::{Context, Error, LambdaEvent};
use opsbell_core::event::Event;
use opsbell_core::fanout::Fanout;
use opsbell_core::source::ParseError;
use tokio::time::Instant;
use tracing::error;

pub async fn handle(
    event: LambdaEvent<SqsEvent>,
    fanout: &Fanout,
) -> Result<SqsBatchResponse, Error> {
    let deadline = deadline_of(&event.context);
    let records = &event.payload.records;
    let retry = join_all(records.iter().map(|r| must_retry(r, fanout, deadline))).await;
    let mut response = SqsBatchResponse::default();
    for (record, retry) in records.iter().zip(retry) {
        if retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

async fn must_retry(record: &SqsMessage, fanout: &Fanout, deadline: Instant) -> bool {
    let body = record.body.as_deref().unwrap_or_default();
    match ParseError::from_json::<Event>(body.as_bytes()) {
        Ok(event) => fanout.deliver(&event, deadline).await.should_retry(),
        Err(e) => {
            let message_id = record.message_id.as_deref().unwrap_or_default();
            error!(message_id, field = %e.path, error = %e.message,
                "Unreadable event message; returning it to the queue so it ends in the DLQ.");
            true
        }
    }
}

/// The invocation's deadline as a monotonic instant.
fn deadline_of(context: &Context) -> Instant {
    let remaining = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Instant::now() + remaining
}
