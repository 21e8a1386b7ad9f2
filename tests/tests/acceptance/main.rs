//! The acceptance suite, one test binary with one module per feature (it links the AWS SDK and
//! the five Lambda crates once): signed samples through the real handlers, the real AWS SDK
//! against moto, vendors faked at the HTTP level, the release binaries under their IAM roles.

mod support;

mod chat;
mod chat_bot;
mod cloudwatch;
mod console_browser;
mod faults;
mod flood;
mod hung;
mod lambda_runtime;
mod ntlm;
mod oncall;
mod poll_and_webhook;
mod predecessors;
mod robots;
mod routing;
mod silences;
mod stack;
mod teams_and_webhook;
mod tickets;
mod webhook_to_chat;
