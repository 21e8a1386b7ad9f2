//! Backlog API v2: an issue per problem, kept up to date. Vendor facts (developer.nulab.com,
//! checked 2026-12-01):
//! - Add issue: `POST /api/v2/issues` (form: `projectId`, `summary`, `issueTypeId`,
//!   `priorityId`, `description`) → **201 Created** with the issue (`issueKey`).
//!   <https://developer.nulab.com/docs/backlog/api/2/add-issue/>
//! - Add comment: `POST /api/v2/issues/:issueIdOrKey/comments` (form: `content`) → 201.
//!   <https://developer.nulab.com/docs/backlog/api/2/add-comment/>
//! - Update issue: `PATCH /api/v2/issues/:issueIdOrKey` (form: `statusId`, `comment`, …) → 200.
//!   Default statuses: 1 Open, 2 In Progress, 3 Resolved, 4 Closed.
//!   <https://developer.nulab.com/docs/backlog/api/2/update-issue/>
//! - Get issue list: `GET /api/v2/issues?projectId[]=…&keyword=…&sort=created&order=desc&count=…`
//!   (count 1–100, default 20) → 200 with issues (`issueKey`, `description`, `status.id`,
//!   `updated`). <https://developer.nulab.com/docs/backlog/api/2/get-issue-list/>
//! - Rate limit per user and minute by kind (Read, Update, Search); 429 when exceeded, with
//!   `X-RateLimit-Reset`; Nulab asks for no parallel requests and a second between bulk
//!   updates. The fan-out sends one request at a time per Backlog channel, a second apart.
//!   <https://developer.nulab.com/docs/backlog/rate-limit/>
//! - The key travels in the query string (`apiKey`), so errors are stripped of the URL.
//!
//! The lifecycle (`tickets`): a problem (a process, a job, an alarm) has one issue. A repeat
//! while it is open is a comment with a running count; recovery closes it when
//! `close_on_recovery` is set; a repeat within `reopen_within` of closing reopens it, later a new
//! issue opens. The state table remembers the issue key; every issue's description ends with the
//! problem's marker, so when that record is lost a search finds the issue instead of opening a
//! duplicate.

mod api;
mod tickets;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use serde_json::Value;

use super::{AdapterContext, ChannelConfig};
use crate::event::{Event, State};
use crate::ports::{Clock, Notifier, NotifyError, Receipt, Records};
use crate::problem::{Problems, de_id};
use crate::render::RenderOptions;
use crate::render::backlog::render;

/// Backlog's normal priority; the predecessor hard-coded it.
pub const NORMAL_PRIORITY: &str = "3";
/// Backlog's default "Closed" (完了) and "Open" (未対応) statuses.
pub const CLOSED_STATUS: &str = "4";
pub const OPEN_STATUS: &str = "1";

/// What one issue stands for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPer {
    /// One issue per process (per alarm for CloudWatch): the default.
    #[default]
    Process,
    /// One issue per job (per alarm for CloudWatch).
    Job,
    /// One issue per event, as the predecessor did: no lifecycle.
    Event,
}

/// `{"type": "backlog", "api_key": "…", "space_key": "acme", "project_id": 1, "issue_type_id":
/// 2}`; `base_url` in place of `space_key` for backlog.com spaces and tests. The lifecycle:
/// `ticket_per`, `close_on_recovery`, `reopen_within` (`"24h"`), `closed_status_id` and
/// `reopened_status_id` (Backlog's defaults 4 and 1).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacklogConfig {
    pub api_key: SecretString,
    #[serde(default)]
    pub space_key: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(deserialize_with = "de_id")]
    pub project_id: String,
    #[serde(deserialize_with = "de_id")]
    pub issue_type_id: String,
    #[serde(default = "normal_priority", deserialize_with = "de_id")]
    pub priority_id: String,
    #[serde(default)]
    pub ticket_per: TicketPer,
    #[serde(default)]
    pub close_on_recovery: bool,
    #[serde(default, deserialize_with = "crate::time::de_opt_span")]
    pub reopen_within: Option<Duration>,
    #[serde(default = "closed_status", deserialize_with = "de_id")]
    pub closed_status_id: String,
    #[serde(default = "open_status", deserialize_with = "de_id")]
    pub reopened_status_id: String,
}

