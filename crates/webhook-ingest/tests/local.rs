//! `webhook-ingest --event FILE`: the real binary, without the Lambda runtime, handles one signed
//! API Gateway event from a file and queues it in SQS (moto).

use std::process::Command;

use opsbell_aws::testing::{emulator, unique};
use serde_json::{Value, json};

const SECRET: &str = "local-invoke-secret";

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_binary_handles_one_event_from_a_file() {
    let aws = emulator().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let queue = sqs
        .create_queue()
        .queue_name(unique("local"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samplejson");
    let body = std::fs::read_to_string(format!("{root}/uipath-webhook-job-faulted.json")).unwrap();
    let signature =
        opsbell_core::signature::sign(&secrecy::SecretString::from(SECRET), body.as_bytes());
    let mut event: Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{root}/apigateway-http-v2-event-iam-with-body.json"
        ))
        .unwrap(),
    )
    .unwrap();
    event["headers"] =
        json!({ "content-type": "application/json", "x-uipath-signature": signature });
    event["requestContext"]["http"]["method"] = json!("POST");
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(false);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
    let config = json!({ "webhook": { "orchestrator": { "secret": SECRET } } });
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    let run = |file: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_webhook-ingest"))
            .args(["--event", file])
            .current_dir(dir.path())
            .env("EVENTS_QUEUE_URL", &queue)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        (
            out.status.success(),
            stdout,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };

    let (ok, stdout, stderr) = run("event.json");
    assert!(ok, "{stdout}\n{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let received = sqs
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 1);
    assert!(!stderr.contains(SECRET));

    let (ok, _, stderr) = run("missing.json");
    assert!(!ok);
    assert!(stderr.contains("missing.json"), "{stderr}");
}
