//! Starting the built `opsbell serve` over real HTTP, and what its tests share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use opsbell_core::signature::sign;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::MockServer;

pub const SECRET: &str = "e2e-webhook-secret";
pub const SAMPLES: [&str; 5] = ["created", "started", "faulted", "completed", "stopped"];

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_opsbell")
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo(&format!("samplejson/uipath-webhook-job-{name}.json"))).unwrap()
}

pub fn signature(body: &[u8]) -> String {
    sign(&SecretString::from(SECRET), body)
}

pub fn write_config(dir: &Path, slack: &MockServer) -> PathBuf {
    let path = dir.join("config.json");
    let config = json!({
        "webhook": { "orchestrator": { "secret": SECRET } },
        "channels": { "ops-slack": { "type": "slack", "webhook_url": format!("{}/hook", slack.uri()) } }
    });
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

pub struct Serve {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Serve {
    pub async fn start(config: &Path, db: &Path) -> Serve {
        Serve::start_with(config, db, &[]).await
    }

    /// Starts `opsbell serve` on a port the system picks, and reads which from its log: a port
    /// picked here and handed over could be taken meanwhile by another run's server, which
    /// would then answer this test.
    pub async fn start_with(config: &Path, db: &Path, env: &[(&str, String)]) -> Serve {
        match Serve::start_on(config, db, "127.0.0.1:0", env).await {
            Ok(serve) => serve,
            Err(log) => panic!("opsbell serve did not start:\n{log}"),
        }
    }

    /// Starts `opsbell serve` on `listen`; its log when it stops before it listens.
    pub async fn start_on(
        config: &Path,
        db: &Path,
        listen: &str,
        env: &[(&str, String)],
    ) -> Result<Serve, String> {
        let log_path = db.with_extension("serve.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new(bin())
            .args(["serve", "--listen", listen])
            .arg("--config")
            .arg(config)
            .arg("--db")
            .arg(db)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        for _ in 0..300 {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let address = text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|l| {
                    l["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("opsbell listening"))
                })
                .and_then(|l| l["address"].as_str().map(str::to_string));
            if let Some(address) = address {
                return Ok(Serve {
                    child,
                    base: format!("http://{address}"),
                    http: reqwest::Client::new(),
                });
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(std::fs::read_to_string(&log_path).unwrap_or_default())
    }

    pub async fn post(&self, body: &[u8], signature: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/webhook/orchestrator", self.base))
            .body(body.to_vec());
        if let Some(sig) = signature {
            request = request.header("X-UiPath-Signature", sig);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn health(&self) -> Value {
        self.http
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_for_requests(
    server: &MockServer,
    n: usize,
    within: Duration,
) -> Vec<wiremock::Request> {
    let until = std::time::Instant::now() + within;
    loop {
        let received = server.received_requests().await.unwrap();
        if received.len() >= n || std::time::Instant::now() > until {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
