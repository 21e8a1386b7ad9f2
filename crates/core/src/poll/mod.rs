//! Polling: the safety net for lost webhooks, and the only way to hear about KAMONOHASHI jobs.

pub mod orchestrator;
