//! Orchestrator's `queueItem.transactionFailed`: a robot could not process a queue item. Off by
//! default (a business exception is often the expected answer to bad data); `queue_items`
//! turns it on for application (system) exceptions, and `{"business_exceptions": true}` for
//! business exceptions too. Each failed attempt is a `faulted` event of the queue (its name is
//! the event's process), keyed by the item and its retry number, so a redelivered webhook is
//! the same event and a retry that fails again is a new one.
//!
//! The shape is UiPath's "Types of Events" payload example (`QueueItem.ProcessingException`,
//! `RetryNumber`, `Robot`, `Queue`); see `samplejson/uipath-webhook-queueitem-transaction-failed.json`.

use serde::Deserialize;
use serde_json::Value;

use super::uipath::{Robot, UipathContext};
use super::{Inbound, ParseError};
use crate::event::{Event, EventKey, INFO_MAX_CHARS, Source, State, Via, truncate};
use crate::time::parse_utc;

pub const FAILED: &str = "queueItem.transactionFailed";
/// The detail an event of a failed transaction carries its exception's type in.
const EXCEPTION: &str = "Exception";
const BUSINESS: &str = "BusinessException";

/// Which failed transactions are told (`queue_items`); none when it is not set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueItems {
    #[serde(default)]
    pub business_exceptions: bool,
}

impl QueueItems {
    /// Whether `event`, a failed transaction, is told; every other event is.
    pub fn admits(setting: Option<&QueueItems>, event: &Event) -> bool {
        let Some(exception) = exception_of(event) else {
            return true;
        };
        match setting {
            None => false,
            Some(q) => q.business_exceptions || exception != BUSINESS,
        }
    }
}

