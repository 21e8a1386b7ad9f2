//! The `job-poller` Lambda: a CloudWatch schedule event → poll every configured source (or those
//! the event's input names in `"sources"`, for the channels it names in `"destinations"`) → queue
//! → advance watermarks. The logic is [`opsbell_core::poll::Pollers`], shared with `opsbell serve`.

use std::time::SystemTime;

use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
use opsbell_core::poll::Pollers;
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::error;

pub async fn handle(event: LambdaEvent<Value>, pollers: &Pollers) -> Result<Value, Error> {
    let names = |key: &str| -> Vec<String> {
        let list = event.payload.get(key).and_then(Value::as_array);
        list.map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
    };
    let (only, destinations) = (names("sources"), names("destinations"));
    let remaining = event
        .context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let results = pollers
        .run(&only, &destinations, Utc::now(), Instant::now() + remaining)
        .await;
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
    Ok(json!({ "polled": reports }))
}
