//! Embedded implementations of opsbell's ports for `opsbell serve`: one SQLite file holds the
//! delivery log, the other state records and a durable outbox (the local stand-in for SQS); a
//! dispatcher drains the outbox with the same fan-out code as the `alarm-fanout` Lambda; a small
//! scheduler runs periodic jobs (pollers, housekeeping).

pub mod caller;
pub mod db;
pub mod dead;
pub mod dispatcher;
pub mod outbox;
pub mod scheduler;
pub mod store;

pub use db::Db;
pub use outbox::SqliteOutbox;
pub use store::SqliteStore;

/// Milliseconds since the epoch, the time unit of every local table.
pub(crate) fn millis(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}
