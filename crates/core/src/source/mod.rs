//! One parser per source. Each returns normalized [`Event`]s or says what it ignored.

pub mod cloudwatch;
pub mod lambda;
pub mod queue_item;
pub mod robot;
pub mod schedule;
pub mod sns;
pub mod uipath;

use crate::event::Event;

/// What a source payload amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Events to deliver (possibly several: `job.stopped` carries a `Jobs` array).
    Events(Vec<Event>),
    /// A well-formed payload we deliberately do not notify about, e.g. `robot.status`.
    Ignored { kind: String },
}

/// A payload we could not read. `path` names the failing field (`Job.StartTime`), so a schema
/// change upstream is diagnosed from one log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

impl ParseError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ParseError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Deserializes `body` as `T`, naming the failing field on error. The path is tracked only
    /// when the plain parse fails: tracking it costs every parse about as much again, and a
    /// body that fails once fails the same way twice.
    pub fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
        if let Ok(value) = serde_json::from_slice(body) {
            return Ok(value);
        }
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." {
                "body".to_string()
            } else {
                path
            };
            ParseError::new(path, strip_position(&e.into_inner().to_string()))
        })
    }
}

/// serde_json appends " at line L column C"; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Any payload a person may paste (`opsbell send`, the console's "test an event"): an SNS
/// Lambda event (CloudWatch alarms), else an Orchestrator webhook body.
pub fn parse_any(
    body: &[u8],
    orchestrator_url: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Inbound, ParseError> {
    match sns::first_sns(body) {
        Some(sns) => cloudwatch::parse_sns(&sns, now),
        None => {
            let ctx = uipath::UipathContext {
                orchestrator_url,
                received_at: now,
                tenant: None,
            };
            uipath::parse_webhook(body, &ctx)
        }
    }
}

/// A webhook's `EventId` as text, whether Orchestrator sent it as a string or a number.
pub(crate) fn event_id(id: Option<serde_json::Value>) -> Option<String> {
    id.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}
