//! Triggers and the jobs they started: what the poll needs to see a schedule that never fired
//! (`poll/triggers.rs`). Shapes as Orchestrator answers `GET /odata/ProcessSchedules`
//! (`StartProcessCron` is Quartz: seconds first, `?`, `L`, `W`, `#`, an optional year).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{ODataPage, OrchestratorClient, OrchestratorError, encode_query, odata_time};

/// One trigger (`ProcessSchedule`), the fields the watch reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessSchedule {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    /// Empty for a queue trigger.
    #[serde(default)]
    pub start_process_cron: Option<String>,
    #[serde(default)]
    pub time_zone_iana: Option<String>,
    #[serde(default)]
    pub use_calendar: Option<bool>,
    /// The process key, as webhooks name the process.
    #[serde(default)]
    pub package_name: Option<String>,
    #[serde(default)]
    pub release_name: Option<String>,
}

/// A job a trigger started: which trigger, and when it was created.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TriggeredJob {
    #[serde(default)]
    pub starting_schedule_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::source::uipath::de_time")]
    pub creation_time: Option<DateTime<Utc>>,
}

/// Pages of triggered jobs read at most per folder and cycle.
const MAX_PAGES: usize = 10;

impl OrchestratorClient {
    /// Every trigger of `folder` (`GET /odata/ProcessSchedules`): one request.
    pub async fn process_schedules(
        &self,
        folder: i64,
        deadline: Instant,
    ) -> Result<Vec<ProcessSchedule>, OrchestratorError> {
        // Only the fields the watch reads: a trigger's input arguments can be large.
        let select =
            "Id,Name,Enabled,StartProcessCron,TimeZoneIana,UseCalendar,PackageName,ReleaseName";
        let path = format!(
            "/odata/ProcessSchedules?{}",
            encode_query(&[("$select", select)])
        );
        let page: ODataPage<ProcessSchedule> = self.get(&path, Some(folder), deadline).await?;
        Ok(page.value)
    }

    /// The jobs of `folder` that a trigger started, created in [from, to): a page per
    /// `page_size` jobs, at most [`MAX_PAGES`]. Also the number of requests it took.
    pub async fn triggered_jobs(
        &self,
        folder: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<(Vec<TriggeredJob>, usize), OrchestratorError> {
        let filter = format!(
            "CreationTime ge {} and CreationTime lt {} and StartingScheduleId ne null",
            odata_time(from),
            odata_time(to)
        );
        let size = self.source.page_size;
        let mut jobs = Vec::new();
        for page in 0..MAX_PAGES {
            let skip = (page as u64 * u64::from(size)).to_string();
            let query = [
                ("$filter", filter.as_str()),
                ("$select", "Id,StartingScheduleId,CreationTime"),
                ("$orderby", "CreationTime asc,Id asc"),
                ("$top", &size.to_string()),
                ("$skip", &skip),
            ];
            let path = format!("/odata/Jobs?{}", encode_query(&query));
            let got: ODataPage<TriggeredJob> = self.get(&path, Some(folder), deadline).await?;
            let n = got.value.len();
            jobs.extend(got.value);
            if n < size as usize {
                return Ok((jobs, page + 1));
            }
        }
        Ok((jobs, MAX_PAGES))
    }
}
