//! The events queue on Amazon SQS.
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use opsbell_core::event::Event;
use opsbell_core::ports::EscalationError;
use opsbell_core::ports::{Queue, QueueError};

use crate::describe;

/// SendMessageBatch takes at most 10 entries and 256 KiB in all.
const BATCH_MAX_ENTRIES: usize = 10;
const BATCH_MAX_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn from_config(config: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(aws_sdk_sqs::Client::new(config), queue_url)
    }

    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// One message, delivered after `delay_seconds` (0–900).
    pub async fn send_one(&self, body: String, delay_seconds: i32) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(delay_seconds)
            .send()
            .await
            .map_err(|e| QueueError(describe(&e)))?;
        Ok(())
    }

    async fn send_batch(&self, bodies: &[String]) -> Result<(), QueueError> {
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| QueueError(describe(&e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| QueueError(describe(&e)))?;
        match out.failed().first() {
            None => Ok(()),
            Some(f) => Err(QueueError(format!(
                "{} of {} messages refused: {} {}",
                out.failed().len(),
                bodies.len(),
                f.code(),
                f.message().unwrap_or_default()
            ))),
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    /// Sends in batches. A failed batch fails the call; events of earlier batches may then be
    /// queued twice on a retry, which the delivery log makes harmless.
    async fn enqueue(&self, events: &[Event]) -> Result<(), QueueError> {
        let mut batch: Vec<String> = Vec::new();
        let mut bytes = 0;
        for event in events {
            let body = serde_json::to_string(event).map_err(|e| QueueError(e.to_string()))?;
            if !batch.is_empty()
                && (batch.len() == BATCH_MAX_ENTRIES || bytes + body.len() > BATCH_MAX_BYTES)
            {
                self.send_batch(&batch).await?;
                batch.clear();
                bytes = 0;
            }
            bytes += body.len();
            batch.push(body);
        }
        if !batch.is_empty() {
            self.send_batch(&batch).await?;
        }
        Ok(())
    }

    /// One `SendMessage` per event with `DelaySeconds` (rounded up, at most 900).
    async fn enqueue_later(
        &self,
        events: &[Event],
        delay: std::time::Duration,
    ) -> Result<(), QueueError> {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        let seconds = i32::try_from(seconds.min(900)).unwrap_or(900);
        for event in events {
            let body = serde_json::to_string(event).map_err(|e| QueueError(e.to_string()))?;
            self.send_one(body, seconds).await?;
        }
        Ok(())
    }
}

/// The on-call check queue: a [`Check`] delivered after its delay (SQS `DelaySeconds`, ≤ 900 s).
pub struct SqsCheckQueue(pub SqsQueue);

#[async_trait]
impl opsbell_core::ports::CheckQueue for SqsCheckQueue {
    async fn schedule(
        &self,
        check: &opsbell_core::ports::Check,
        delay: std::time::Duration,
    ) -> Result<(), opsbell_core::ports::EscalationError> {
        let body =
            serde_json::to_string(check).map_err(|e| EscalationError::Schedule(e.to_string()))?;
        let delay = i32::try_from(delay.as_secs().min(900)).unwrap_or(900);
        self.0
            .send_one(body, delay)
            .await
            .map_err(|e| EscalationError::Schedule(e.0))
    }
}

/// Starts escalations by sending a [`Start`](opsbell_core::ports::Start) to the
/// caller's queue (the same queue its delayed checks use).
pub struct SqsEscalations(pub SqsQueue);

#[async_trait]
impl opsbell_core::ports::Escalations for SqsEscalations {
    async fn start(&self, start: &opsbell_core::ports::Start) -> Result<(), EscalationError> {
        let body = serde_json::json!({ "start": start }).to_string();
        self.0
            .send_one(body, 0)
            .await
            .map_err(|e| EscalationError::Schedule(e.0))
    }
}

/// The events queue and its dead-letter queue, as the console's Health page reads and redrives
/// them: depths from `GetQueueAttributes`, a redrive as one `StartMessageMoveTask` from the DLQ
/// back to the queue it came from (its redrive policy's source).
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    dlq_url: String,
    dlq_arn: String,
}

impl SqsDeadLetters {
    pub fn from_config(
        config: &aws_config::SdkConfig,
        queue_url: String,
        queue_arn: String,
        dlq_url: String,
        dlq_arn: String,
    ) -> Self {
        let client = aws_sdk_sqs::Client::new(config);
        SqsDeadLetters {
            client,
            queue_url,
            queue_arn,
            dlq_url,
            dlq_arn,
        }
    }

    async fn depth(&self, url: &str) -> Result<u64, opsbell_core::ports::StoreError> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| opsbell_core::ports::StoreError(describe(&e)))?;
        let attributes = out.attributes().cloned().unwrap_or_default();
        Ok(attributes
            .values()
            .filter_map(|v| v.parse::<u64>().ok())
            .sum())
    }
}

#[async_trait]
impl opsbell_core::console::DeadLetters for SqsDeadLetters {
    async fn depths(&self) -> Result<(u64, u64), opsbell_core::ports::StoreError> {
        Ok((
            self.depth(&self.queue_url).await?,
            self.depth(&self.dlq_url).await?,
        ))
    }

    async fn redrive(&self) -> Result<Option<u64>, opsbell_core::ports::StoreError> {
        self.client
            .start_message_move_task()
            .source_arn(&self.dlq_arn)
            .destination_arn(&self.queue_arn)
            .send()
            .await
            .map_err(|e| opsbell_core::ports::StoreError(describe(&e)))?;
        Ok(None)
    }
}
