//! Topic → message mapping files (`mapping.json`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = opsbell_core::oncall::mapping::Mapping::parse("mapping.json", data);
});
