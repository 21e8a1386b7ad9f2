//! Fault injection on a timeline, on real parts: the webhook-ingest and alarm-fanout handlers,
//! SQS and DynamoDB on moto (behind a proxy that can cut AWS off), an events queue with a real
//! redrive policy to its DLQ (5 receives), and four receivers that fail, time out or throttle.
//! The SQS side of Lambda is played by a loop that receives with a short visibility timeout,
//! sometimes hands the same batch to two invocations at once, and deletes what succeeded.
//! Every scenario asserts exactly-once per target after recovery, and that what could not be
//! delivered is in the DLQ and logged at ERROR.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::chaos::{Fault, Proxy, Receiver};
use crate::support::*;
use aws_sdk_sqs::types::QueueAttributeName;
use lambda_runtime::LambdaEvent;
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_aws::sqs::SqsQueue;
use opsbell_aws::testing::{emulator, unique};
use opsbell_core::config::Config;
use opsbell_core::event::Event;
use opsbell_core::fanout::Fanout;
use opsbell_core::http::RetryPolicy;
use opsbell_core::ingest::Ingest;
use opsbell_core::ports::SystemClock;
use opsbell_core::route::targets;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TARGETS: [&str; 4] = ["slack", "google_chat", "chatwork", "backlog"];

struct World {
    proxy: Proxy,
    /// Through the proxy: what the functions use.
    sqs: aws_sdk_sqs::Client,
    /// Straight to the emulator: what the test inspects with.
    direct: aws_sdk_sqs::Client,
    queue_url: String,
    dlq_url: String,
    ingest: Ingest,
    fanout: Fanout,
    config: Config,
    receivers: Vec<Receiver>,
    _servers: Vec<MockServer>,
}

