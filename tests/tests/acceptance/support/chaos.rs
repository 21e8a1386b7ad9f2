//! Faults on a timeline: a TCP proxy in front of the AWS emulator that can be cut and restored
//! (an AWS outage, with the emulator's state kept, as AWS keeps it), and receivers that fail,
//! time out or throttle for their first requests and record what they accepted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsbell_core::event::Event;
use opsbell_core::ports::{Queue, QueueError, Records, StoreError};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use wiremock::{Request, Respond, ResponseTemplate};

/// A loopback proxy to `target` that refuses and severs connections while down.
#[derive(Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            down: Arc::new(AtomicBool::new(false)),
            live: Arc::new(Mutex::new(Vec::new())),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if p.down.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                p.live.lock().unwrap().push(task.abort_handle());
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts every open connection and refuses new ones.
    pub fn down(&self) {
        self.down.store(true, Ordering::SeqCst);
        for task in self.live.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// Down now, up again after `outage`.
    pub fn outage(&self, outage: Duration) {
        self.down();
        let p = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(outage).await;
            p.up();
        });
    }
}

/// How a receiver answers one of its first requests.
#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16),
    /// Answers after this long: past the client's timeout.
    Slow(Duration),
}

type Hook = Arc<dyn Fn(&[u8]) + Send + Sync>;
type Rule = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// A receiver: `faults` for its first requests, then success; bodies matching `refuse` are
/// refused for good (400). Records every body it accepted.
#[derive(Clone)]
pub struct Receiver {
    faults: Arc<Vec<Fault>>,
    seen: Arc<AtomicUsize>,
    ok: ResponseTemplate,
    refuse: Option<Rule>,
    on_accept: Option<Hook>,
    pub accepted: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Receiver {
    pub fn new(ok: ResponseTemplate, faults: Vec<Fault>) -> Receiver {
        Receiver {
            faults: Arc::new(faults),
            seen: Arc::new(AtomicUsize::new(0)),
            ok,
            refuse: None,
            on_accept: None,
            accepted: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn refusing(mut self, rule: impl Fn(&[u8]) -> bool + Send + Sync + 'static) -> Self {
        self.refuse = Some(Arc::new(rule));
        self
    }

    /// Runs `hook` when a request is accepted (e.g. to cut AWS right after a post).
    pub fn on_accept(mut self, hook: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.on_accept = Some(Arc::new(hook));
        self
    }

    pub fn accepted(&self) -> Vec<Vec<u8>> {
        self.accepted.lock().unwrap().clone()
    }

    /// Requests received, accepted or not.
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

impl Respond for Receiver {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        match self.faults.get(n) {
            Some(Fault::Status(status)) => {
                return ResponseTemplate::new(*status).insert_header("retry-after", "0");
            }
            Some(Fault::Slow(delay)) => return self.ok.clone().set_delay(*delay),
            None => {}
        }
        if self.refuse.as_ref().is_some_and(|r| r(&request.body)) {
            return ResponseTemplate::new(400).set_body_string("invalid_payload");
        }
        self.accepted.lock().unwrap().push(request.body.clone());
        if let Some(hook) = &self.on_accept {
            hook(&request.body);
        }
        self.ok.clone()
    }
}

/// Side effects counted across a whole run (an escalation, a poll); the `at`-th one kills the invocation
/// (it and every later effect of that invocation fail). `lost`: the fatal effect happens,
/// only its answer is lost.
pub struct Crash {
    seen: AtomicUsize,
    at: usize,
    lost: bool,
    dead: AtomicBool,
    pub fired: AtomicBool,
}

impl Crash {
    pub fn new(at: usize, lost: bool) -> Crash {
        Crash {
            seen: AtomicUsize::new(0),
            at,
            lost,
            dead: AtomicBool::new(false),
            fired: AtomicBool::new(false),
        }
    }

    /// A new invocation: the process is alive again.
    pub fn restart(&self) {
        self.dead.store(false, Ordering::SeqCst);
    }

    /// Runs `effect` unless the process is dead or dies here.
    pub async fn effect<T, F: Future<Output = Result<T, String>>>(
        &self,
        effect: F,
    ) -> Result<T, String> {
        if self.dead.load(Ordering::SeqCst) {
            return Err("process died".into());
        }
        if self.seen.fetch_add(1, Ordering::SeqCst) != self.at {
            return effect.await;
        }
        self.dead.store(true, Ordering::SeqCst);
        self.fired.store(true, Ordering::SeqCst);
        if self.lost {
            let _ = effect.await;
        }
        Err(format!("injected crash at side effect {}", self.at))
    }
}

/// A port whose writes go through `crash`: wraps the real adapter (`Records`, `Queue`).
pub struct Crashing<T> {
    pub inner: T,
    pub crash: Arc<Crash>,
}

#[async_trait::async_trait]
impl<T: Records> Records for Crashing<T> {
    async fn get_record(&self, pk: &str, sk: &str) -> Result<Option<Value>, StoreError> {
        self.inner.get_record(pk, sk).await
    }
    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let put = async {
            let result = self.inner.put_record(pk, sk, body, expires_at).await;
            result.map_err(|e| e.to_string())
        };
        self.crash.effect(put).await.map_err(StoreError)
    }
    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&Value>,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let swap = async {
            let result = self.inner.swap_record(pk, sk, expected, body, expires_at);
            result.await.map_err(|e| e.to_string())
        };
        self.crash.effect(swap).await.map_err(StoreError)
    }
    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let delete = async {
            let result = self.inner.delete_record(pk, sk).await;
            result.map_err(|e| e.to_string())
        };
        self.crash.effect(delete).await.map_err(StoreError)
    }
    async fn list_records(&self, pk: &str) -> Result<Vec<(String, Value)>, StoreError> {
        self.inner.list_records(pk).await
    }
}

#[async_trait::async_trait]
impl<T: Queue> Queue for Crashing<T> {
    async fn enqueue(&self, events: &[Event]) -> Result<(), QueueError> {
        let send = async { self.inner.enqueue(events).await.map_err(|e| e.to_string()) };
        self.crash.effect(send).await.map_err(QueueError)
    }

    async fn enqueue_later(
        &self,
        events: &[Event],
        delay: std::time::Duration,
    ) -> Result<(), QueueError> {
        let send = async {
            let sent = self.inner.enqueue_later(events, delay).await;
            sent.map_err(|e| e.to_string())
        };
        self.crash.effect(send).await.map_err(QueueError)
    }
}
