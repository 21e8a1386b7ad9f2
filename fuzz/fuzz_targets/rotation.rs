//! On-call rotation files (`phoneNumber.json`, both formats).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = opsbell_core::oncall::rotation::Rotation::parse("phoneNumber.json", data);
});
