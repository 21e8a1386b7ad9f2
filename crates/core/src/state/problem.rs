//! The index behind the console's Now page: for each problem (a process, alarm or check, where
//! it runs), the history row of its latest event that says how it is. Written with the history
//! row, so Now reads one small partition and the rows of what is open, not 48 hours of events.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{Key, list, update};
use crate::event::{Event, Severity, State};
use crate::ports::{Records, StoreError};
use crate::signature::digest_hex;

const PARTITION: &str = "PROBLEM";
/// How far back Now looks: a problem whose latest word is older has gone quiet.
pub const OPEN_WINDOW: Duration = Duration::hours(48);

/// `PROBLEM` / <digest of source, tenant, folder, process>.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The history row of the latest event (`History::id`; it sorts by time).
    pub id: String,
    pub state: State,
}

/// What one problem is: where it ran and what it is called.
fn identity(event: &Event) -> String {
    let who = [
        event.source.as_str(),
        event.tenant.as_deref().unwrap_or_default(),
        event.folder.as_deref().unwrap_or_default(),
        &event.process,
    ];
    digest_hex(&serde_json::to_string(&who).unwrap_or_default(), 16)
}

impl Problem {
    /// Points `event`'s problem at history row `id` (placed at `at`) unless it already points
    /// at a later one. An informational event (a job started) neither opens nor closes a problem.
    pub async fn note(
        records: &dyn Records,
        event: &Event,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if event.state.severity() == Severity::Info {
            return Ok(());
        }
        let row = Problem {
            id: id.to_string(),
            state: event.state,
        };
        let key = Key::new(PARTITION, identity(event));
        update(
            records,
            &key,
            Some(at + OPEN_WINDOW),
            |read: Option<&Problem>| read.is_none_or(|p| p.id.as_str() < id).then(|| row.clone()),
        )
        .await
    }

    /// The history ids of the problems whose latest event since `since` is critical or a
    /// warning.
    pub async fn open(
        records: &dyn Records,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let floor = since.to_rfc3339_opts(SecondsFormat::Millis, true);
        let rows: Vec<(String, Problem)> = list(records, PARTITION).await?;
        Ok(rows
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| p.id >= floor)
            .filter(|p| matches!(p.state.severity(), Severity::Critical | Severity::Warning))
            .map(|p| p.id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Source;
    use crate::state::History;
    use crate::testing::MemoryRecords;

    fn job(n: u32, state: State, process: &str, at: DateTime<Utc>) -> Event {
        Event::new(
            Source::Uipath,
            "1/2",
            &format!("job-{n}"),
            state,
            process,
            at,
        )
    }

    #[tokio::test]
    async fn a_problem_is_its_latest_event_whatever_order_the_copies_arrive_in() {
        let records = MemoryRecords::default();
        let t0: DateTime<Utc> = "2026-12-06T03:00:00Z".parse().unwrap();
        let now = t0 + Duration::hours(1);
        let fault = job(1, State::Faulted, "InvoiceBot", t0);
        let fixed = job(
            2,
            State::Successful,
            "InvoiceBot",
            t0 + Duration::minutes(10),
        );
        let started = job(3, State::Started, "InvoiceBot", t0 + Duration::minutes(20));
        let other = job(4, State::Stopped, "PayrollBot", t0 + Duration::minutes(5));
        let retried = job(6, State::Faulted, "ReportBot", t0 + Duration::minutes(1));
        let rerun = job(7, State::Started, "ReportBot", t0 + Duration::minutes(2));
        // The success is heard before the fault's late copy; the starts after both.
        for e in [&fixed, &fault, &other, &started, &retried, &rerun] {
            Problem::note(&records, e, &History::id(e, now), e.occurred_at)
                .await
                .unwrap();
        }
        let mut open = Problem::open(&records, now - OPEN_WINDOW).await.unwrap();
        open.sort();
        assert_eq!(
            open,
            vec![History::id(&retried, now), History::id(&other, now)],
            "InvoiceBot recovered; ReportBot's new run has not ended its fault"
        );

        let again = job(5, State::Faulted, "InvoiceBot", t0 + Duration::minutes(30));
        Problem::note(
            &records,
            &again,
            &History::id(&again, now),
            again.occurred_at,
        )
        .await
        .unwrap();
        let mut open = Problem::open(&records, now - OPEN_WINDOW).await.unwrap();
        open.sort();
        let mut want = [&retried, &other, &again].map(|e| History::id(e, now));
        want.sort();
        assert_eq!(open, want);
        let since = t0 + Duration::minutes(20);
        assert_eq!(
            Problem::open(&records, since).await.unwrap(),
            vec![History::id(&again, now)],
            "a problem quiet since before the window has left Now"
        );
    }
}
