//! Fan-out of one alarm to 200 Google Chat spaces behind a Chat API that answers in 50 ms
//! (wiremock), through the real fan-out: registry listing, a delivery-log claim and record per
//! space, the token grant, the posts. The ideal at concurrency c is 200 / c × 50 ms.
//! Run: `cargo bench -p opsbell-core --bench chat_fanout`. Prints numbers; asserts nothing.

use std::sync::Arc;
use std::time::Duration;

use opsbell_core::config::Config;
use opsbell_core::fanout::TargetOutcome;
use opsbell_core::http::RetryPolicy;
use opsbell_core::ports::{Records, SystemClock};
use opsbell_core::source::Inbound;
use opsbell_core::source::cloudwatch::parse_sns;
use opsbell_core::testing::{MemoryRecords, MemoryStore, service_account_key};
use serde_json::{Value, json};
use tokio::time::Instant;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPACES: usize = 200;
const LATENCY: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() {
    let google = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "t", "expires_in": 3599})),
        )
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/v1/spaces/[A-Za-z0-9]+/messages$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(LATENCY)
                .set_body_json(json!({"name": "spaces/x/messages/y"})),
        )
        .mount(&google)
        .await;
    let sample: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../samplejson/sns-cloudwatch-alarm-single-metric-lambda-event.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let Ok(Inbound::Events(events)) = parse_sns(&sample["Records"][0]["Sns"], chrono::Utc::now())
    else {
        panic!("the sample parses")
    };
    println!(
        "{SPACES} spaces, Chat API latency {} ms",
        LATENCY.as_millis()
    );
    println!("concurrency  fan-out     ideal      ratio");
    for concurrency in [1, 4, 8, 16, 32] {
        let records = Arc::new(MemoryRecords::default());
        for i in 0..SPACES {
            records
                .put_record(
                    "SPACE#opsbell",
                    &format!("spaces/S{i:04}"),
                    &json!({}),
                    None,
                )
                .await
                .unwrap();
        }
        let config = json!({
            "channels": { "bot": {
                "type": "google_chat_bot",
                "service_account_key": service_account_key(&format!("{}/token", google.uri())),
                "api_base": google.uri(),
                "concurrency": concurrency,
            }},
        });
        let config = Config::load(&config.to_string(), &[]).unwrap();
        let fanout = opsbell_core::build::fanout(
            &config,
            &opsbell_core::build::Deps {
                http: opsbell_core::http::client(),
                policy: RetryPolicy::default(),
                log: Arc::new(MemoryStore::default()),
                records,
                clock: Arc::new(SystemClock),
                escalations: None,
                queue: None,
            },
        );
        let started = Instant::now();
        let report = fanout
            .deliver(&events[0], Instant::now() + Duration::from_secs(120))
            .await;
        let took = started.elapsed();
        assert!(
            matches!(report.targets[0].1, TargetOutcome::Delivered { .. }),
            "{report:?}"
        );
        let ideal = LATENCY * u32::try_from(SPACES.div_ceil(concurrency)).unwrap();
        println!(
            "{concurrency:>11}  {:>7.0} ms  {:>6.0} ms  {:>6.2}",
            took.as_secs_f64() * 1000.0,
            ideal.as_secs_f64() * 1000.0,
            took.as_secs_f64() / ideal.as_secs_f64()
        );
    }
}
