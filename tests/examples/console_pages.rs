//! The console's page times with a full history: 100,000 events over the 14 days the history
//! keeps, in SQLite (as `opsbell serve` keeps them) and in DynamoDB on moto (as the `console`
//! Lambda reads them), then the Now and History pages rendered over each store through the
//! same `Console::handle` both hosts call: p50 and p99 of each. A measurement, not a test
//! (scripts/bench-console.sh runs it against the emulator stack-up.sh starts).
//!
//! Each page's store requests are counted too: moto answers a Query by reading every item of
//! the table, so its times grow with the table where DynamoDB's grow with the rows returned.
//!
//! Usage: console_pages [events] [renders] [dynamodb renders]   (defaults 100000, 30 and 5)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use opsbell_aws::dynamodb::DynamoStore;
use opsbell_core::config::Config;
use opsbell_core::console::session::{Login, Sessions};
use opsbell_core::console::{Console, Request};
use opsbell_core::event::{Event, Source, State};
use opsbell_core::ports::{Records, StoreError, SystemClock};
use opsbell_core::state::{Fate, History, Told};
use opsbell_local::{Db, SqliteStore};
use serde_json::Value;

const PAGES: [&str; 4] = [
    "/",
    "/history",
    "/history?state=faulted",
    "/history?process=Proc042",
];

/// Event `n` of `total`, spread evenly over the last 14 days: one in ten faulted, 500 processes.
fn event(n: usize, total: usize, now: chrono::DateTime<Utc>) -> (Event, Vec<(String, Told)>) {
    let back = Duration::seconds((14 * 86_400 * n / total) as i64);
    let state = if n.is_multiple_of(10) {
        State::Faulted
    } else {
        State::Successful
    };
    let process = format!("Proc{:03}", n % 500);
    let mut e = Event::new(
        Source::Uipath,
        "1/7",
        &format!("job-{n}"),
        state,
        &process,
        now - back,
    );
    e.folder = Some("7".into());
    let told = Told {
        fate: Fate::Delivered,
        detail: "ts".into(),
        at: now - back,
    };
    (e, vec![("ops-slack".to_string(), told)])
}

async fn fill(records: Arc<dyn Records>, total: usize, now: chrono::DateTime<Utc>) -> f64 {
    let started = Instant::now();
    futures::stream::iter(0..total)
        .map(|n| {
            let records = records.clone();
            async move {
                let (e, told) = event(n, total, now);
                let at = e.occurred_at;
                History::note(records.as_ref(), &e, &told, at)
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    started.elapsed().as_secs_f64()
}

/// A store that counts the requests made of it (a `list_records` may be several queries).
struct Counted {
    inner: Arc<dyn Records>,
    requests: AtomicUsize,
}

impl Counted {
    fn tick(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl Records for Counted {
    async fn get_record(&self, pk: &str, sk: &str) -> Result<Option<Value>, StoreError> {
        self.tick();
        self.inner.get_record(pk, sk).await
    }
    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.tick();
        self.inner.put_record(pk, sk, body, expires_at).await
    }
    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&Value>,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        self.tick();
        (self.inner)
            .swap_record(pk, sk, expected, body, expires_at)
            .await
    }
    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.tick();
        self.inner.delete_record(pk, sk).await
    }
    async fn list_records(&self, pk: &str) -> Result<Vec<(String, Value)>, StoreError> {
        self.tick();
        self.inner.list_records(pk).await
    }
    async fn page_before(
        &self,
        pk: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        self.tick();
        self.inner.page_before(pk, before, limit).await
    }
}

fn console(records: Arc<dyn Records>) -> Console {
    let config = serde_json::json!({
        "channels": { "ops-slack": { "type": "console" } },
        "routes": [ { "channels": ["ops-slack"], "states": ["faulted"] } ]
    });
    Console {
        config: Arc::new(Config::from_value(config).unwrap()),
        records,
        clock: Arc::new(SystemClock),
        oncall: None,
        dead: None,
        base: String::new(),
        sessions: Sessions::new(
            vec![1; 32],
            Login::Loopback {
                who: "bench".into(),
            },
            false,
        ),
        oidc: None,
        silence_max: Duration::days(30),
    }
}

async fn measure(store: &str, records: Arc<dyn Records>, renders: usize) {
    let counted = Arc::new(Counted {
        inner: records,
        requests: AtomicUsize::new(0),
    });
    let console = console(counted.clone());
    for page in PAGES {
        let (path, query) = page.split_once('?').unwrap_or((page, ""));
        let request = Request {
            path: path.into(),
            query: query.into(),
            ..Request::default()
        };
        let mut times = Vec::new();
        let mut rows = 0;
        counted.requests.store(0, Ordering::Relaxed);
        for _ in 0..renders {
            let started = Instant::now();
            let reply = console.handle(&request).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(reply.status, 200, "{page}: {}", reply.body);
            rows = reply.body.matches("<tr>").count().saturating_sub(1);
        }
        times.sort_by(f64::total_cmp);
        let at =
            |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        let requests = counted.requests.load(Ordering::Relaxed) / renders;
        println!(
            "{store:<9} {page:<28} p50 {:>8.1} ms  p99 {:>8.1} ms  ({rows} rows shown, {requests} store requests)",
            at(0.5),
            at(0.99)
        );
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let renders: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30);
    let dynamo_renders: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5);
    let now = Utc::now();
    println!(
        "{total} events over 14 days; {renders} renders of each page ({dynamo_renders} on moto)"
    );

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("bench.db")).unwrap();
    let sqlite: Arc<dyn Records> = Arc::new(SqliteStore::new(&db).unwrap());
    let took = fill(sqlite.clone(), total, now).await;
    println!("sqlite    filled in {took:.1} s");
    measure("sqlite", sqlite, renders).await;

    let aws = opsbell_aws::testing::emulator().await;
    let table = opsbell_aws::testing::unique("console-bench");
    let client = aws_sdk_dynamodb::Client::new(&aws);
    DynamoStore::create_table(&client, &table).await.unwrap();
    let dynamo: Arc<dyn Records> = Arc::new(DynamoStore::new(client, &table));
    let took = fill(dynamo.clone(), total, now).await;
    println!("dynamodb  filled in {took:.1} s (moto)");
    measure("dynamodb", dynamo, dynamo_renders).await;
}
