//! UiPath Orchestrator job webhooks.
//! <https://docs.uipath.com/orchestrator/standalone/2024.10/user-guide/types-of-events>
//!
//! `job.created` and `job.stopped` carry a `Jobs` array, the others a `Job` object; `Robot`,
//! `Info` and the arguments may be missing or null; timestamps have up to 7 fractional digits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use super::{Inbound, ParseError};
use crate::event::{Event, EventKey, INFO_MAX_CHARS, Source, State};
use crate::time::parse_utc;

/// What the parser needs besides the body.
#[derive(Debug, Clone, Default)]
pub struct UipathContext {
    /// Orchestrator UI base, e.g. `https://cloud.uipath.com/acme/DefaultTenant`; enables links.
    pub orchestrator_url: Option<String>,
    /// When the request arrived; used only when the payload has no `Timestamp`.
    pub received_at: DateTime<Utc>,
    /// The tenant a job belongs to when its payload does not say (a polled job).
    pub tenant: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JobWebhook {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    event_id: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "de_time")]
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    tenant_id: Option<i64>,
    #[serde(default)]
    organization_unit_id: Option<i64>,
    #[serde(default)]
    job: Option<Job>,
    #[serde(default)]
    jobs: Option<OneOrMany<Job>>,
}

/// A job as found in webhooks and in `GET /odata/Jobs` responses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Job {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "de_time")]
    pub creation_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de_time")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "de_time")]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub info: Option<String>,
    #[serde(default)]
    pub robot: Option<Robot>,
    #[serde(default)]
    pub release: Option<Release>,
    #[serde(default)]
    pub release_name: Option<String>,
    #[serde(default)]
    pub host_machine_name: Option<String>,
    #[serde(default)]
    pub organization_unit_id: Option<i64>,
    #[serde(default)]
    pub tenant_id: Option<i64>,
    /// The trigger that started the job (OData jobs carry it).
    #[serde(default)]
    pub starting_schedule_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Robot {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub machine_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Release {
    #[serde(default)]
    pub process_key: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(Box<T>),
}

pub(crate) fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => parse_utc(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {s:?}"))),
    }
}

/// The state a webhook `Type` announces; `None` for job types we do not notify about.
fn state_of_type(kind: &str) -> Option<State> {
    Some(match kind {
        "job.created" => State::Created,
        "job.started" => State::Started,
        "job.faulted" => State::Faulted,
        "job.completed" => State::Successful,
        "job.stopped" => State::Stopped,
        "job.suspended" => State::Suspended,
        "job.resumed" => State::Resumed,
        _ => return None,
    })
}

/// Parses an Orchestrator webhook body. Non-job types (and job types we don't know) are
/// [`Inbound::Ignored`], never errors: Orchestrator disables a webhook for an hour after a failure.
pub fn parse_webhook(body: &[u8], ctx: &UipathContext) -> Result<Inbound, ParseError> {
    // One parse on the hot path; the envelope alone only when the full shape does not fit.
    let hook: JobWebhook = match ParseError::from_json(body) {
        Ok(hook) => hook,
        Err(e) => {
            let Envelope { kind } = ParseError::from_json(body)?;
            if super::schedule::FAILED.contains(&kind.as_str()) {
                return super::schedule::parse(body, ctx);
            }
            if kind == super::robot::STATUS {
                return super::robot::parse(body, ctx);
            }
            if kind == super::queue_item::FAILED {
                return super::queue_item::parse(body, ctx);
            }
            if state_of_type(&kind).is_none() {
                return Ok(Inbound::Ignored { kind });
            }
            return Err(e);
        }
    };
    let Some(type_state) = state_of_type(&hook.kind) else {
        if super::schedule::FAILED.contains(&hook.kind.as_str()) {
            return super::schedule::parse(body, ctx);
        }
        if hook.kind == super::robot::STATUS {
            return super::robot::parse(body, ctx);
        }
        if hook.kind == super::queue_item::FAILED {
            return super::queue_item::parse(body, ctx);
        }
        return Ok(Inbound::Ignored { kind: hook.kind });
    };
    let (jobs, container) = match (hook.job, hook.jobs) {
        (Some(job), _) => (vec![job], "Job"),
        (None, Some(OneOrMany::Many(jobs))) => (jobs, "Jobs"),
        (None, Some(OneOrMany::One(job))) => (vec![*job], "Jobs"),
        (None, None) => return Err(ParseError::new("Job", "missing field `Job` (or `Jobs`)")),
    };
    let origin_id = super::event_id(hook.event_id);
    let occurred_at = hook.timestamp.unwrap_or(ctx.received_at);
    let events = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let path = if container == "Jobs" {
                format!("Jobs[{i}]")
            } else {
                "Job".into()
            };
            let state = terminal_state(job).unwrap_or(type_state);
            let mut event = job_event(job, state, ctx, &path, occurred_at)?;
            event.tenant = hook.tenant_id.map(|t| t.to_string());
            event.folder = event
                .folder
                .or(hook.organization_unit_id.map(|f| f.to_string()));
            event.link = link_for(ctx, &event);
            event.origin_id = origin_id.clone();
            event.via = Some(crate::event::Via::Webhook);
            Ok(event)
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    Ok(Inbound::Events(events))
}