fn normal_priority() -> String {
    NORMAL_PRIORITY.to_string()
}

fn closed_status() -> String {
    CLOSED_STATUS.to_string()
}

fn open_status() -> String {
    OPEN_STATUS.to_string()
}

impl BacklogConfig {
    pub fn validate(&self, path: &str, p: &mut Problems) {
        if self.base().is_none() {
            p.push(format!("{path}.space_key"), "set space_key (or base_url)");
        }
        p.required(self.api_key.expose_secret(), &format!("{path}.api_key"));
        p.required(&self.project_id, &format!("{path}.project_id"));
        p.required(&self.issue_type_id, &format!("{path}.issue_type_id"));
        if self.ticket_per == TicketPer::Event
            && (self.close_on_recovery || self.reopen_within.is_some())
        {
            p.push(
                format!("{path}.ticket_per"),
                "ticket_per \"event\" opens an issue per event: close_on_recovery and reopen_within need \"process\" or \"job\"",
            );
        }
    }

    /// `base_url`, else `https://{space_key}.backlog.jp`.
    pub fn base(&self) -> Option<String> {
        match (&self.base_url, &self.space_key) {
            (Some(url), _) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
            (_, Some(space)) if !space.is_empty() => Some(format!("https://{space}.backlog.jp")),
            _ => None,
        }
    }

    /// How this channel keeps its issues, for `opsbell check`.
    pub fn lifecycle(&self) -> String {
        let per = match self.ticket_per {
            TicketPer::Event => return "an issue per event (no lifecycle)".into(),
            TicketPer::Process => "process",
            TicketPer::Job => "job",
        };
        let mut out =
            format!("an issue per {per} (per alarm for CloudWatch); repeats are comments");
        if self.close_on_recovery {
            out.push_str(&format!(
                "; recovery closes it (status {})",
                self.closed_status_id
            ));
        }
        match self.reopen_within {
            Some(w) => out.push_str(&format!(
                "; a repeat within {} reopens it (status {})",
                humantime::format_duration(w),
                self.reopened_status_id
            )),
            None => out.push_str("; a repeat after closing opens a new issue"),
        }
        out
    }
}

impl ChannelConfig for BacklogConfig {
    const KIND: &'static str = "backlog";

    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self> {
        p.read(path, value, Self::validate)
    }

    /// A ticket system hears only jobs that need work, and their recoveries when it closes
    /// issues. CloudWatch alarms open tickets only when a route names the channel for them (one
    /// issue per ALARM transition otherwise piles up).
    fn default_states(&self) -> Vec<State> {
        let mut states = vec![
            State::Faulted,
            State::NotStarted,
            State::Stopped,
            State::Down,
            State::Hung,
        ];
        if self.close_on_recovery {
            states.extend([State::Successful, State::Up]);
        }
        states
    }

    fn preview(&self, event: &Event, opts: RenderOptions) -> String {
        let issue = render(event, opts);
        format!(
            "POST /api/v2/issues\nprojectId: {}\nissueTypeId: {}\npriorityId: {}\nsummary: {}\ndescription:\n{}",
            self.project_id, self.issue_type_id, self.priority_id, issue.summary, issue.description
        )
    }

    fn spacing(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(1))
    }
}

/// Opens, comments on, closes and reopens the issue of each problem.
pub struct BacklogNotifier {
    api: api::Api,
    tickets: Option<tickets::Tickets>,
}

impl BacklogNotifier {
    /// Without state: an issue per event (`opsbell send`).
    pub fn new(ctx: AdapterContext, config: BacklogConfig) -> Self {
        BacklogNotifier {
            api: api::Api::new(ctx, config),
            tickets: None,
        }
    }

    /// With the state table: the configured lifecycle.
    pub fn with_tickets(mut self, records: Arc<dyn Records>, clock: Arc<dyn Clock>) -> Self {
        if self.api.config.ticket_per != TicketPer::Event {
            self.tickets = Some(tickets::Tickets::new(records, clock));
        }
        self
    }
}

#[async_trait]
impl Notifier for BacklogNotifier {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError> {
        match &self.tickets {
            Some(tickets) => tickets.handle(&self.api, event, deadline).await,
            None => {
                let (key, attempts) = self.api.create(event, None, deadline).await?;
                Ok(Receipt {
                    detail: key,
                    attempts,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
