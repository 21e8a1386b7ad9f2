//! opsbell's domain: the normalized [`Event`](event::Event), source parsers, webhook signatures,
//! configuration, routing, rendering, the HTTP adapters for chat and ticket services, and the
//! ports ([`ports`]) that AWS and local storage implement. No AWS SDK here.

pub mod access;
pub mod build;
pub mod chat;
pub mod client;
pub mod config;
pub mod console;
#[cfg(any(test, feature = "test-util"))]
pub mod contract;
pub mod escalation;
pub mod event;
pub mod fanout;
pub mod heartbeat;
pub mod http;
pub mod ingest;
pub mod locale;
#[cfg(test)]
mod never_panic;
pub mod notify;
pub mod oncall;
pub mod poll;
pub mod ports;
pub mod problem;
pub mod render;
pub mod route;
pub mod signature;
pub mod silence;
pub mod source;
pub mod state;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod time;
