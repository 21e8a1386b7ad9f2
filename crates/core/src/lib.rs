//! opsbell's domain: the normalized [`Event`](event::Event), source parsers, webhook signatures,
//! configuration, routing, rendering, the HTTP adapters for chat and ticket services, and the
//! ports ([`ports`]) that AWS and local storage implement. No AWS SDK here.

pub mod config;
pub mod event;
pub mod route;
pub mod signature;
pub mod source;
pub mod time;
