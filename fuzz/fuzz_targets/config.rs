//! Configuration files (the predecessor's shape and ours) with environment overrides.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let env = [("OPSBELL__LANGUAGE".to_string(), "ja".to_string())];
        let _ = opsbell_core::config::Config::load(text, &env);
    }
});
