//! The flood benchmark (`scripts/bench-flood.sh`): 500 jobs fault within 10 s into
//! `opsbell serve` (its release binary, default flood control: five posts, then one digest per
//! 60 s window), and Slack takes one message a second, answering 429 with `Retry-After` beyond.
//! Prints what Slack received, how often it refused, when the last job became visible, and
//! whether every job was posted or counted. Numbers, not a test.

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

#[path = "../tests/support/flood.rs"]
mod flood;

const SECRET: &str = "bench-secret";
const JOBS: usize = 500;

#[tokio::main]
async fn main() {
    let bin = std::env::var("OPSBELL_BIN").unwrap_or_else(|_| "target/release/opsbell".into());
    let slack: &'static flood::OnePerSecond = Box::leak(Box::default());
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(slack)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let text = json!({
        "webhook": { "orchestrator": { "secret": SECRET } },
        "channels": { "ops": { "type": "slack", "webhook_url": format!("{}/hook", server.uri()) } }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let log = dir.path().join("serve.log");
    let mut child = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(dir.path().join("bench.db"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("run scripts/bench-flood.sh, which builds the release binary");
    let mut address = None;
    for _ in 0..100 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        address = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| {
                l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("opsbell listening"))
            })
            .and_then(|l| l["address"].as_str().map(str::to_string));
        if address.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!(
        "http://{}/webhook/orchestrator",
        address.expect("serve started")
    );
    let sample = std::fs::read("samplejson/uipath-webhook-job-faulted.json").unwrap();
    let http = reqwest::Client::new();
    let started = Instant::now();
    // 50 a second for 10 seconds.
    for second in 0..10 {
        let mut posts = tokio::task::JoinSet::new();
        for n in second * 50..(second + 1) * 50 {
            let body = flood::faulted_job(&sample, n);
            let sig = opsbell_core::signature::sign(&SecretString::from(SECRET), &body);
            let sent = http
                .post(&url)
                .header("X-UiPath-Signature", sig)
                .body(body)
                .send();
            posts.spawn(async move { sent.await.map(|r| r.status().as_u16()) });
        }
        while let Some(status) = posts.join_next().await {
            assert_eq!(status.unwrap().unwrap(), 202);
        }
        tokio::time::sleep_until((started + Duration::from_secs(second as u64 + 1)).into()).await;
    }
    let posted = started.elapsed();
    while slack.jobs() < JOBS && started.elapsed() < Duration::from_secs(180) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let visible = slack.last_at().map(|t| t - started).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    println!("flood benchmark: {JOBS} faulted jobs posted to opsbell serve in {posted:.1?}");
    println!("  Slack messages received      {}", slack.messages());
    println!("  of which digests             {}", slack.digests());
    println!(
        "  429s answered                {}",
        slack.throttled.load(Ordering::SeqCst)
    );
    println!("  last job visible after       {visible:.1?}");
    println!(
        "  every job counted            {} ({} of {JOBS})",
        if slack.jobs() == JOBS { "yes" } else { "NO" },
        slack.jobs()
    );
}
