//! Shared wiremock checks every HTTP adapter must pass: 2xx, 4xx, 429, 5xx, 501, timeout, and
//! no secret in any error text.

use std::time::Duration;

use chrono::DateTime;
use tokio::time::Instant;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use std::sync::Arc;

use super::AdapterContext;
use crate::event::Event;
use crate::http::RetryPolicy;
use crate::locale::Language;
use crate::ports::{Notifier, NotifyError};
use crate::render::RenderOptions;
use crate::source::Inbound;
use crate::source::uipath::{UipathContext, parse_webhook};

pub(crate) struct Kit {
    pub server: MockServer,
    /// Where adapters under test send; the server's URI unless a test points it elsewhere.
    pub base: String,
    pub event: Event,
    /// The records adapters that keep state (the Chat bot's spaces) use.
    pub records: Arc<crate::testing::MemoryRecords>,
}

impl Kit {
    pub async fn start() -> Kit {
        let path = format!(
            "{}/../../samplejson/uipath-webhook-job-faulted.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(path).unwrap();
        let ctx = UipathContext {
            orchestrator_url: None,
            received_at: DateTime::UNIX_EPOCH,
            tenant: None,
        };
        let Inbound::Events(mut events) = parse_webhook(&body, &ctx).unwrap() else {
            panic!()
        };
        let server = MockServer::start().await;
        Kit {
            base: server.uri(),
            server,
            event: events.remove(0),
            records: Arc::default(),
        }
    }

    pub fn ctx(&self, name: &str) -> AdapterContext {
        AdapterContext {
            name: name.into(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(300))
                .build()
                .unwrap(),
            policy: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(20),
                margin: Duration::ZERO,
            },
            render: RenderOptions {
                language: Language::En,
                timezone: chrono_tz::UTC,
            },
        }
    }

    pub fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs(30)
    }
}

async fn run(
    make: &impl Fn(&Kit) -> Arc<dyn Notifier>,
    responses: Vec<ResponseTemplate>,
) -> (Result<u32, NotifyError>, usize) {
    let kit = Kit::start().await;
    let n = responses.len();
    for (i, r) in responses.into_iter().enumerate() {
        let mock = Mock::given(any()).respond_with(r);
        let mock = if i + 1 < n {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.with_priority(u8::try_from(i + 1).unwrap())
            .mount(&kit.server)
            .await;
    }
    let result = make(&kit)
        .notify(&kit.event, kit.deadline())
        .await
        .map(|r| r.attempts);
    let received = kit.server.received_requests().await.unwrap().len();
    (result, received)
}

pub(crate) async fn status_matrix(make: impl Fn(&Kit) -> Arc<dyn Notifier>, secrets: &[&str]) {
    let ok = |s| ResponseTemplate::new(s).set_body_string("{}");
    assert_eq!(run(&make, vec![ok(200)]).await, (Ok(1), 1), "200");
    assert_eq!(run(&make, vec![ok(201)]).await, (Ok(1), 1), "201");
    let slow = ResponseTemplate::new(429).insert_header("Retry-After", "0");
    assert_eq!(
        run(&make, vec![slow, ok(200)]).await,
        (Ok(2), 2),
        "429 then 200"
    );
    assert_eq!(
        run(&make, vec![ok(503), ok(200)]).await,
        (Ok(2), 2),
        "503 then 200"
    );

    let mut errors = Vec::new();
    for status in [400, 403, 404, 410, 501] {
        let (result, received) = run(&make, vec![ok(status)]).await;
        let err = result.unwrap_err();
        assert!(
            !err.is_retryable() && received == 1,
            "HTTP {status}: {err:?}"
        );
        errors.push(err);
    }
    for status in [408, 429, 500, 502] {
        let (result, received) = run(&make, vec![ok(status)]).await;
        let err = result.unwrap_err();
        assert!(
            err.is_retryable() && received == 3,
            "HTTP {status}: {err:?} after {received}"
        );
        errors.push(err);
    }
    let (result, _) = run(&make, vec![ok(200).set_delay(Duration::from_secs(2))]).await;
    let err = result.unwrap_err();
    assert!(err.is_retryable(), "timeout: {err:?}");
    errors.push(err);

    // Connection refused: the URL (with its secrets) must not leak into the error either.
    let mut kit = Kit::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    kit.base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let notifier = make(&kit);
    let err = notifier
        .notify(&kit.event, Instant::now() + Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "refused: {err:?}");
    errors.push(err);

    for err in &errors {
        let text = format!("{err} {err:?}");
        for secret in secrets {
            assert!(!text.contains(secret), "secret {secret:?} leaked: {text}");
        }
    }
}

/// The vendor refuses the rich message with `refusal` and takes the plain one (`plain` tells
/// them apart by body): through the fan-out's send stage, the event is delivered as plain
/// text, after exactly two posts.
pub(crate) async fn refused_rich_then_plain(
    make: impl Fn(&Kit) -> Arc<dyn Notifier>,
    refusal: ResponseTemplate,
    plain: fn(&[u8]) -> bool,
) {
    use crate::fanout::{Destination, Fanout, TargetOutcome};
    use crate::route::Route;
    let kit = Kit::start().await;
    Mock::given(move |r: &wiremock::Request| plain(&r.body))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .with_priority(1)
        .mount(&kit.server)
        .await;
    Mock::given(any())
        .respond_with(refusal)
        .with_priority(2)
        .mount(&kit.server)
        .await;
    let destinations = [("x".to_string(), Destination::Notifier(make(&kit)))].into();
    let routes = vec![Route::to("x", vec![kit.event.state])];
    let fanout = Fanout::new(
        destinations,
        routes,
        Arc::new(crate::testing::MemoryStore::default()),
        Arc::new(crate::testing::MemoryRecords::default()),
        Arc::new(crate::ports::SystemClock),
    );
    let report = fanout.deliver(&kit.event, kit.deadline()).await;
    let requests = kit.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "the rich message, then the plain one");
    assert!(!plain(&requests[0].body) && plain(&requests[1].body));
    match &report.targets[0].1 {
        TargetOutcome::Delivered { detail, .. } => {
            assert!(
                detail.starts_with("as plain text (rejected with HTTP 400"),
                "{detail}"
            );
        }
        other => panic!("not delivered: {other:?}"),
    }
}
