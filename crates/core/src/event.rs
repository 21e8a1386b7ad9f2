//! The normalized event every source produces and every target consumes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Uipath,
    Kamonohashi,
    Cloudwatch,
    /// The on-call escalation itself ("nobody answered").
    Oncall,
    /// A channel's flood digest: the events it held back in one window, in one message.
    Digest,
    /// A heartbeat check (`heartbeats`): pings that stopped, failed, or came back.
    Heartbeat,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Uipath => "uipath",
            Source::Kamonohashi => "kamonohashi",
            Source::Cloudwatch => "cloudwatch",
            Source::Oncall => "oncall",
            Source::Digest => "digest",
            Source::Heartbeat => "heartbeat",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which path brought a job event: the Orchestrator's webhook, or a poll of its API. The same job
/// end seen by both has one key; a route may listen to one path only, as the predecessor's
/// `webhook.<target>` and `scheduled.<target>` functions did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Webhook,
    Poll,
}

/// What happened to the job (or alarm). Terminal job states are `Faulted`, `Successful`, `Stopped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Created,
    Started,
    Faulted,
    Successful,
    Stopped,
    Suspended,
    Resumed,
    /// CloudWatch `ALARM`.
    Alarm,
    /// CloudWatch `OK`.
    Ok,
    /// CloudWatch `INSUFFICIENT_DATA`.
    InsufficientData,
    /// A trigger could not start its job (Orchestrator's `schedule.failed`).
    NotStarted,
    /// A robot stopped answering (`robot.status`: unresponsive or disconnected) for longer than
    /// the grace period.
    Offline,
    /// A robot that was announced offline reports again (Available, Busy).
    Online,
    /// A heartbeat check's ping is overdue, or a run it started has not ended within its grace.
    Late,
    /// A heartbeat check is overdue past its grace, or reported a failure.
    Down,
    /// A heartbeat check that was late or down pinged success again.
    Up,
    /// A job has stayed Pending (or Running) longer than its limit (KAMONOHASHI `long`), or an
    /// Orchestrator job Pending or Suspended longer than its limit (`hung`).
    Stuck,
    /// An Orchestrator job has been Running (or Stopping) longer than its limit (`hung`): set,
    /// or learned from the process's successful runs.
    Hung,
}

impl State {
    pub const ALL: [State; 18] = [
        State::Created,
        State::Started,
        State::Faulted,
        State::Successful,
        State::Stopped,
        State::Suspended,
        State::Resumed,
        State::Alarm,
        State::Ok,
        State::InsufficientData,
        State::NotStarted,
        State::Offline,
        State::Online,
        State::Late,
        State::Down,
        State::Up,
        State::Stuck,
        State::Hung,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Started => "started",
            State::Faulted => "faulted",
            State::Successful => "successful",
            State::Stopped => "stopped",
            State::Suspended => "suspended",
            State::Resumed => "resumed",
            State::Alarm => "alarm",
            State::Ok => "ok",
            State::InsufficientData => "insufficient_data",
            State::NotStarted => "not_started",
            State::Offline => "offline",
            State::Online => "online",
            State::Late => "late",
            State::Down => "down",
            State::Up => "up",
            State::Stuck => "stuck",
            State::Hung => "hung",
        }
    }

    /// Parses our own names and the vendors' spellings (`Successful`, `job.completed` words, `ALARM`).
    pub fn parse(s: &str) -> Option<State> {
        let lower = s.trim().to_ascii_lowercase();
        let state = match lower.as_str() {
            "created" | "pending" => State::Created,
            "started" | "running" => State::Started,
            "faulted" | "failed" => State::Faulted,
            "successful" | "completed" | "success" => State::Successful,
            "stopped" | "canceled" | "cancelled" => State::Stopped,
            "suspended" => State::Suspended,
            "resumed" => State::Resumed,
            "alarm" => State::Alarm,
            "ok" => State::Ok,
            "insufficient_data" => State::InsufficientData,
            "not_started" | "schedule.failed" => State::NotStarted,
            "offline" => State::Offline,
            "online" => State::Online,
            "late" => State::Late,
            "down" => State::Down,
            "up" => State::Up,
            "stuck" => State::Stuck,
            "hung" => State::Hung,
            _ => return None,
        };
        Some(state)
    }

    /// How bad it is, for colours and routing defaults.
    pub fn severity(self) -> Severity {
        match self {
            State::Faulted
            | State::Alarm
            | State::NotStarted
            | State::Offline
            | State::Down
            | State::Hung => Severity::Critical,
            State::Stopped
            | State::Suspended
            | State::InsufficientData
            | State::Late
            | State::Stuck => Severity::Warning,
            State::Successful | State::Ok | State::Online | State::Up => Severity::Good,
            State::Created | State::Started | State::Resumed => Severity::Info,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a state is: `critical` (faulted, ALARM), `warning` (stopped, suspended, no data),
/// `good` (successful, OK), `info` (created, started, resumed). Routes and silences match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Warning,
    Good,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Good => "good",
            Severity::Info => "info",
        }
    }
}

