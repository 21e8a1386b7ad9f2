//! opsbell's domain: the normalized [`Event`](event::Event), source parsers, webhook signatures,
//! configuration, routing, rendering, the HTTP adapters for chat and ticket services, and the
//! ports ([`ports`]) that AWS and local storage implement. No AWS SDK here.

pub mod chat;
pub mod client;
pub mod config;
#[doc(hidden)]
pub mod contract;
pub mod event;
pub mod fanout;
pub mod http;
pub mod ingest;
#[cfg(test)]
mod never_panic;
pub mod notify;
pub mod oncall;
pub mod poll;
pub mod ports;
pub mod render;
pub mod route;
pub mod signature;
pub mod source;
#[doc(hidden)]
pub mod testing;
pub mod ticket;
pub mod time;
