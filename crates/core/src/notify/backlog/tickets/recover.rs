//! A problem's recovery (its issue closed, when configured), and the ticket row's updates and
//! lease release that every run ends with.

use tracing::warn;

use super::{RACES, Run, receipt};
use crate::ports::{NotifyError, Receipt};
use crate::render::Label;
use crate::state::{Stored, Ticket, TicketStatus};

impl Run<'_> {
    /// The problem is gone: close its open issue (when configured).
    pub(super) async fn recover(&self) -> Result<Receipt, NotifyError> {
        let read = self.load().await?;
        let now = self.now();
        let nothing = |why: &str| Ok(receipt(why.to_string(), 0));
        let Some(t) = read.map(|r| r.row) else {
            return nothing("no open issue");
        };
        match t.status {
            TicketStatus::Opening { until } if until > now => Err(NotifyError::later(
                "another delivery is opening this problem's issue",
            )),
            TicketStatus::Open if !self.api.config.close_on_recovery => {
                nothing("issue stays open (close_on_recovery is off)")
            }
            TicketStatus::Open => {
                let text = self.comment(Label::Recovered, None);
                let status = &self.api.config.closed_status_id;
                let attempts = self
                    .api
                    .set_status(&t.issue, status, &text, self.deadline)
                    .await?;
                self.update(|row| {
                    row.status = TicketStatus::Closed { at: now };
                    row.last_at = now;
                })
                .await;
                Ok(receipt(format!("{} closed", t.issue), attempts))
            }
            _ => nothing("no open issue"),
        }
    }

    /// Applies `change` to the row after Backlog already changed, however often another writer
    /// gets in between. A row that stays behind only costs a marker search later.
    pub(super) async fn update(&self, change: impl Fn(&mut Ticket)) {
        for _ in 0..RACES {
            let Ok(Some(read)) = self.load().await else {
                break;
            };
            let mut row = read.row.clone();
            change(&mut row);
            let swapped = row
                .swap(self.records(), self.channel(), self.problem, Some(&read))
                .await;
            if matches!(swapped, Ok(Some(_))) {
                return;
            }
        }
        warn!(
            channel = self.channel(),
            "Could not update this problem's ticket row."
        );
    }

    /// Gives the lease back after a failed open, so the retry need not wait for it.
    pub(super) async fn release(&self, claimed: &Stored<Ticket>, previous: Option<&Ticket>) {
        let result = match previous {
            Some(p) => p
                .swap(self.records(), self.channel(), self.problem, Some(claimed))
                .await
                .map(|_| ()),
            None => {
                let key = Ticket::key(self.channel(), self.problem);
                self.records().delete_record(&key.pk, &key.sk).await
            }
        };
        if let Err(e) = result {
            warn!(channel = self.channel(), error = %e, "Could not release the ticket lease; it expires by itself.");
        }
    }
}
