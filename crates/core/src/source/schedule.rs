//! Orchestrator's `schedule.failed`: a trigger that could not start its job ("The robots
//! already have pending jobs for this Process"). After 10 such failures in a row with no
//! success in 24 hours, Orchestrator disables the time trigger, and from then on no job runs
//! and no job ends: the failure is the last thing anyone can hear.
//!
//! The shape is UiPath's "Types of Events" payload example (`ProcessSchedule`, `Reason`,
//! `TenantId`, `OrganizationUnitId`); see `samplejson/uipath-webhook-schedule-failed.json`.
//! Newer documentation names triggers `trigger.*`, so `trigger.failed` is read the same way.

use serde::Deserialize;
use serde_json::Value;

use super::uipath::{Release, UipathContext};
use super::{Inbound, ParseError};
use crate::event::{Event, EventKey, Source, State, Via};
use crate::time::parse_utc;

/// The webhook types of a trigger that could not start.
pub const FAILED: [&str; 2] = ["schedule.failed", "trigger.failed"];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Failed {
    #[serde(default)]
    event_id: Option<Value>,
    #[serde(default)]
    timestamp: Option<String>,
    process_schedule: Schedule,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    tenant_id: Option<i64>,
    #[serde(default)]
    organization_unit_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Schedule {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    start_process_cron: Option<String>,
    #[serde(default)]
    time_zone_iana: Option<String>,
    #[serde(default)]
    time_zone_id: Option<String>,
    #[serde(default)]
    release: Option<Release>,
}

/// One "could not start" event ([`State::NotStarted`]) per failure: its key names the
/// trigger and the failure's `EventId`, so a redelivered webhook is the same event and the
/// next failure is a new one (a repeat of the trigger's problem).
pub fn parse(body: &[u8], ctx: &UipathContext) -> Result<Inbound, ParseError> {
    let hook: Failed = ParseError::from_json(body)?;
    let s = hook.process_schedule;
    let occurred_at = (hook.timestamp.as_deref())
        .and_then(parse_utc)
        .unwrap_or(ctx.received_at);
    let failure = match hook.event_id {
        Some(Value::String(id)) => id,
        Some(other) => other.to_string(),
        None => occurred_at.timestamp_millis().to_string(),
    };
    let name = s.name.clone().unwrap_or_else(|| format!("#{}", s.id));
    let release = s.release.as_ref();
    let process = (release.and_then(|r| r.process_key.clone().or_else(|| r.name.clone())))
        .unwrap_or_else(|| name.clone());
    let subject = format!("schedule-{}-{failure}", s.id);
    let mut event = Event::new(
        Source::Uipath,
        "",
        &subject,
        State::NotStarted,
        process,
        occurred_at,
    );
    event.key = EventKey::new(Source::Uipath, "", &subject, State::NotStarted);
    event.tenant = hook
        .tenant_id
        .map(|t| t.to_string())
        .or_else(|| ctx.tenant.clone());
    event.folder = hook.organization_unit_id.map(|f| f.to_string());
    event.info = hook.reason.filter(|r| !r.trim().is_empty());
    event.trigger_id = Some(s.id.to_string());
    event.origin_id = Some(failure);
    event.via = Some(Via::Webhook);
    let zone = s.time_zone_iana.or(s.time_zone_id);
    event.details = [
        ("Trigger", Some(name)),
        ("Cron", s.start_process_cron),
        ("Time zone", zone),
    ]
    .into_iter()
    .filter_map(|(l, v)| Some((l.to_string(), v?)))
    .collect();
    event.link = trigger_link(ctx, event.folder.as_deref());
    Ok(Inbound::Events(vec![event]))
}

/// The folder's triggers page in the Orchestrator UI (the Automation Cloud route, as for jobs;
/// the trigger itself has no route of its own that UiPath documents).
pub(crate) fn trigger_link(ctx: &UipathContext, folder: Option<&str>) -> Option<String> {
    let base = ctx.orchestrator_url.as_deref()?.trim_end_matches('/');
    let base = base.strip_suffix("/orchestrator_").unwrap_or(base);
    let mut link = format!("{base}/orchestrator_/triggers");
    if let Some(folder) = folder {
        link.push_str(&format!("?fid={folder}"));
    }
    Some(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let path = format!(
            "{}/../../samplejson/uipath-webhook-schedule-failed.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_failed_trigger_is_a_could_not_start_event_with_its_trigger_reason_cron_and_zone() {
        let ctx = UipathContext {
            orchestrator_url: Some("https://cloud.uipath.com/acme/DefaultTenant".into()),
            ..UipathContext::default()
        };
        let Inbound::Events(events) = super::super::uipath::parse_webhook(&sample(), &ctx).unwrap()
        else {
            panic!("an event")
        };
        let e = &events[0];
        assert_eq!(e.state, State::NotStarted);
        assert_eq!(
            e.key.as_str(),
            "uipath::schedule-134-990cfc99f9174d70a6831f06f42d36dd:not_started"
        );
        assert_eq!(e.process, "Args_AddNumbers");
        assert_eq!(e.trigger_id.as_deref(), Some("134"));
        assert_eq!(
            (e.tenant.as_deref(), e.folder.as_deref()),
            (Some("1"), Some("1"))
        );
        assert_eq!(
            e.info.as_deref(),
            Some("The robots already have pending jobs for this Process")
        );
        assert_eq!(
            e.details,
            [
                ("Trigger".to_string(), "aProcess".to_string()),
                ("Cron".into(), "5/20 * * * * ? *".into()),
                ("Time zone".into(), "Etc/UTC".into())
            ]
        );
        assert_eq!(
            e.link.as_deref(),
            Some("https://cloud.uipath.com/acme/DefaultTenant/orchestrator_/triggers?fid=1")
        );
        let mut renamed = String::from_utf8(sample()).unwrap();
        renamed = renamed.replace("schedule.failed", "trigger.failed");
        let Inbound::Events(again) =
            super::super::uipath::parse_webhook(renamed.as_bytes(), &ctx).unwrap()
        else {
            panic!()
        };
        assert_eq!(again[0].key, e.key);
    }
}