impl World {
    /// `receivers` builds the four receivers (Slack, Google Chat, Chatwork, Backlog) knowing the
    /// proxy, so one can cut AWS off at the worst moment.
    /// `max_receives` is the events queue's receive limit before the DLQ. Production keeps the
    /// visibility timeout above a claim's lease (deadline + slack); this compressed timeline
    /// (1 s visibility, 5 s deadline, 1 s slack) needs the higher limit to keep that ratio.
    async fn start(max_receives: u32, receivers: impl FnOnce(&Proxy) -> [Receiver; 4]) -> World {
        captured_logs();
        let aws = emulator().await;
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
        let target = endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("AWS_ENDPOINT_URL is http://ip:port");
        let proxy = Proxy::start(target).await;
        let proxied = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(opsbell_aws::http::sdk_http_client())
            .endpoint_url(proxy.url())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(3))
                    .build(),
            )
            .load()
            .await;

        let direct = aws_sdk_sqs::Client::new(&aws);
        let dlq_url = create_queue(&direct, &unique("dlq"), None).await;
        let dlq_arn = direct
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        let redrive =
            json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string() });
        let queue_url = create_queue(&direct, &unique("events"), Some(redrive.to_string())).await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let table = unique("faults");
        DynamoStore::create_table(&dynamodb, &table).await.unwrap();

        let receivers = receivers(&proxy);
        let mut servers = Vec::new();
        for r in &receivers {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(r.clone())
                .mount(&server)
                .await;
            servers.push(server);
        }
        let config = json!({
            "language": "en",
            "webhook": {
                "orchestrator": { "secret": SECRET, "url": ORCHESTRATOR },
                "slack": { "incomming_webhook_url": format!("{}/services/T/B/x", servers[0].uri()) },
                "google_hangouts": { "incomming_webhook_url":
                    format!("{}/v1/spaces/AAA/messages?key=k&token=t", servers[1].uri()) },
                "chatwork": { "api_token": CHATWORK_TOKEN, "room_id": 42, "api_base": servers[2].uri() },
                "backlog": { "api_key": BACKLOG_KEY, "space_key": "acme", "base_url": servers[3].uri(),
                             "project_id": 1, "issue_type_id": 2 }
            }
        });
        let config = Config::load(&config.to_string(), &[]).unwrap();
        let sqs = aws_sdk_sqs::Client::new(&proxied);
        let ingest = Ingest::new(
            &config,
            Arc::new(SqsQueue::new(sqs.clone(), &queue_url)),
            Arc::new(SystemClock),
        )
        .unwrap();
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&proxied),
            &table,
        ));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(400))
            .build()
            .unwrap();
        let policy = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            margin: Duration::ZERO,
        };
        let fanout = fanout_over(&config, http.clone(), policy, store);
        let fanout = fanout.with_lease_slack(Duration::from_secs(1));
        World {
            proxy,
            sqs,
            direct,
            queue_url,
            dlq_url,
            ingest,
            fanout,
            config,
            receivers: receivers.to_vec(),
            _servers: servers,
        }
    }

    async fn webhook(&self, body: &[u8]) -> u16 {
        let sig = signature(body);
        ingest_via_gateway(&self.ingest, Format::HttpV2, body, Some(&sig))
            .await
            .0
    }

    /// Plays Lambda's SQS poller until the queue is empty (or `rounds` pass): receive (1 s
    /// visibility), invoke — every third batch twice at once, as at-least-once delivery may —
    /// and delete what the invocations did not report failed. AWS errors are waited out.
    async fn drain(&self, rounds: usize) {
        for round in 0..rounds {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(1)
                .send()
                .await;
            let messages = match received {
                Ok(out) => out.messages().to_vec(),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                // Empty for longer than the visibility timeout: nothing is in flight either.
                if self.in_queue().await == 0 {
                    tokio::time::sleep(Duration::from_millis(1200)).await;
                    if self.in_queue().await == 0 {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            }
            if std::env::var("FAULTS_DEBUG").is_ok() {
                eprintln!(
                    "round {round}: {} message(s) {:?}",
                    messages.len(),
                    messages
                        .iter()
                        .map(|m| m.message_id().unwrap_or_default().to_string())
                        .collect::<Vec<_>>()
                );
            }
            let event = sqs_event(&messages);
            let invoke =
                |e| alarm_fanout::handle(LambdaEvent::new(e, context_with(5)), &self.fanout);
            let mut failed = BTreeSet::new();
            let replies = if round % 3 == 0 {
                let (a, b) = tokio::join!(invoke(event.clone()), invoke(event));
                vec![a, b]
            } else {
                vec![invoke(event).await]
            };
            for reply in replies {
                for f in reply.unwrap().batch_item_failures {
                    failed.insert(f.item_identifier);
                }
            }
            for m in &messages {
                if !failed.contains(m.message_id().unwrap()) {
                    let _ = self
                        .sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(m.receipt_handle().unwrap())
                        .send()
                        .await;
                }
            }
        }
        panic!("the queue did not drain in {rounds} rounds");
    }

    async fn in_queue(&self) -> usize {
        let out = self
            .direct
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        out.attributes()
            .unwrap()
            .values()
            .map(|v| v.parse::<usize>().unwrap())
            .sum()
    }

    /// The events in the DLQ.
    async fn dead_letters(&self) -> Vec<Event> {
        queued_events(&self.direct, &self.dlq_url).await
    }

    /// Asserts that each receiver accepted each event routed to it exactly once (`except` the
    /// ones it refuses), by the rendered body of each.
    fn assert_exactly_once(&self, events: &[Event], except: &[(&str, &Event)]) {
        if std::env::var("FAULTS_DEBUG").is_ok() {
            let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_string();
            for line in logs
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            {
                eprintln!("{line}");
            }
        }
        for (name, receiver) in TARGETS.iter().zip(&self.receivers) {
            let expected = events
                .iter()
                .filter(|e| targets(&self.config.routes, e).contains(name))
                .filter(|e| !except.iter().any(|(n, x)| n == name && x.key == e.key))
                .count();
            let accepted = receiver.accepted();
            let distinct: BTreeSet<&Vec<u8>> = accepted.iter().collect();
            assert_eq!(
                distinct.len(),
                accepted.len(),
                "{name} accepted an event twice"
            );
            assert_eq!(
                accepted.len(),
                expected,
                "{name} accepted {} of {expected} events",
                accepted.len()
            );
        }
    }
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str, redrive: Option<String>) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    if let Some(policy) = redrive {
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    request.send().await.unwrap().queue_url.unwrap()
}

fn ok(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// The distinct events of every job sample (what the webhooks carry).
fn all_events() -> Vec<Event> {
    JOB_SAMPLES
        .iter()
        .flat_map(|s| events_of(&job_sample(s)))
        .collect()
}

fn logged_error_mentioning(needle: &str) -> bool {
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_string();
    logs.lines()
        .any(|l| l.contains("ERROR") && l.contains(needle))
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn receivers_failing_timing_out_and_throttling_with_duplicates_everywhere() {
    let stopped = events_of(&job_sample("stopped")).remove(0);
    let english = opsbell_core::render::RenderOptions {
        language: opsbell_core::config::Language::En,
        timezone: chrono_tz::UTC,
    };
    let summary = opsbell_core::render::backlog::render(&stopped, english).summary;
    let w = World::start(5, move |_| {
        [
            // Slack: down for its first five requests.
            Receiver::new(
                ResponseTemplate::new(200).set_body_string("ok"),
                vec![Fault::Status(503); 5],
            ),
            // Google Chat: throttles, then one time-out.
            Receiver::new(
                ok(200, json!({"name": "spaces/AAA/messages/1"})),
                vec![
                    Fault::Status(429),
                    Fault::Status(429),
                    Fault::Status(429),
                    Fault::Slow(Duration::from_secs(1)),
                ],
            ),
            // Chatwork: times out twice, then a 500.
            Receiver::new(
                ok(200, json!({"message_id": "1"})),
                vec![
                    Fault::Slow(Duration::from_secs(1)),
                    Fault::Slow(Duration::from_secs(1)),
                    Fault::Status(500),
                ],
            ),
            // Backlog: a 502, and it refuses the stopped job's ticket for good.
            Receiver::new(
                ok(201, json!({"issueKey": "OPS-1"})),
                vec![Fault::Status(502)],
            )
            .refusing(move |body| {
                let form: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(body).unwrap_or_default();
                form.iter().any(|(k, v)| k == "summary" && *v == summary)
            }),
        ]
    })
    .await;
    // Every webhook arrives twice (Orchestrator retries when it does not see a 2xx in time).
    for sample in JOB_SAMPLES {
        for _ in 0..2 {
            assert_eq!(w.webhook(&job_sample(sample)).await, 202);
        }
    }
    w.drain(200).await;

    let events = all_events();
    w.assert_exactly_once(&events, &[("backlog", &stopped)]);
    // The refused ticket: both copies of the message in the DLQ, and an ERROR naming backlog.
    let dead = w.dead_letters().await;
    for (name, r) in TARGETS.iter().zip(&w.receivers) {
        eprintln!(
            "{name}: {} requests, {} accepted",
            r.seen(),
            r.accepted().len()
        );
    }
    eprintln!("DLQ: {} message(s)", dead.len());
    assert_eq!(
        dead.len(),
        2,
        "both copies of the undeliverable event are in the DLQ"
    );
    assert!(
        dead.iter().all(|e| e.key == stopped.key),
        "only the refused event is dead: {:?}",
        dead.iter().map(|e| e.key.to_string()).collect::<Vec<_>>()
    );
    assert!(logged_error_mentioning("backlog"));
    assert!(
        w.receivers[3].seen() > 5,
        "the refusal was tried with each receive"
    );
    assert_no_secret_logged();
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn aws_outages_at_ingest_between_post_and_record_and_while_draining() {
    let w = World::start(20, |proxy| {
        let cut = proxy.clone();
        let once = Arc::new(std::sync::atomic::AtomicBool::new(false));
        [
            // The moment Slack accepts its first post, AWS goes away for 1.5 s: the delivery
            // cannot be recorded until it returns.
            Receiver::new(ResponseTemplate::new(200).set_body_string("ok"), vec![]).on_accept(
                move |_| {
                    if !once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                        cut.outage(Duration::from_millis(1500));
                    }
                },
            ),
            Receiver::new(ok(200, json!({"name": "spaces/AAA/messages/1"})), vec![]),
            Receiver::new(ok(200, json!({"message_id": "1"})), vec![]),
            Receiver::new(ok(201, json!({"issueKey": "OPS-1"})), vec![]),
        ]
    })
    .await;
    // AWS is down when the first webhook arrives: 503, nothing half-done; Orchestrator retries.
    w.proxy.down();
    let faulted = job_sample("faulted");
    assert_eq!(w.webhook(&faulted).await, 503);
    w.proxy.up();
    assert_eq!(w.webhook(&faulted).await, 202);
    w.drain(100).await;
    assert_eq!(w.receivers[0].accepted().len(), 1);

    // More jobs, each webhook twice; AWS drops out twice while they are delivered.
    for sample in ["completed", "stopped"] {
        for _ in 0..2 {
            assert_eq!(w.webhook(&job_sample(sample)).await, 202);
        }
    }
    let proxy = w.proxy.clone();
    let chaos = tokio::spawn(async move {
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            proxy.outage(Duration::from_millis(800));
            tokio::time::sleep(Duration::from_millis(800)).await;
        }
    });
    w.drain(200).await;
    chaos.await.unwrap();
    w.drain(50).await;

    let dead = w.dead_letters().await;
    assert!(
        dead.is_empty(),
        "given up: {:?}",
        dead.iter().map(|e| e.key.to_string()).collect::<Vec<_>>()
    );
    w.assert_exactly_once(&all_events(), &[]);
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).to_string();
    assert!(
        logs.contains("Could not record the delivery; trying again"),
        "the outage hit between a post and its record"
    );
    assert_no_secret_logged();
}
