//! A ticket per problem: which Backlog issue a problem (a process, a job, an alarm) has at a
//! channel, whether it is open, and how often the problem came back.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Key, Stored, load_stored, swap};
use crate::ports::{Records, StoreError};

/// Days a ticket row is kept after its last change; an older problem opens a new issue (or its
/// open issue is found again by its marker).
pub const TICKET_TTL_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TicketStatus {
    /// A delivery is opening the issue until `until`; after that its lease is free to take (the
    /// opener died: the marker search finds whatever it posted).
    Opening {
        until: DateTime<Utc>,
    },
    Open,
    Closed {
        at: DateTime<Utc>,
    },
}

/// `TICKET#<channel>` / `<problem>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The issue key (`OPS-7`); empty while opening.
    #[serde(default)]
    pub issue: String,
    #[serde(flatten)]
    pub status: TicketStatus,
    /// Occurrences since the issue was opened (1 for the one that opened it).
    pub count: u32,
    pub last_at: DateTime<Utc>,
}

impl Ticket {
    pub fn key(channel: &str, problem: &str) -> Key {
        Key::new(format!("TICKET#{channel}"), problem)
    }

    pub async fn load(
        records: &dyn Records,
        channel: &str,
        problem: &str,
    ) -> Result<Option<Stored<Ticket>>, StoreError> {
        load_stored(records, &Self::key(channel, problem)).await
    }

    /// Writes this row if the stored one is still `read`; `None` when another delivery changed it.
    pub async fn swap(
        &self,
        records: &dyn Records,
        channel: &str,
        problem: &str,
        read: Option<&Stored<Ticket>>,
    ) -> Result<Option<Stored<Ticket>>, StoreError> {
        let expires = self.last_at + Duration::days(TICKET_TTL_DAYS);
        let key = Self::key(channel, problem);
        swap(records, &key, read, self, Some(expires)).await
    }
}
