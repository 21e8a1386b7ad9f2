//! The AWS adapters against moto, through the real SDK.

use chrono::{Duration, Utc};
use opsbell_aws::dynamodb::{DynamoStore, TTL_ATTRIBUTE};
use opsbell_aws::sqs::SqsQueue;
use opsbell_aws::testing::{emulator, unique};
use opsbell_core::event::{Event, Source, State};
use opsbell_core::ports::Queue;

fn event(subject: &str) -> Event {
    let mut event = Event::new(
        Source::Uipath,
        "",
        subject,
        State::Faulted,
        "FailingJob",
        Utc::now(),
    );
    event.machine = Some("PC-DOC".into());
    event.info = Some("x".repeat(20_000));
    event
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn delivery_log_claims_once_and_expires_by_ttl() {
    let config = emulator().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("opsbell-state");
    DynamoStore::create_table(&client, &table).await.unwrap();
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(TTL_ATTRIBUTE));

    let store = DynamoStore::new(client.clone(), &table);
    let (key, last_claim) = opsbell_core::contract::delivery_log(&store, "job-a").await;

    let item = client
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("DELIVERY#{key}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("slack".into()),
        )
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    let expires: i64 = item[TTL_ATTRIBUTE].as_n().unwrap().parse().unwrap();
    assert!(
        (expires - (last_claim + Duration::days(14)).timestamp()).abs() < 5,
        "TTL follows the last claim"
    );
    assert!(!item.contains_key("lease_until"));
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn queue_sends_events_in_batches() {
    let config = emulator().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let name = unique("opsbell-events");
    let url = client
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue = SqsQueue::new(client.clone(), &url);
    // 25 events of ~20 KB: more than one batch by count and by size.
    let events: Vec<Event> = (0..25).map(|i| event(&format!("job-{i}"))).collect();
    queue.enqueue(&events).await.unwrap();

    let mut received = Vec::new();
    for _ in 0..10 {
        let out = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = out.messages();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let e: Event = serde_json::from_str(m.body().unwrap()).unwrap();
            received.push(e.key.to_string());
            client
                .delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    received.sort();
    let mut expected: Vec<String> = events.iter().map(|e| e.key.to_string()).collect();
    expected.sort();
    assert_eq!(received, expected);
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn queue_failure_is_an_error() {
    let config = emulator().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue = SqsQueue::new(client, "http://localhost/000000000000/no-such-queue");
    assert!(queue.enqueue(&[event("j")]).await.is_err());
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn records_honour_the_contract() {
    let config = emulator().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("opsbell-records");
    DynamoStore::create_table(&client, &table).await.unwrap();
    opsbell_core::contract::records(&DynamoStore::new(client, &table), "WATERMARK").await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn secret_references_resolve_through_ssm_and_secrets_manager_and_are_never_logged() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use opsbell_aws::secrets::AwsSecrets;
    use opsbell_core::config::{Channel, Config, secrets};
    use secrecy::ExposeSecret;

    let aws = emulator().await;
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || Buf(sink.clone()))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let name = format!("/opsbell/test/{}", unique("secret"));
    aws_sdk_ssm::Client::new(&aws)
        .put_parameter()
        .name(&name)
        .value("orchestrator-s3cr3t-value")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let secret_id = unique("slack-hook");
    aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(&secret_id)
        .secret_string("https://hooks.slack.test/services/T0/B0/s3cr3t-path")
        .send()
        .await
        .unwrap();

    let text = serde_json::json!({
        "webhook": { "orchestrator": { "secret": format!("ssm:{name}") } },
        "channels": { "ops": { "type": "slack", "webhook_url": format!("secretsmanager:{secret_id}") } }
    })
    .to_string();
    assert!(
        Config::load(&text, &[]).is_err(),
        "unresolved references are problems"
    );
    let mut value = Config::raw(&text, &[]).unwrap();
    assert_eq!(
        secrets::resolve(&mut value, &AwsSecrets::from_config(&aws))
            .await
            .unwrap(),
        2
    );
    let config = Config::from_value(value).unwrap();
    assert_eq!(
        config.orchestrator.secrets[0].expose_secret(),
        "orchestrator-s3cr3t-value"
    );
    let Channel::Slack(slack) = &config.channels["ops"] else {
        panic!()
    };
    assert_eq!(
        slack.webhook_url.expose_secret(),
        "https://hooks.slack.test/services/T0/B0/s3cr3t-path"
    );

    let missing = Config::raw(
        r#"{"webhook":{"orchestrator":{"secret":"ssm:/opsbell/none"}}}"#,
        &[],
    )
    .unwrap();
    let mut missing = missing;
    let err = secrets::resolve(&mut missing, &AwsSecrets::from_config(&aws))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ssm:/opsbell/none"), "{err}");

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Secret resolved."), "{logs}");
    assert!(!logs.contains("s3cr3t"), "a secret was logged: {logs}");
}

/// Every SDK request goes through opsbell's HTTP client (`opsbell_aws::http`), after it was
/// signed. A moto with IAM access control (scripts/stack-up.sh) recomputes each request's SigV4
/// signature with botocore's signer and refuses a mismatch, as AWS would: the DynamoDB, SQS and
/// SSM calls the functions make pass, and a wrong secret is refused, so the check is on.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn every_request_carries_a_signature_aws_accepts() {
    use aws_sdk_dynamodb::config::{Credentials, Region};
    use opsbell_core::ports::{Reference, Resolver};

    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test.sh"))
    };
    let (url, key) = (
        var("OPSBELL_SIGNED_MOTO_URL"),
        var("OPSBELL_SIGNED_MOTO_KEY"),
    );
    let config = |secret: String| {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(opsbell_aws::http::sdk_http_client())
            .endpoint_url(&url)
            .region(Region::new("ap-northeast-1"))
            .credentials_provider(Credentials::new(&key, secret, None, None, "test"))
            .load()
    };
    let forged = config("not-the-secret".into()).await;
    let refused = aws_sdk_sqs::Client::new(&forged).list_queues().send().await;
    assert!(refused.is_err(), "a wrong signature is refused");

    let config = config(var("OPSBELL_SIGNED_MOTO_SECRET")).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("opsbell-signed");
    DynamoStore::create_table(&dynamodb, &table).await.unwrap();
    let store = DynamoStore::new(dynamodb, &table);
    opsbell_core::contract::delivery_log(&store, "signed").await;

    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = unique("opsbell-signed");
    let url = sqs.create_queue().queue_name(&name).send().await.unwrap();
    let queue = SqsQueue::new(sqs, url.queue_url().unwrap());
    queue
        .enqueue(&[event("signed-a"), event("signed-b")])
        .await
        .unwrap();

    let ssm = aws_sdk_ssm::Client::new(&config);
    let parameter = format!("/{}", unique("opsbell-signed"));
    ssm.put_parameter()
        .name(&parameter)
        .value("s3cret")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let secrets = opsbell_aws::secrets::AwsSecrets::from_config(&config);
    let value = secrets.resolve(&Reference::Ssm(parameter)).await.unwrap();
    assert_eq!(value, "s3cret");
}
