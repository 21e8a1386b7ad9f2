//! The four Backlog requests the lifecycle makes (see the adapter's header for their shapes).

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use tokio::time::Instant;

use super::BacklogConfig;
use crate::event::Event;
use crate::http::send_with_retry;
use crate::notify::AdapterContext;
use crate::ports::NotifyError;
use crate::render::backlog::render;

pub(super) struct Api {
    pub ctx: AdapterContext,
    pub config: BacklogConfig,
    base: String,
}

/// An issue a marker search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub key: String,
    pub closed: bool,
    pub updated: Option<DateTime<Utc>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    #[serde(default)]
    issue_key: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    status: Option<IdOnly>,
    #[serde(default)]
    updated: Option<String>,
}

#[derive(serde::Deserialize)]
struct IdOnly {
    id: serde_json::Value,
}

/// How many of the newest matches a marker search reads.
const SEARCH_COUNT: &str = "20";

impl Api {
    pub fn new(ctx: AdapterContext, config: BacklogConfig) -> Self {
        let base = config.base().unwrap_or_default();
        Api { ctx, config, base }
    }

    fn key(&self) -> [(&'static str, &str); 1] {
        [("apiKey", self.config.api_key.expose_secret())]
    }

    /// Opens an issue for `event`; `marker` is appended to its description. Its key and the
    /// attempts it took.
    pub async fn create(
        &self,
        event: &Event,
        marker: Option<&str>,
        deadline: Instant,
    ) -> Result<(String, u32), NotifyError> {
        let issue = render(event, self.ctx.render);
        let description = match marker {
            Some(m) => format!("{}\n{}", issue.description, marker_line(m)),
            None => issue.description,
        };
        let c = &self.config;
        let form = [
            ("projectId", c.project_id.as_str()),
            ("summary", issue.summary.as_str()),
            ("issueTypeId", c.issue_type_id.as_str()),
            ("priorityId", c.priority_id.as_str()),
            ("description", description.as_str()),
        ];
        let url = format!("{}/api/v2/issues", self.base);
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            self.ctx.http.post(&url).query(&self.key()).form(&form)
        })
        .await?;
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            #[serde(default)]
            issue_key: String,
        }
        let key = serde_json::from_str::<Created>(&sent.body)
            .map(|c| c.issue_key)
            .unwrap_or_default();
        Ok((key, sent.attempts))
    }

    pub async fn comment(
        &self,
        issue: &str,
        content: &str,
        deadline: Instant,
    ) -> Result<u32, NotifyError> {
        let url = format!("{}/api/v2/issues/{issue}/comments", self.base);
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            let form = [("content", content)];
            self.ctx.http.post(&url).query(&self.key()).form(&form)
        })
        .await?;
        Ok(sent.attempts)
    }

    /// Sets the issue's status, with a comment.
    pub async fn set_status(
        &self,
        issue: &str,
        status: &str,
        comment: &str,
        deadline: Instant,
    ) -> Result<u32, NotifyError> {
        let url = format!("{}/api/v2/issues/{issue}", self.base);
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            let form = [("statusId", status), ("comment", comment)];
            self.ctx.http.patch(&url).query(&self.key()).form(&form)
        })
        .await?;
        Ok(sent.attempts)
    }

    /// The newest issue of the project whose summary or description carries `marker`.
    /// Backlog's keyword search is a full-text match, so each hit is checked for the marker.
    pub async fn search(
        &self,
        marker: &str,
        deadline: Instant,
    ) -> Result<Option<Found>, NotifyError> {
        let url = format!("{}/api/v2/issues", self.base);
        let c = &self.config;
        let query = [
            ("projectId[]", c.project_id.as_str()),
            ("keyword", marker),
            ("sort", "created"),
            ("order", "desc"),
            ("count", SEARCH_COUNT),
        ];
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            self.ctx.http.get(&url).query(&self.key()).query(&query)
        })
        .await?;
        let listed: Vec<Listed> = serde_json::from_str(&sent.body).unwrap_or_default();
        let line = marker_line(marker);
        let found = listed.into_iter().find(|i| {
            i.summary.contains(marker)
                || i.description.as_deref().is_some_and(|d| d.contains(&line))
        });
        Ok(found.map(|i| Found {
            closed: i
                .status
                .is_some_and(|s| crate::problem::id_text(&s.id) == c.closed_status_id),
            updated: i.updated.as_deref().and_then(crate::time::parse_utc),
            key: i.issue_key,
        }))
    }
}

/// The last line of every lifecycle issue's description.
pub(super) fn marker_line(marker: &str) -> String {
    format!("opsbell-ticket: {marker}")
}
