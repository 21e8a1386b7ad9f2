//! A hung job (`hung`, from the poll's hung-job watch) is a problem of its own, whatever
//! `ticket_per` says: `hung:<source>:<job>`. It ends when that job ends, however it ends: a
//! faulted or stopped end closes it too (and counts in the process's problem, as every fault
//! does), so another job of the process neither closes nor comments on it.

use super::{Tickets, store};
use crate::event::{Event, State};
use crate::notify::backlog::api::Api;
use crate::ports::{NotifyError, Receipt};
use crate::state::{Ticket, TicketStatus};

/// The problem of a hung job.
pub(super) fn problem(event: &Event) -> String {
    let job = event.job_key.as_ref().or(event.job_id.as_ref());
    let job = job.map_or_else(|| event.key.to_string(), |j| j.to_ascii_lowercase());
    format!("hung:{}:{job}", event.source)
}

impl Tickets {
    /// When `event` ends a job whose hang has an issue not yet closed: that issue closes (when
    /// configured), whatever the end's own state.
    pub(super) async fn end_hang(
        &self,
        api: &Api,
        event: &Event,
        deadline: tokio::time::Instant,
    ) -> Result<Option<Receipt>, NotifyError> {
        let ended = matches!(
            event.state,
            State::Faulted | State::Successful | State::Stopped
        );
        if !ended || event.job_key.is_none() {
            return Ok(None);
        }
        let hung = problem(event);
        let row = Ticket::load(self.records.as_ref(), &api.ctx.name, &hung).await;
        let open = (row.map_err(store)?)
            .is_some_and(|t| !matches!(t.row.status, TicketStatus::Closed { .. }));
        if !open {
            return Ok(None);
        }
        self.settle(api, event, &hung, deadline, true)
            .await
            .map(Some)
    }
}
