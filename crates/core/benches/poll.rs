//! Time to normalize and deduplicate 10,000 polled Orchestrator jobs: parse an OData page,
//! build events with their keys, and drop keys already seen (as the delivery log would).
//! Run: `cargo bench -p opsbell-core --bench poll`. Prints numbers; asserts nothing.

use std::collections::HashSet;
use std::time::Instant;

use chrono::Utc;
use opsbell_core::poll::orchestrator::normalize;
use opsbell_core::source::uipath::{Job, UipathContext};
use serde_json::json;

fn page(n: usize) -> String {
    let value: Vec<_> = (0..n)
        .map(|i| {
            let state = ["Faulted", "Successful", "Stopped"][i % 3];
            json!({
                "Id": 1_000_000 + i, "Key": format!("9cc6c2e4-237d-42f6-8cb8-{:012x}", i),
                "State": state,
                "StartTime": "2026-11-23T01:00:00.123Z", "EndTime": "2026-11-23T01:10:26.2529616Z",
                "ReleaseName": "Invoice_Production", "HostMachineName": "PC-DOC",
                "Info": "Job completed", "InputArguments": "{\"a\":1}", "OutputArguments": null,
                "Source": "Manual", "SourceType": "Manual", "Type": "Unattended"
            })
        })
        .collect();
    json!({ "@odata.count": n, "value": value }).to_string()
}

#[derive(serde::Deserialize)]
struct ODataPage {
    value: Vec<Job>,
}

fn main() {
    let n = 10_000;
    let body = page(n);
    let ctx = UipathContext {
        orchestrator_url: Some("https://cloud.uipath.com/acme/Default".into()),
        received_at: Utc::now(),
        tenant: None,
    };
    let mut best = f64::MAX;
    for round in 0..10 {
        let started = Instant::now();
        let jobs: ODataPage = serde_json::from_str(&body).unwrap();
        let events = normalize(&jobs.value, 1, &ctx);
        let mut seen = HashSet::with_capacity(n);
        let fresh = events
            .iter()
            .filter(|e| seen.insert(e.key.as_str()))
            .count();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(fresh, n);
        best = best.min(ms);
        if round == 0 {
            println!("page: {} KB, {n} jobs", body.len() / 1024);
        }
    }
    println!(
        "normalize + dedup {n} polled jobs: best of 10 = {best:.1} ms ({:.2} µs/job)",
        best * 1000.0 / n as f64
    );
}
