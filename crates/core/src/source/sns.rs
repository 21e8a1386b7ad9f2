//! The Lambda SNS event, typed. Read leniently on purpose: AWS always sends every field, but
//! lambda-connect's documented test event is `{"Records": [{"Sns": {"TopicArn": "…"}}]}`, and
//! its users test with it; `aws_lambda_events`' `SnsMessage` requires a `MessageId`, signature
//! and URLs, so it would refuse that event.
//! <https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html>

use serde::{Deserialize, Serialize};

/// What Lambda passes a function subscribed to a topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsEvent {
    pub records: Vec<SnsRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_source: Option<String>,
    pub sns: SnsMessage,
}

/// The notification: the fields opsbell reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl SnsMessage {
    /// The topic's name: the last part of its ARN (empty when there is none).
    pub fn topic(&self) -> &str {
        let arn = self.topic_arn.as_deref().unwrap_or_default();
        arn.rsplit(':').next().unwrap_or_default()
    }
}
