//! The Google Chat bot: request verification and the listener (space registry, commands).

pub mod listener;
pub mod verify;
