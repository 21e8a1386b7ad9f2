//! The `alarm-fanout` Lambda, on two triggers:
//! - the events queue (SQS): a batch of normalized events → [`Fanout`] per event → partial batch
//!   response, so only messages with a retryable failure return to the queue (and, after the
//!   queue's receive limit, land in the DLQ). An unreadable message is returned too, so it ends in
//!   the DLQ for a human instead of vanishing;
//! - the alarm topic (SNS): CloudWatch alarms (and any other message) → events → [`Fanout`]. A
//!   retryable failure fails the invocation, so Lambda retries it and, after its retries, hands it
//!   to the failure destination (the events DLQ) as a failure record. A redrive of that queue
//!   into the events queue brings the record here, and its SNS alarm is delivered as if it had
//!   just arrived; the delivery log keeps retries and redrives from posting twice.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use opsbell_aws::lambda::{Retry, Trigger, deadline, partial_batch};
use opsbell_core::event::Event;
use opsbell_core::fanout::Fanout;
use opsbell_core::source::cloudwatch::sns_events;
use opsbell_core::source::lambda::failed_sns_records;
use opsbell_core::source::sns::SnsRecord;
use opsbell_core::source::{Inbound, ParseError};
use serde::Serialize;
use tokio::time::Instant;
use tracing::error;

/// What an invocation answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// To the queue: the messages to return.
    Batch(SqsBatchResponse),
    /// To SNS (which reads nothing back): the event keys delivered, for logs and `--event`.
    Delivered { delivered: Vec<String> },
}

/// Either trigger.
pub async fn handle_any(event: LambdaEvent<Trigger>, fanout: &Fanout) -> Result<Answer, Error> {
    let deadline = deadline(&event.context);
    match event.payload {
        Trigger::Sns(sns) => {
            let (delivered, failures) = deliver_sns(&sns.records, fanout, deadline).await;
            if !failures.is_empty() {
                return Err(failures.join("; ").into());
            }
            Ok(Answer::Delivered { delivered })
        }
        Trigger::Sqs(sqs) => {
            let response = handle(LambdaEvent::new(sqs, event.context), fanout).await?;
            Ok(Answer::Batch(response))
        }
    }
}

/// Delivers SNS records; returns the event keys delivered and the failures.
async fn deliver_sns(
    records: &[SnsRecord],
    fanout: &Fanout,
    deadline: Instant,
) -> (Vec<String>, Vec<String>) {
    let mut delivered = Vec::new();
    let mut failures = Vec::new();
    for record in records {
        match sns_events(&record.sns, chrono::Utc::now()) {
            Ok(Inbound::Events(events)) => {
                for event in events {
                    if fanout.deliver(&event, deadline).await.should_retry() {
                        failures.push(format!("{}: retryable failure", event.key));
                    }
                    delivered.push(event.key.to_string());
                }
            }
            Ok(Inbound::Ignored { .. }) => {}
            Err(e) => {
                error!(field = %e.path, error = %e.message,
                    "Unreadable SNS message; failing so it is retried, then kept by the failure destination.");
                failures.push(e.to_string());
            }
        }
    }
    (delivered, failures)
}

/// The events queue: every message at once, each delivered by the fan-out.
pub async fn handle(
    event: LambdaEvent<SqsEvent>,
    fanout: &Fanout,
) -> Result<SqsBatchResponse, Error> {
    let deadline = deadline(&event.context);
    let records = &event.payload.records;
    let all = records.len();
    let (response, _) = partial_batch(records, all, |r| deliver(r, fanout, deadline)).await;
    Ok(response)
}
/// One message of the events queue, delivered; [`Retry`] when a target is unfinished.
async fn deliver(record: &SqsMessage, fanout: &Fanout, deadline: Instant) -> Result<(), Retry> {
    let body = record.body.as_deref().unwrap_or_default();
    let retry = match ParseError::from_json::<Event>(body.as_bytes()) {
        Ok(event) => fanout.deliver(&event, deadline).await.should_retry(),
        // A redriven alarm: the failure record of an SNS invocation that failed.
        Err(_) if let Some(sns) = failed_sns_records(body) => {
            !deliver_sns(&sns, fanout, deadline).await.1.is_empty()
        }
        Err(e) => {
            let message_id = record.message_id.as_deref().unwrap_or_default();
            error!(message_id, field = %e.path, error = %e.message,
                "Unreadable event message; returning it to the queue so it ends in the DLQ.");
            true
        }
    };
    if retry { Err(Retry) } else { Ok(()) }
}
