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

/// The first record's `Sns` when `body` is a Lambda SNS event, else `None`. Reads only
/// `Records[].Sns`: the rest of the body is skipped, not built.
pub fn first_sns(body: &[u8]) -> Option<serde_json::Value> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "Records")]
        records: Vec<Record>,
    }
    #[derive(Deserialize)]
    struct Record {
        #[serde(rename = "Sns")]
        sns: serde_json::Value,
    }
    // Most bodies are webhooks: a text search rules them out without parsing them.
    if !std::str::from_utf8(body).is_ok_and(|text| text.contains("\"Records\"")) {
        return None;
    }
    let probe: Probe = serde_json::from_slice(body).ok()?;
    probe.records.into_iter().next().map(|r| r.sns)
}

impl SnsMessage {
    /// The topic's name: the last part of its ARN (empty when there is none).
    pub fn topic(&self) -> &str {
        let arn = self.topic_arn.as_deref().unwrap_or_default();
        arn.rsplit(':').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_sns_event_has_an_sns_record() {
        let sns = br#"{"Records": [{"Sns": {"TopicArn": "arn:aws:sns:r:1:b-topic"}}]}"#;
        assert_eq!(
            first_sns(sns),
            Some(serde_json::json!({"TopicArn": "arn:aws:sns:r:1:b-topic"}))
        );
        let webhook = include_bytes!("../../../../samplejson/uipath-webhook-job-faulted.json");
        assert_eq!(first_sns(webhook), None);
        assert_eq!(first_sns(br#"{"Records": [{"body": "{}"}]}"#), None);
        assert_eq!(first_sns(b"not json"), None);
    }
}
