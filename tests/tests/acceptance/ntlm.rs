//! Windows authentication against a real NTLM acceptor (pyspnego, started by these tests with
//! the interpreter `scripts/test.sh` names in `OPSBELL_PYTHON`) in front of the fake
//! Orchestrator: both user-name forms, a wrong password, and a whole poll to the chat targets.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::*;
use lambda_runtime::Context;
use opsbell_core::client::orchestrator::{OrchestratorClient, OrchestratorError};
use opsbell_core::config::{Config, OrchestratorAuth, OrchestratorSource};
use opsbell_core::http::RetryPolicy;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "ntlm-secret-password";

/// The acceptor, stopped when dropped.
struct Acceptor {
    child: Child,
    url: String,
    _users: tempfile::NamedTempFile,
}

impl Acceptor {
    /// An acceptor knowing `CORP\robot` and `robot@corp.example.com`, forwarding to `upstream`.
    fn start(upstream: &str) -> Acceptor {
        let python = std::env::var("OPSBELL_PYTHON")
            .expect("OPSBELL_PYTHON names the interpreter with pyspnego: run scripts/test.sh");
        let users = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            users.path(),
            format!("CORP:robot:{PASSWORD}\n:robot@corp.example.com:{PASSWORD}\n"),
        )
        .unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/ntlm-acceptor.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg("--users")
            .arg(users.path())
            .args(["--upstream", upstream])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!("the acceptor did not start: {line:?}");
            });
        Acceptor {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _users: users,
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn source(url: &str, username: &str, password: &str) -> OrchestratorSource {
    let config = json!({"sources": {"orchestrator": [{
        "name": "iis", "url": url, "api_key": "ntlm-secret-api-key",
        "auth": {"type": "ntlm", "username": username, "password": password}
    }]}});
    let mut config = Config::load(&config.to_string(), &[]).unwrap();
    config.orchestrators.remove(0)
}

/// A fake Orchestrator that answers only what the acceptor let through as `user`.
async fn orchestrator_for(user: &str) -> MockServer {
    let orchestrator = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/odata/Folders"))
        .and(query_param("api_key", "ntlm-secret-api-key"))
        .and(header("x-authenticated-user", user))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [{"Id": 3}, {"Id": 4}]})),
        )
        .mount(&orchestrator)
        .await;
    orchestrator
}

fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(30)
}

#[tokio::test]
#[ignore = "needs the AWS emulator and the NTLM acceptor: run scripts/test.sh"]
async fn both_user_name_forms_log_in_through_a_real_ntlm_acceptor() {
    for (username, principal) in [
        ("CORP\\robot", "CORP\\robot"),
        ("robot@corp.example.com", "robot@corp.example.com"),
    ] {
        let orchestrator = orchestrator_for(principal).await;
        let acceptor = Acceptor::start(&orchestrator.uri());
        let client = OrchestratorClient::new(
            source(&acceptor.url, username, PASSWORD),
            opsbell_core::http::client(),
            RetryPolicy::default(),
        );
        // Twice: each request makes its own handshake.
        for _ in 0..2 {
            let folders = client.folders(deadline()).await;
            assert_eq!(folders.unwrap(), [3, 4], "{username}");
        }
        assert_eq!(
            orchestrator.received_requests().await.unwrap().len(),
            2,
            "{username}"
        );
    }
}

#[tokio::test]
#[ignore = "needs the AWS emulator and the NTLM acceptor: run scripts/test.sh"]
async fn a_wrong_password_is_a_clear_error_without_the_secret() {
    let orchestrator = orchestrator_for("CORP\\robot").await;
    let acceptor = Acceptor::start(&orchestrator.uri());
    let client = OrchestratorClient::new(
        source(&acceptor.url, "CORP\\robot", "not-the-ntlm-password"),
        opsbell_core::http::client(),
        RetryPolicy::default(),
    );
    let err = client.folders(deadline()).await.unwrap_err();
    assert!(matches!(err, OrchestratorError::Auth(_)), "{err:?}");
    let text = err.to_string();
    assert_eq!(
        text,
        "authentication failed: Windows authentication as CORP\\robot was refused \
         (wrong user name, domain or password?)"
    );
    for secret in ["not-the-ntlm-password", "ntlm-secret-api-key"] {
        assert!(!text.contains(secret) && !format!("{err:?}").contains(secret));
    }
    assert!(orchestrator.received_requests().await.unwrap().is_empty());
}

/// The predecessor's own scheduled config with `ntlm_authentication: "True"`: a whole poll through
/// the acceptor, queued on SQS, fanned out to its Slack target.
#[tokio::test]
#[ignore = "needs the AWS emulator and the NTLM acceptor: run scripts/test.sh"]
async fn a_predecessor_config_with_ntlm_polls_through_the_acceptor() {
    captured_logs();
    let orchestrator = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/odata/Folders"))
        .and(header("x-authenticated-user", "CORP\\robot"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"Id": 3}]})))
        .mount(&orchestrator)
        .await;
    Mock::given(method("GET"))
        .and(path("/odata/Jobs"))
        .and(header("x-authenticated-user", "CORP\\robot"))
        .and(header("x-uipath-organizationunitid", "3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.count": 1,
            "value": [{
                "Id": 9001, "Key": "5ab6c2e4-237d-42f6-8cb8-43010652fb99", "State": "Faulted",
                "StartTime": "2026-12-01T03:00:00Z", "EndTime": "2026-12-01T03:00:09Z",
                "ReleaseName": "PayrollRobot", "HostMachineName": "VM-7", "Info": "Timeout"
            }]
        })))
        .mount(&orchestrator)
        .await;
    let acceptor = Acceptor::start(&orchestrator.uri());
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let file = json!({
        "language": "en",
        "timezone": "UTC",
        "scheduled": {
            "orchestrator": {"url": acceptor.url, "tenancy_name": "", "username": "CORP\\robot",
                "password": PASSWORD, "api_key": "", "ntlm_authentication": "True"},
            "slack": {"incomming_webhook_url": format!("{}{SLACK_PATH}", slack.uri()),
                "interval": 5, "schedule": "rate(5 minutes)"}
        }
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    assert!(matches!(
        config.orchestrators[0].auth,
        OrchestratorAuth::Ntlm { .. }
    ));

    let world = Deployment::start().await;
    let pollers = world.pollers(&config);
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
    let polled = job_poller::handle(lambda_event(json!({}), context), &pollers).await;
    assert_eq!(answer_json(polled.unwrap())["polled"][0]["jobs"], 1);

    assert_eq!(world.fan_out(&config).await, 1);
    let bodies = json_bodies(&slack).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["text"], "🔴 PayrollRobot faulted");
    assert_no_secret_logged();
}
