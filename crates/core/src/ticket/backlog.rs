//! Backlog API v2, add issue. <https://developer.nulab.com/docs/backlog/api/2/add-issue/>
//!
//! `POST {space}/api/v2/issues?apiKey=…` with a form body (`projectId`, `summary`,
//! `issueTypeId`, `priorityId`, `description`); success is **201 Created** with the issue JSON.
//! The key travels in the query string, so errors are stripped of the URL.

use async_trait::async_trait;
use secrecy::ExposeSecret;
use tokio::time::Instant;

use crate::config::BacklogChannel;
use crate::event::Event;
use crate::http::send_with_retry;
use crate::notify::AdapterContext;
use crate::ports::{NotifyError, Receipt, Ticketing};
use crate::render::backlog::render;

pub struct BacklogTickets {
    ctx: AdapterContext,
    config: BacklogChannel,
    url: String,
}

impl BacklogTickets {
    pub fn new(ctx: AdapterContext, config: BacklogChannel) -> Self {
        let url = format!("{}/api/v2/issues", config.base_url.trim_end_matches('/'));
        BacklogTickets { ctx, config, url }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    #[serde(default)]
    issue_key: String,
}

#[async_trait]
impl Ticketing for BacklogTickets {
    async fn open_ticket(&self, event: &Event, deadline: Instant) -> Result<Receipt, NotifyError> {
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

    use secrecy::SecretString;
    use wiremock::matchers::{body_string_contains, method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};

    use super::*;
    use crate::notify::Sink;
    use crate::notify::testkit::{self, Kit};

    fn tickets(kit: &Kit) -> BacklogTickets {
        let config = BacklogChannel {
            api_key: SecretString::from("SECRET-BACKLOG"),
            base_url: kit.base.clone(),
            project_id: "12345".into(),
            issue_type_id: "67890".into(),
            priority_id: "3".into(),
        };
        BacklogTickets::new(kit.ctx("ops-backlog"), config)
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
            .open_ticket(&kit.event, kit.deadline())
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
        testkit::status_matrix(
            |kit| Sink::Tickets(Arc::new(tickets(kit))),
            &["SECRET-BACKLOG"],
        )
        .await;
    }
}
