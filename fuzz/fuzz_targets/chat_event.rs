//! Google Chat interaction events.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = opsbell_core::chat::listener::parse_event(data);
});