/// A terminal `State` on the job wins over the webhook type: a soft Stop can end `Successful`, and
/// the poller, which sees only `State`, must produce the same event key.
pub fn terminal_state(job: &Job) -> Option<State> {
    match job.state.as_deref()? {
        "Faulted" => Some(State::Faulted),
        "Successful" => Some(State::Successful),
        "Stopped" => Some(State::Stopped),
        _ => None,
    }
}

/// The job's process as webhooks name it: `Release.ProcessKey` (not `ReleaseName`, which
/// carries the environment).
pub fn process_of(job: &Job) -> String {
    let release = job.release.as_ref();
    release
        .and_then(|r| r.process_key.clone().or_else(|| r.name.clone()))
        .or_else(|| job.release_name.clone())
        .unwrap_or_else(|| "(unknown process)".to_string())
}

/// Normalizes one job (webhook or OData) into an event. Shared with the poller.
pub fn job_event(
    job: &Job,
    state: State,
    ctx: &UipathContext,
    path: &str,
    occurred_at: DateTime<Utc>,
) -> Result<Event, ParseError> {
    let subject = match (&job.key, job.id) {
        (Some(key), _) if !key.is_empty() => key.clone(),
        (_, Some(id)) => format!("id-{id}"),
        _ => {
            return Err(ParseError::new(
                format!("{path}.Key"),
                "missing field `Key` (and `Id`)",
            ));
        }
    };
    let process = process_of(job);
    let robot = job.robot.as_ref();
    let mut event = Event {
        key: EventKey::new(Source::Uipath, "", &subject, state),
        source: Source::Uipath,
        state,
        tenant: (job.tenant_id.map(|t| t.to_string())).or_else(|| ctx.tenant.clone()),
        folder: job.organization_unit_id.map(|f| f.to_string()),
        job_id: job.id.map(|id| id.to_string()),
        job_key: job.key.clone(),
        process,
        machine: robot
            .and_then(|r| r.machine_name.clone())
            .or_else(|| job.host_machine_name.clone()),
        robot: robot.and_then(|r| r.name.clone()),
        info: job
            .info
            .as_deref()
            .filter(|i| !i.trim().is_empty())
            .map(|i| crate::event::truncate(i, INFO_MAX_CHARS)),
        started_at: job.start_time,
        ended_at: job.end_time,
        occurred_at,
        link: None,
        origin_id: None,
        mentions: Vec::new(),
        only_channels: Vec::new(),
        headline: None,
        details: Vec::new(),
        via: None,
        trigger_id: job.starting_schedule_id.map(|id| id.to_string()),
    };
    event.link = link_for(ctx, &event);
    Ok(event)
}

