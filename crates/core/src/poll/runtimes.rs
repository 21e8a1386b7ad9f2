//! How long a process's successful runs took, learned from the jobs the poll reads, for the
//! hung-job watch's learned Running limit (`poll/hung.rs`): `RUNTIMES#<source>` /
//! `<folder>/<process>` keeps the last runs' durations with their job ids (a job read twice,
//! by an overlap or by two schedules' polls, counts once).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::client::orchestrator::config::Learn;
use crate::ports::{Records, StoreError};
use crate::source::uipath::{Job, process_of};
use crate::state::{Key, load, save};

/// A process not run for this long forgets its runs.
const RUNTIMES_TTL_DAYS: i64 = 90;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Runs {
    /// (job id, seconds), oldest first.
    runs: Vec<(i64, u64)>,
}

fn key(source: &str, folder: i64, process: &str) -> Key {
    Key::new(format!("RUNTIMES#{source}"), format!("{folder}/{process}"))
}

/// Records the successful runs among `jobs` (ended jobs of `folder`), keeping the last `keep`
/// per process: one read and at most one write per process.
pub(super) async fn learn(
    records: &dyn Records,
    source: &str,
    folder: i64,
    jobs: &[Job],
    keep: usize,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut by_process: BTreeMap<String, Vec<(DateTime<Utc>, i64, u64)>> = BTreeMap::new();
    for job in jobs
        .iter()
        .filter(|j| j.state.as_deref() == Some("Successful"))
    {
        let (Some(id), Some(start), Some(end)) = (job.id, job.start_time, job.end_time) else {
            continue;
        };
        let secs = (end - start).num_seconds().max(0) as u64;
        by_process
            .entry(process_of(job))
            .or_default()
            .push((end, id, secs));
    }
    for (process, mut ended) in by_process {
        ended.sort();
        let key = key(source, folder, &process);
        let mut row: Runs = load(records, &key).await?.unwrap_or_default();
        let mut changed = false;
        for (_, id, secs) in ended {
            if !row.runs.iter().any(|(seen, _)| *seen == id) {
                row.runs.push((id, secs));
                changed = true;
            }
        }
        if !changed {
            continue;
        }
        let excess = row.runs.len().saturating_sub(keep);
        row.runs.drain(..excess);
        let expires = now + chrono::Duration::days(RUNTIMES_TTL_DAYS);
        save(records, &key, &row, Some(expires)).await?;
    }
    Ok(())
}

/// The learned Running limit of `process` in `folder` (see [`Learn`]) and how many runs it
/// rests on; `None` while fewer than [`Learn::MIN_RUNS`] are known.
pub(super) async fn learned_limit(
    records: &dyn Records,
    source: &str,
    folder: i64,
    process: &str,
    learn: &Learn,
) -> Result<Option<(Duration, usize)>, StoreError> {
    let row: Runs = load(records, &key(source, folder, process))
        .await?
        .unwrap_or_default();
    let secs: Vec<u64> = row
        .runs
        .iter()
        .rev()
        .take(learn.runs)
        .map(|r| r.1)
        .collect();
    Ok(limit(&secs, learn).map(|d| (d, secs.len())))
}

/// `k` × the p95 (nearest rank) of `secs`, at least `floor`; `None` for too few runs.
pub(super) fn limit(secs: &[u64], learn: &Learn) -> Option<Duration> {
    if secs.len() < Learn::MIN_RUNS {
        return None;
    }
    let mut sorted = secs.to_vec();
    sorted.sort_unstable();
    let rank = (sorted.len() * 95).div_ceil(100).max(1);
    let p95 = Duration::from_secs(sorted[rank - 1]);
    Some(p95.mul_f64(learn.k).max(learn.floor))
}
