//! The Orchestrator watches' walk over a source's folders (`triggers.rs`, `hung.rs`).

use std::future::Future;

use tokio::time::Instant;
use tracing::warn;

use super::{PollError, PollReport};
use crate::client::orchestrator::OrchestratorClient;

/// What one folder's watch did: requests made, events queued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    pub requests: usize,
    pub events: usize,
}

/// Runs `watch(folder, folders)` on each folder of `client`'s source, one after the other
/// (those configured, else every folder `/odata/Folders` lists): a report named
/// `<source>:<what>` whose `pages` are the requests made and `jobs` the events queued. A folder
/// that fails is logged and listed, and the others go on; the report fails only when all did.
pub(super) async fn each_folder<F, Fut>(
    client: &OrchestratorClient,
    what: &str,
    deadline: Instant,
    watch: F,
) -> Result<PollReport, PollError>
where
    F: Fn(i64, usize) -> Fut,
    Fut: Future<Output = Result<Watch, PollError>>,
{
    let source = client.source();
    let mut report = PollReport {
        source: format!("{}:{what}", source.name),
        ..PollReport::default()
    };
    let folders = match source.folders.is_empty() {
        true => {
            report.pages += 1;
            (client.folders(deadline).await).map_err(|error| PollError::Orchestrator {
                source_name: source.name.clone(),
                error,
            })?
        }
        false => source.folders.clone(),
    };
    report.folders = folders.len();
    let mut first_error = None;
    for &folder in &folders {
        match watch(folder, folders.len()).await {
            Ok(w) => {
                report.pages += w.requests;
                report.jobs += w.events;
            }
            Err(e) => {
                warn!(source = %source.name, folder, watch = what, error = %e, "A folder could not be watched; the next cycle retries.");
                report.failed_folders.push(folder);
                first_error.get_or_insert(e);
            }
        }
    }
    report.into_result(first_error)
}
