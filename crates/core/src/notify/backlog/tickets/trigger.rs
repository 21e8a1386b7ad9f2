//! A trigger that could not start is one problem, whatever the process's other problems: its
//! failures share one issue (`trigger:<source>:<process>:<trigger id>`), commented with the
//! count, and it ends when a job of that trigger next succeeds. A job names its trigger when
//! Orchestrator says so (`StartingScheduleId`, in the poll's copy); a job that does not (the
//! webhook's copy) ends every open trigger problem of its process, since its process ran.

use super::{Tickets, store};
use crate::event::{Event, State};
use crate::notify::backlog::api::Api;
use crate::ports::NotifyError;
use crate::state::{Ticket, TicketStatus};

/// The problem of a trigger that could not start; `None` for any other event.
pub(super) fn problem(event: &Event) -> Option<String> {
    let trigger = event.trigger_id.as_deref()?;
    (event.state == State::NotStarted).then(|| format!("{}{trigger}", prefix(event)))
}

fn prefix(event: &Event) -> String {
    format!("trigger:{}:{}:", event.source, event.process)
}

impl Tickets {
    /// The open trigger problems a successful `event` ends: its own trigger's, or, when the
    /// job does not name its trigger, every one of its process.
    pub(super) async fn open_triggers(
        &self,
        api: &Api,
        event: &Event,
    ) -> Result<Vec<String>, NotifyError> {
        let prefix = prefix(event);
        let channel = &api.ctx.name;
        let key = Ticket::key(channel, "");
        let rows = self.records.list_records(&key.pk).await.map_err(store)?;
        let ends = |problem: &str| match &event.trigger_id {
            Some(trigger) => problem == format!("{prefix}{trigger}"),
            None => problem.starts_with(&prefix),
        };
        Ok(rows
            .into_iter()
            .filter(|(problem, _)| ends(problem))
            .filter(|(_, row)| {
                let row: Option<Ticket> = serde_json::from_value(row.clone()).ok();
                row.is_some_and(|t| !matches!(t.status, TicketStatus::Closed { .. }))
            })
            .map(|(problem, _)| problem)
            .collect())
    }
}
