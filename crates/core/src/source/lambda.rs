//! Lambda's record of an asynchronous invocation that failed after its retries, as an on-failure
//! destination (an SQS queue) receives it. The original event is `requestPayload`; reading it
//! back is what lets a redrive of that queue deliver the event instead of failing it again.
//! <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>
//!
//! ```json
//! {"version": "1.0", "timestamp": "…",
//!  "requestContext": {"requestId": "…", "functionArn": "…", "condition": "RetriesExhausted",
//!                     "approximateInvokeCount": 3},
//!  "requestPayload": {"Records": [{"EventSource": "aws:sns", "Sns": {…}}]},
//!  "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
//!  "responsePayload": {"errorMessage": "…", "errorType": "…"}}
//! ```

use serde::Deserialize;
use serde_json::Value;

use super::sns::SnsRecord;

/// The parts of a failure record that tell it apart and carry the event.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailureRecord {
    request_context: RequestContext,
    request_payload: Payload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    function_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    records: Vec<Value>,
}

/// The SNS records of a failed asynchronous invocation, when `body` is such a record.
pub fn failed_sns_records(body: &str) -> Option<Vec<SnsRecord>> {
    let record: FailureRecord = serde_json::from_str(body).ok()?;
    if record.request_context.function_arn.is_empty() {
        return None;
    }
    let records = record.request_payload.records.into_iter();
    let sns: Vec<SnsRecord> = records
        .filter(|r| r.get("Sns").is_some())
        .filter_map(|r| serde_json::from_value(r).ok())
        .collect();
    (!sns.is_empty()).then_some(sns)
}

/// A failure record around `event`, as Lambda writes it (for tests and for the README's
/// redrive example).
pub fn failure_record(event: &Value, function_arn: &str, error: &str) -> Value {
    serde_json::json!({
        "version": "1.0",
        "timestamp": "2026-12-01T00:00:00.000Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4a5c-8880-a18cdf61200e",
            "functionArn": format!("{function_arn}:$LATEST"),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": error, "errorType": "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>"}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_record_gives_back_its_sns_records_and_nothing_else_does() {
        let event =
            serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "m"}}]});
        let record = failure_record(&event, "arn:aws:lambda:r:1:function:f", "boom");
        let records = failed_sns_records(&record.to_string()).unwrap();
        let expected: Vec<SnsRecord> = serde_json::from_value(event["Records"].clone()).unwrap();
        assert_eq!(records, expected);
        assert_eq!(failed_sns_records(&event.to_string()), None);
        assert_eq!(failed_sns_records(r#"{"key": "uipath:…"}"#), None);
        assert_eq!(failed_sns_records("not json"), None);
        let sqs = failure_record(&serde_json::json!({"Records": [{"body": "x"}]}), "arn", "e");
        assert_eq!(failed_sns_records(&sqs.to_string()), None);
    }
}
