//! Orchestrator webhook bodies: signature check, then the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsbell_core::source::uipath::{UipathContext, parse_webhook};

fuzz_target!(|data: &[u8]| {
    let secret = secrecy::SecretString::from("fuzz-secret");
    let signature = opsbell_core::signature::sign(&secret, data);
    let _ = opsbell_core::signature::verify(&[secret], Some(&signature), data);
    let ctx = UipathContext {
        orchestrator_url: Some("https://cloud.uipath.com/acme/DefaultTenant".into()),
        received_at: chrono::DateTime::UNIX_EPOCH,
    };
    let _ = parse_webhook(data, &ctx);
});