/// The idempotency key of an event: the same job end seen by webhook and by poll has the same key,
/// so each target is notified once whichever path saw it first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventKey(String);

impl EventKey {
    /// `<source>:<scope>:<subject>:<state>`. For UiPath the scope is empty: the job `Key` is a GUID,
    /// unique across tenants and folders, and neither TenantId nor the folder is present in every
    /// webhook and OData response, so including them would break webhook/poll equality.
    pub fn new(source: Source, scope: &str, subject: &str, state: State) -> Self {
        EventKey(format!(
            "{source}:{scope}:{}:{state}",
            subject.to_ascii_lowercase()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest `info` an event carries. A faulted job's stack trace can be large; every renderer cuts
/// further, and an SQS message must stay under 256 KiB.
pub const INFO_MAX_CHARS: usize = 16 * 1024;

/// One normalized job or alarm event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub key: EventKey,
    pub source: Source,
    pub state: State,
    /// UiPath TenantId, KAMONOHASHI tenant, or AWS account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// UiPath folder (OrganizationUnitId) or AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_key: Option<String>,
    /// Process (UiPath `Release.ProcessKey`), training name, or alarm name.
    pub process: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// When the source says it happened (webhook `Timestamp`, alarm state change time).
    pub occurred_at: DateTime<Utc>,
    /// A link to the job's page, when a base URL is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The source's own id of the notification (webhook `EventId`, SNS `MessageId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_id: Option<String>,
    /// Who to mention (Slack user ids such as `U0123ABCD`, Chatwork account ids, or names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// When set, only these channels may hear the event (a schedule that names its destinations,
    /// as the predecessor's per-target schedules did).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_channels: Vec<String>,
    /// The sentence the source chose as the message's title, instead of "<process> <state>"
    /// (the kamonohashi-slackbot's `message.json` phrases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    /// Facts beyond the common ones, in order (an alarm's namespace, metric and dimensions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<(String, String)>,
    /// The path that brought a job event; `None` for alarms and the on-call's own events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The Orchestrator trigger (`ProcessSchedule.Id`) that could not start, or that started
    /// this job (`StartingScheduleId`): a trigger's failures are one problem, and its next
    /// successful job ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_id: Option<String>,
}

impl Event {
    /// An event with its key and the fields every event has; the rest start empty.
    pub fn new(
        source: Source,
        scope: &str,
        subject: &str,
        state: State,
        process: impl Into<String>,
        occurred_at: DateTime<Utc>,
    ) -> Event {
        Event {
            key: EventKey::new(source, scope, subject, state),
            source,
            state,
            tenant: None,
            folder: None,
            job_id: None,
            job_key: None,
            process: process.into(),
            machine: None,
            robot: None,
            info: None,
            started_at: None,
            ended_at: None,
            occurred_at,
            link: None,
            origin_id: None,
            mentions: Vec::new(),
            only_channels: Vec::new(),
            headline: None,
            details: Vec::new(),
            via: None,
            trigger_id: None,
        }
    }
}

/// Cuts `s` to at most `max` characters, on a character boundary, saying that it did.
pub fn truncate(s: &str, max: usize) -> String {
    const MARK: &str = "\n…(truncated)";
    // No more bytes than `max` is no more characters: nothing to count.
    if s.len() <= max {
        return s.to_string();
    }
    match s
        .char_indices()
        .nth(max.saturating_sub(MARK.chars().count()))
    {
        Some((i, _)) if s.chars().count() > max => format!("{}{MARK}", &s[..i]),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
