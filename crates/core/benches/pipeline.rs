//! The per-event work of the webhook path, on the job.faulted sample: HMAC verification, parsing
//! and normalizing, routing, and rendering for each kind of destination — separately and as one
//! pass (what `webhook-ingest` + `alarm-fanout` spend in CPU per event, without I/O).
//! Run: `cargo bench -p opsbell-core --bench pipeline`.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opsbell_core::config::Config;
use opsbell_core::render::{backlog, chatwork, google_chat, slack};
use opsbell_core::route::targets;
use opsbell_core::signature::{sign, verify};
use opsbell_core::source::Inbound;
use opsbell_core::source::uipath::{UipathContext, parse_webhook};
use secrecy::SecretString;

fn config() -> Config {
    let config = serde_json::json!({
        "language": "ja",
        "timezone": "Asia/Tokyo",
        "webhook": { "orchestrator": { "secret": "bench-secret", "url": "https://cloud.uipath.com/acme/DefaultTenant" } },
        "channels": {
            "slack": { "type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/x" },
            "chat": { "type": "google_chat", "webhook_url": "https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t" },
            "chatwork": { "type": "chatwork", "api_token": "t", "room_id": 1 },
            "backlog": { "type": "backlog", "api_key": "k", "space_key": "acme", "project_id": 1, "issue_type_id": 2 }
        }
    });
    Config::load(&config.to_string(), &[]).unwrap()
}

fn pipeline(c: &mut Criterion) {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samplejson/uipath-webhook-job-faulted.json"
    ))
    .unwrap();
    let secrets = [SecretString::from("bench-secret")];
    let signature = sign(&secrets[0], &body);
    let config = config();
    let opts = config.render_options();
    let ctx = UipathContext {
        orchestrator_url: config.orchestrator.url.clone(),
        received_at: Utc::now(),
        tenant: None,
    };
    let Ok(Inbound::Events(events)) = parse_webhook(&body, &ctx) else {
        panic!("the sample parses")
    };
    let event = &events[0];

    let mut group = c.benchmark_group("job.faulted");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify", |b| {
        b.iter(|| verify(&secrets, Some(black_box(&signature)), black_box(&body)))
    });
    group.bench_function("parse", |b| {
        b.iter(|| parse_webhook(black_box(&body), &ctx))
    });
    group.bench_function("route", |b| {
        b.iter(|| targets(&config.routes, black_box(event)).len())
    });
    group.bench_function("render slack", |b| {
        b.iter(|| slack::render(black_box(event), opts))
    });
    group.bench_function("render google_chat", |b| {
        b.iter(|| google_chat::render(black_box(event), opts))
    });
    group.bench_function("render chatwork", |b| {
        b.iter(|| chatwork::render(black_box(event), opts))
    });
    group.bench_function("render backlog", |b| {
        b.iter(|| backlog::render(black_box(event), opts))
    });
    group.bench_function("verify+parse+route+render all", |b| {
        b.iter(|| {
            verify(&secrets, Some(&signature), black_box(&body)).unwrap();
            let Ok(Inbound::Events(events)) = parse_webhook(black_box(&body), &ctx) else {
                unreachable!()
            };
            let mut bytes = 0;
            for event in &events {
                for name in targets(&config.routes, event) {
                    bytes += match name {
                        "slack" => serde_json::to_string(&slack::render(event, opts))
                            .unwrap()
                            .len(),
                        "chat" => google_chat::render(event, opts).to_string().len(),
                        "chatwork" => chatwork::render(event, opts).len(),
                        _ => backlog::render(event, opts).description.len(),
                    };
                }
            }
            bytes
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