fn exception_of(event: &Event) -> Option<&str> {
    if !event.key.as_str().contains(":queueitem-") {
        return None;
    }
    let found = event.details.iter().find(|(label, _)| label == EXCEPTION);
    Some(found.map_or("", |(_, v)| v.as_str()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Failed {
    #[serde(default)]
    event_id: Option<Value>,
    #[serde(default)]
    timestamp: Option<String>,
    queue_item: Item,
    #[serde(default)]
    queue: Option<Queue>,
    #[serde(default)]
    tenant_id: Option<i64>,
    #[serde(default)]
    organization_unit_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Item {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    processing_exception: Option<Exception>,
    #[serde(default)]
    retry_number: Option<i64>,
    #[serde(default)]
    robot: Option<Robot>,
    #[serde(default)]
    organization_unit_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Exception {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default, rename = "Type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Queue {
    #[serde(default)]
    name: Option<String>,
}

/// One `faulted` event for the failed attempt.
pub fn parse(body: &[u8], ctx: &UipathContext) -> Result<Inbound, ParseError> {
    let hook: Failed = ParseError::from_json(body)?;
    let item = hook.queue_item;
    let item_id = match (&item.key, item.id) {
        (Some(key), _) if !key.is_empty() => key.clone(),
        (_, Some(id)) => id.to_string(),
        _ => {
            return Err(ParseError::new(
                "QueueItem.Key",
                "missing field `Key` (and `Id`)",
            ));
        }
    };
    let occurred_at = (hook.timestamp.as_deref())
        .and_then(parse_utc)
        .unwrap_or(ctx.received_at);
    let queue = (hook.queue.and_then(|q| q.name)).unwrap_or_else(|| "(unknown queue)".into());
    let retry = item.retry_number.unwrap_or(0);
    let subject = format!("queueitem-{item_id}-{retry}");
    let mut e = Event::new(
        Source::Uipath,
        "",
        &subject,
        State::Faulted,
        queue.clone(),
        occurred_at,
    );
    e.key = EventKey::new(Source::Uipath, "", &subject, State::Faulted);
    e.tenant = (hook.tenant_id.map(|t| t.to_string())).or_else(|| ctx.tenant.clone());
    e.folder = (item.organization_unit_id.or(hook.organization_unit_id)).map(|f| f.to_string());
    e.robot = item.robot.as_ref().and_then(|r| r.name.clone());
    e.machine = item.robot.as_ref().and_then(|r| r.machine_name.clone());
    e.origin_id = super::event_id(hook.event_id);
    e.via = Some(Via::Webhook);
    let exception = item.processing_exception;
    let kind = exception.as_ref().and_then(|x| x.kind.clone());
    e.info = (exception.as_ref().and_then(|x| x.details.clone()))
        .filter(|d| !d.trim().is_empty())
        .map(|d| truncate(&d, INFO_MAX_CHARS));
    e.details = [
        ("Queue", Some(queue)),
        ("Item", Some(item.reference.unwrap_or(item_id))),
        (EXCEPTION, Some(kind.unwrap_or_default())),
        ("Reason", exception.and_then(|x| x.reason)),
        ("Retry", (retry > 0).then(|| retry.to_string())),
    ]
    .into_iter()
    .filter_map(|(l, v)| Some((l.to_string(), v?)))
    .collect();
    Ok(Inbound::Events(vec![e]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let path = format!(
            "{}/../../samplejson/uipath-webhook-queueitem-transaction-failed.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    fn parsed(body: &[u8]) -> Event {
        let ctx = UipathContext::default();
        let Inbound::Events(mut events) = super::super::uipath::parse_webhook(body, &ctx).unwrap()
        else {
            panic!("an event")
        };
        events.remove(0)
    }

    #[test]
    fn a_failed_transaction_is_a_faulted_event_of_its_queue_told_only_when_asked() {
        let e = parsed(&sample());
        assert_eq!(
            (e.state, e.process.as_str(), e.key.as_str()),
            (
                State::Faulted,
                "temp",
                "uipath::queueitem-e855153c-6b4d-441a-82b5-3d4585214485-0:faulted"
            )
        );
        assert_eq!(
            (
                e.robot.as_deref(),
                e.machine.as_deref(),
                e.tenant.as_deref()
            ),
            (Some("local"), Some("PC-DOC"), Some("1"))
        );
        assert!(
            e.info
                .as_deref()
                .unwrap()
                .starts_with("Error during Heartbeat Status shutdown")
        );
        assert_eq!(
            e.details,
            [
                ("Queue".to_string(), "temp".to_string()),
                (
                    "Item".to_string(),
                    "e855153c-6b4d-441a-82b5-3d4585214485".to_string()
                ),
                ("Exception".to_string(), "BusinessException".to_string()),
                ("Reason".to_string(), "Failed".to_string()),
            ]
        );
        // The sample's is a business exception: told only when those are asked for.
        let business = QueueItems {
            business_exceptions: true,
        };
        assert!(!QueueItems::admits(None, &e));
        assert!(!QueueItems::admits(Some(&QueueItems::default()), &e));
        assert!(QueueItems::admits(Some(&business), &e));
        let mut body: Value = serde_json::from_slice(&sample()).unwrap();
        body["QueueItem"]["ProcessingException"]["Type"] = "ApplicationException".into();
        body["QueueItem"]["RetryNumber"] = 2.into();
        let app = parsed(body.to_string().as_bytes());
        assert!(
            app.key.as_str().ends_with("-2:faulted"),
            "a retry is a new event"
        );
        assert!(!QueueItems::admits(None, &app));
        assert!(QueueItems::admits(Some(&QueueItems::default()), &app));
        // Any other event is always told.
        let job = super::super::uipath::parse_webhook(
            &std::fs::read(format!(
                "{}/../../samplejson/uipath-webhook-job-faulted.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
            &UipathContext::default(),
        );
        let Ok(Inbound::Events(jobs)) = job else {
            panic!()
        };
        assert!(QueueItems::admits(None, &jobs[0]));
    }
}
