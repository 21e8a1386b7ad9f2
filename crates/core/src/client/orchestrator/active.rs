//! Jobs that have not ended: what the poll needs to find hung ones (`poll/hung.rs`).

use tokio::time::Instant;

use super::{ODataPage, OrchestratorClient, OrchestratorError, Page, encode_query};
use crate::source::uipath::Job;

/// The states of a job that has not ended (Orchestrator's `JobState`).
pub const ACTIVE_STATES: [&str; 6] = [
    "Pending",
    "Running",
    "Suspended",
    "Resumed",
    "Stopping",
    "Terminating",
];

impl OrchestratorClient {
    /// The oldest jobs of `folder` that have not ended, a page of them (one request), and
    /// whether more remain: `GET /odata/Jobs` by State, oldest first.
    pub async fn active_jobs(
        &self,
        folder: i64,
        deadline: Instant,
    ) -> Result<Page, OrchestratorError> {
        let filter = (ACTIVE_STATES.iter())
            .map(|s| format!("State eq '{s}'"))
            .collect::<Vec<_>>()
            .join(" or ");
        let query = [
            ("$filter", filter.as_str()),
            ("$expand", "Release"),
            ("$orderby", "CreationTime asc,Id asc"),
            ("$top", &self.source.page_size.to_string()),
            ("$count", "true"),
        ];
        let path = format!("/odata/Jobs?{}", encode_query(&query));
        let page: ODataPage<Job> = self.get(&path, Some(folder), deadline).await?;
        let n = page.value.len() as u64;
        let more = page.count.is_some_and(|count| n < count);
        Ok(Page {
            jobs: page.value,
            more,
        })
    }
}
