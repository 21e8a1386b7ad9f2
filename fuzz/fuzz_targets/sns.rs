//! SNS records (CloudWatch alarms, custom JSON, plain text) as the alarm-fanout receives them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sns) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = opsbell_core::source::cloudwatch::parse_sns(&sns, chrono::DateTime::UNIX_EPOCH);
    }
    // The alarm JSON itself arrives as the `Message` string.
    if let Ok(text) = std::str::from_utf8(data) {
        let sns = serde_json::json!({ "MessageId": "m", "Message": text, "Timestamp": "2026-11-23T00:00:00Z" });
        let _ = opsbell_core::source::cloudwatch::parse_sns(&sns, chrono::DateTime::UNIX_EPOCH);
    }
});
