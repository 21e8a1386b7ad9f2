//! Ticketing adapters.

pub mod backlog;
