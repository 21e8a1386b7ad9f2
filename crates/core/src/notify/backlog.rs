//! Backlog API v2, add issue. <https://developer.nulab.com/docs/backlog/api/2/add-issue/>
//!
//! `POST {space}/api/v2/issues?apiKey=…` with a form body (`projectId`, `summary`,
//! `issueTypeId`, `priorityId`, `description`); success is **201 Created** with the issue JSON.
//! The key travels in the query string, so errors are stripped of the URL.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use serde_json::Value;

use super::{AdapterContext, ChannelConfig};
use crate::event::{Event, State};
use crate::http::send_with_retry;
use crate::ports::{Notifier, NotifyError, Receipt};
use crate::problem::{Problems, de_id};
use crate::render::RenderOptions;
use crate::render::backlog::render;

/// Backlog's normal priority; the predecessor hard-coded it.
pub const NORMAL_PRIORITY: &str = "3";

/// `{"type": "backlog", "api_key": "…", "space_key": "acme", "project_id": 1, "issue_type_id":
/// 2}`; `base_url` in place of `space_key` for backlog.com spaces and tests.
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
}

fn normal_priority() -> String {
    NORMAL_PRIORITY.to_string()
}

impl BacklogConfig {
    pub fn validate(&self, path: &str, p: &mut Problems) {
        if self.base().is_none() {
            p.push(format!("{path}.space_key"), "set space_key (or base_url)");
        }
        p.required(self.api_key.expose_secret(), &format!("{path}.api_key"));
        p.required(&self.project_id, &format!("{path}.project_id"));
        p.required(&self.issue_type_id, &format!("{path}.issue_type_id"));
    }

    /// `base_url`, else `https://{space_key}.backlog.jp`.
    pub fn base(&self) -> Option<String> {
        match (&self.base_url, &self.space_key) {
            (Some(url), _) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
            (_, Some(space)) if !space.is_empty() => Some(format!("https://{space}.backlog.jp")),
            _ => None,
        }
    }
}

impl ChannelConfig for BacklogConfig {
    const KIND: &'static str = "backlog";

    fn parse(value: Value, path: &str, p: &mut Problems) -> Option<Self> {
        p.read(path, value, Self::validate)
    }

    /// A ticket system hears only jobs that need work. CloudWatch alarms open tickets only when
    /// a route names the channel for them (one issue per ALARM transition otherwise piles up).
    fn default_states() -> Vec<State> {
        vec![State::Faulted, State::Stopped]
    }

    fn preview(&self, event: &Event, opts: RenderOptions) -> String {
        let issue = render(event, opts);
        format!(
            "POST /api/v2/issues\nprojectId: {}\nissueTypeId: {}\npriorityId: {}\nsummary: {}\ndescription:\n{}",
            self.project_id, self.issue_type_id, self.priority_id, issue.summary, issue.description
        )
    }
}

/// Opens an issue per event.
pub struct BacklogNotifier {
    ctx: AdapterContext,
    config: BacklogConfig,
    url: String,
}

impl BacklogNotifier {
    pub fn new(ctx: AdapterContext, config: BacklogConfig) -> Self {
        let url = format!("{}/api/v2/issues", config.base().unwrap_or_default());
        BacklogNotifier { ctx, config, url }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    #[serde(default)]
    issue_key: String,
}

#[async_trait]
impl Notifier for BacklogNotifier {
    async fn notify(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError> {
        let issue = render(event, self.ctx.render);
        let c = &self.config;
        let form = [
            ("projectId", c.project_id.as_str()),
            ("summary", issue.summary.as_str()),
            ("issueTypeId", c.issue_type_id.as_str()),
            ("priorityId", c.priority_id.as_str()),
            ("description", issue.description.as_str()),
        ];
        let sent = send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
            self.ctx
                .http
                .post(&self.url)
                .query(&[("apiKey", c.api_key.expose_secret())])
                .form(&form)
        })
        .await?;
        let key = serde_json::from_str::<Created>(&sent.body)
            .map(|c| c.issue_key)
            .unwrap_or_default();
        Ok(Receipt {
            detail: key,
            attempts: sent.attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wiremock::matchers::{body_string_contains, method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};

    use super::*;
    use crate::notify::testkit::{self, Kit};

    fn tickets(kit: &Kit) -> BacklogNotifier {
        let config = BacklogConfig {
            api_key: SecretString::from("SECRET-BACKLOG"),
            space_key: None,
            base_url: Some(kit.base.clone()),
            project_id: "12345".into(),
            issue_type_id: "67890".into(),
            priority_id: "3".into(),
        };
        BacklogNotifier::new(kit.ctx("ops-backlog"), config)
    }

    #[tokio::test]
    async fn opens_an_issue_and_201_is_success() {
        let kit = Kit::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v2/issues"))
            .and(query_param("apiKey", "SECRET-BACKLOG"))
            .and(body_string_contains("projectId=12345"))
            .and(body_string_contains("issueTypeId=67890"))
            .and(body_string_contains("priorityId=3"))
            .and(body_string_contains(
                "summary=FailingJob+faulted+%28PC-DOC%29",
            ))
            .and(body_string_contains(
                "description=Info%3A%0AThis+workflow+always+fails",
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
                "id": 1, "issueKey": "OPS-7", "summary": "FailingJob faulted (PC-DOC)"
            })))
            .expect(1)
            .mount(&kit.server)
            .await;
        let receipt = tickets(&kit)
            .notify(&kit.event, kit.deadline())
            .await
            .unwrap();
        assert_eq!(
            receipt,
            Receipt {
                detail: "OPS-7".into(),
                attempts: 1
            }
        );
    }

    #[tokio::test]
    async fn status_matrix() {
        testkit::status_matrix(|kit| Arc::new(tickets(kit)), &["SECRET-BACKLOG"]).await;
    }
}
