//! What every Lambda's `main` and handler needs from the runtime: its required environment, the
//! invocation's deadline, the two triggers (SNS, SQS) and the SQS partial batch response.

use std::time::SystemTime;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::{StreamExt, stream};
use lambda_runtime::Context;
use opsbell_core::source::sns::SnsEvent;
use serde::Deserialize;
use tokio::time::Instant;

/// The value of environment variable `name`, or an error naming it (a cold-start failure).
pub fn required_env(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!("{name} is not set")),
    }
}

/// The invocation's deadline as a monotonic instant.
pub fn deadline(context: &Context) -> Instant {
    let remaining = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Instant::now() + remaining
}

/// An invocation of a function subscribed to a topic and fed by a queue: the records say which.
/// SNS is tried first: an SNS record always has `Sns`, which no SQS message has.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Trigger {
    Sns(SnsEvent),
    Sqs(SqsEvent),
}

/// A message's handling did not finish: it goes back to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry;

/// Handles each message of a batch, at most `concurrency` at a time. The messages whose handling
/// answers [`Retry`] go back to the queue (after the queue's receive limit, to its dead-letter
/// queue); the others are deleted, and their results returned in order.
pub async fn partial_batch<'a, T, F, Fut>(
    messages: &'a [SqsMessage],
    concurrency: usize,
    handle: F,
) -> (SqsBatchResponse, Vec<T>)
where
    F: Fn(&'a SqsMessage) -> Fut,
    Fut: Future<Output = Result<T, Retry>>,
{
    let outcomes: Vec<Result<T, Retry>> = stream::iter(messages.iter().map(&handle))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    let mut done = Vec::new();
    for (message, outcome) in messages.iter().zip(outcomes) {
        match outcome {
            Ok(t) => done.push(t),
            Err(Retry) => {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
    }
    (response, done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_messages_that_ask_for_a_retry_return() {
        let messages: Vec<SqsMessage> = (0..4)
            .map(|i| {
                let mut m = SqsMessage::default();
                m.message_id = Some(format!("m{i}"));
                m.body = Some(i.to_string());
                m
            })
            .collect();
        let odd = |m: &SqsMessage| {
            let n: u32 = m.body.as_deref().unwrap().parse().unwrap();
            async move { if n % 2 == 1 { Err(Retry) } else { Ok(n) } }
        };
        for concurrency in [1, 4] {
            let (response, _) = partial_batch(&messages, concurrency, odd).await;
            let ids: Vec<&str> = (response.batch_item_failures.iter())
                .map(|f| f.item_identifier.as_str())
                .collect();
            assert_eq!(ids, ["m1", "m3"]);
        }
    }

    #[test]
    fn sns_and_sqs_events_are_told_apart() {
        let sns = r#"{"Records": [{"Sns": {"TopicArn": "arn:aws:sns:r:1:b-topic"}}]}"#;
        let sqs = r#"{"Records": [{"messageId": "m", "body": "{}"}]}"#;
        assert!(matches!(
            serde_json::from_str(sns).unwrap(),
            Trigger::Sns(_)
        ));
        assert!(matches!(
            serde_json::from_str(sqs).unwrap(),
            Trigger::Sqs(_)
        ));
    }
}
