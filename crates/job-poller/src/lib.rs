//! The `job-poller` Lambda: a CloudWatch schedule event → poll every configured source (or those
//! the event's input names in `"sources"`, for the channels it names in `"destinations"`) → queue
//! → advance watermarks. The logic is [`opsbell_core::poll::Pollers`], shared with `opsbell serve`.

use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
use opsbell_aws::lambda::deadline;
use opsbell_core::poll::{PollReport, Pollers};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::error;

/// The schedule's input: the rule's constant input, or a plain scheduled event (every field
/// Lambda adds is ignored). Empty lists mean every source, every route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PollInput {
    /// Source names to poll (`sources.orchestrator[].name`, `sources.kamonohashi[].name`).
    #[serde(default)]
    pub sources: Vec<String>,
    /// Channels the events go to, instead of the routes (the predecessor's per-target schedules).
    #[serde(default)]
    pub destinations: Vec<String>,
}

/// What one invocation polled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Polled {
    pub polled: Vec<PollReport>,
}

pub async fn handle(event: LambdaEvent<PollInput>, pollers: &Pollers) -> Result<Polled, Error> {
    let PollInput {
        sources: only,
        destinations,
    } = event.payload;
    let now = Utc::now();
    let results = pollers
        .cycle(&only, &destinations, now, deadline(&event.context))
        .await;
    for (source, seconds) in pollers.lags(&only, &results, now).await {
        println!("{}", poll_lag_metric(&source, seconds, now));
    }
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(report) => {
                // The other folders' work stands, but a folder that keeps failing (a revoked
                // permission) must not go unnoticed: fail the invocation so the alarm fires.
                if !report.failed_folders.is_empty() {
                    error!(source = %report.source, folders = ?report.failed_folders,
                        "Some folders (tenants) could not be polled; the next scheduled run retries them.");
                    failures.push(format!(
                        "{}: folders (tenants) {:?} failed",
                        report.source, report.failed_folders
                    ));
                }
                reports.push(report);
            }
            Err(e) => {
                error!(error = %e, "Poll failed; the next scheduled run retries from the stored state.");
                failures.push(e.to_string());
            }
        }
    }
    if !failures.is_empty() {
        // An invocation error feeds the Lambda Errors metric, which the deployment alarms on.
        return Err(failures.join("; ").into());
    }
    Ok(Polled { polled: reports })
}

/// The CloudWatch namespace of opsbell's own metrics.
pub const METRIC_NAMESPACE: &str = "opsbell";

/// One log line in CloudWatch's embedded metric format: `PollLagSeconds` per source and, with
/// no dimension, across sources (what the poll-lag alarm watches). Printed, not sent: CloudWatch
/// Logs extracts the metric, so it costs no API call and no permission.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
pub fn poll_lag_metric(source: &str, seconds: i64, now: chrono::DateTime<Utc>) -> String {
    json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["Source"], []],
                "Metrics": [{ "Name": "PollLagSeconds", "Unit": "Seconds" }]
            }]
        },
        "Source": source,
        "PollLagSeconds": seconds,
        "message": format!("Poll lag of {source}: {seconds} s.")
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poll_lag_is_an_embedded_metric() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let line: serde_json::Value =
            serde_json::from_str(&poll_lag_metric("prod", 42, now)).unwrap();
        let spec = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "opsbell");
        assert_eq!(spec["Metrics"][0]["Name"], "PollLagSeconds");
        // Every dimension and metric named in the spec is a member of the line.
        assert_eq!(line["Source"], "prod");
        assert_eq!(line["PollLagSeconds"], 42);
        assert_eq!(line["_aws"]["Timestamp"], 1_796_083_200_000_i64);
    }
}