/// The job's page in the Orchestrator UI (Automation Cloud route; needs the job Key, not Id).
pub fn link_for(ctx: &UipathContext, event: &Event) -> Option<String> {
    let base = ctx.orchestrator_url.as_deref()?.trim_end_matches('/');
    let base = base.strip_suffix("/orchestrator_").unwrap_or(base);
    let key = event.job_key.as_deref()?;
    let mut link = format!("{base}/orchestrator_/jobs(sidepanel:sidepanel/jobs/{key}/details)");
    if let Some(folder) = &event.folder {
        link.push_str(&format!("?fid={folder}"));
    }
    Some(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<u8> {
        let path = format!("{}/../../samplejson/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn ctx() -> UipathContext {
        UipathContext {
            orchestrator_url: Some("https://cloud.uipath.com/acme/Default".into()),
            received_at: DateTime::UNIX_EPOCH,
            tenant: None,
        }
    }

    fn events(name: &str) -> Vec<Event> {
        match parse_webhook(&sample(name), &ctx()).unwrap() {
            Inbound::Events(events) => events,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn faulted_job_object() {
        let [event] = events("uipath-webhook-job-faulted.json")
            .try_into()
            .unwrap();
        assert_eq!(event.state, State::Faulted);
        assert_eq!(event.process, "FailingJob");
        assert_eq!(event.machine.as_deref(), Some("PC-DOC"));
        assert_eq!(event.folder.as_deref(), Some("1"));
        assert_eq!(
            event.key.as_str(),
            "uipath::9cc6c2e4-237d-42f6-8cb8-43010652fb22:faulted"
        );
        assert_eq!(
            event.ended_at.unwrap().timestamp_subsec_nanos(),
            252_961_600
        );
        assert!(
            event
                .info
                .unwrap()
                .starts_with("This workflow always fails")
        );
        assert_eq!(
            event.link.as_deref(),
            Some(
                "https://cloud.uipath.com/acme/Default/orchestrator_/jobs(sidepanel:sidepanel/jobs/9cc6c2e4-237d-42f6-8cb8-43010652fb22/details)?fid=1"
            )
        );
        assert_eq!(
            event.origin_id.as_deref(),
            Some("ec5afc6f07254520b8a6d31036b96975")
        );
    }

    #[test]
    fn stopped_and_created_use_jobs_arrays() {
        let stopped = events("uipath-webhook-job-stopped.json");
        assert_eq!(stopped.len(), 1);
        assert_eq!(stopped[0].state, State::Stopped);
        let created = events("uipath-webhook-job-created.json");
        assert_eq!(created.len(), 2);
        assert!(
            created
                .iter()
                .all(|e| e.state == State::Created && e.folder.is_none())
        );
        assert_eq!(created[0].process, "RunUntilStoppedManually");
    }

    #[test]
    fn completed_maps_to_successful_and_started_to_started() {
        assert_eq!(
            events("uipath-webhook-job-completed.json")[0].state,
            State::Successful
        );
        let started = &events("uipath-webhook-job-started.json")[0];
        assert_eq!(started.state, State::Started);
        assert_eq!(started.ended_at, None);
    }

    #[test]
    fn other_types_are_ignored() {
        let queue = br#"{"Type":"queue.created","EventId":"1","Queues":[{"Id":1,"Name":"invoices"}],"TenantId":1}"#;
        let got = parse_webhook(queue, &ctx()).unwrap();
        assert_eq!(
            got,
            Inbound::Ignored {
                kind: "queue.created".into()
            }
        );
        let got = parse_webhook(br#"{"Type":"job.teleported"}"#, &ctx()).unwrap();
        assert_eq!(
            got,
            Inbound::Ignored {
                kind: "job.teleported".into()
            }
        );
    }

    #[test]
    fn missing_robot_info_and_arguments_are_tolerated() {
        let body = br#"{"Type":"job.faulted","Timestamp":"2025-01-01T00:00:00Z",
            "Job":{"Id":1,"Key":"K","State":"Faulted","Info":null,"Release":{"ProcessKey":"P"}}}"#;
        let Inbound::Events(events) = parse_webhook(body, &ctx()).unwrap() else {
            panic!()
        };
        assert_eq!(events[0].machine, None);
        assert_eq!(events[0].info, None);
    }

    #[test]
    fn a_single_object_under_jobs_is_accepted() {
        let body = br#"{"Type":"job.stopped","Jobs":{"Key":"K","State":"Stopped"}}"#;
        let Inbound::Events(events) = parse_webhook(body, &ctx()).unwrap() else {
            panic!()
        };
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].occurred_at, DateTime::UNIX_EPOCH);
    }

    #[test]
    fn malformed_bodies_name_the_failing_field() {
        let err = parse_webhook(b"not json", &ctx()).unwrap_err();
        assert_eq!(err.path, "body");
        let err = parse_webhook(br#"{"Timestamp":1}"#, &ctx()).unwrap_err();
        assert!(err.to_string().contains("Type"), "{err}");
        let body = br#"{"Type":"job.faulted","Job":{"Key":"K","StartTime":"noon"}}"#;
        let err = parse_webhook(body, &ctx()).unwrap_err();
        assert_eq!(err.path, "Job.StartTime");
        let body = br#"{"Type":"job.faulted","Job":{"Id":"seven"}}"#;
        assert_eq!(parse_webhook(body, &ctx()).unwrap_err().path, "Job.Id");
        let body = br#"{"Type":"job.faulted"}"#;
        assert_eq!(parse_webhook(body, &ctx()).unwrap_err().path, "Job");
    }
}
