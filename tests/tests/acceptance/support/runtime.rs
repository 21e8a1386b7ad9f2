//! A Lambda Runtime API emulator that speaks the documented protocol, and a function process
//! (a release binary) run against it as Lambda runs `bootstrap`: in a folder holding its
//! `config.json`, with the function's environment and `AWS_LAMBDA_RUNTIME_API`.
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>
//!
//! - `GET /2018-06-01/runtime/invocation/next` blocks until an event is invoked, then answers it
//!   with `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn`, `-Trace-Id`;
//! - `POST …/invocation/{id}/response` and `…/invocation/{id}/error` answer it (202);
//! - `POST …/runtime/init/error` reports a failed cold start (202).
//!
//! It also times what Lambda bills: INIT (the spawn to the first `next`) and each invocation
//! (the event handed out to its answer), for the Lambda benchmark.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::template::{ACCOUNT, REGION};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Response(Value),
    /// `/error`: the body (`errorType`, `errorMessage`) and the error-type header.
    Error {
        body: Value,
        kind: Option<String>,
    },
}

impl Answer {
    pub fn response(self) -> Value {
        match self {
            Answer::Response(v) => v,
            Answer::Error { body, .. } => panic!("the invocation failed: {body}"),
        }
    }
}

struct Invocation {
    event: Value,
    deadline_ms: u64,
    answer: oneshot::Sender<Answer>,
}

struct Api {
    function: String,
    invocations: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, (oneshot::Sender<Answer>, Instant)>>,
    init_error: Mutex<Option<String>>,
    next_id: Mutex<u64>,
    /// When the function first asked for an event: its INIT ended.
    first_next: Mutex<Option<Instant>>,
    /// Each answered invocation's duration, in order.
    durations: Mutex<Vec<Duration>>,
}

pub struct RuntimeApi {
    pub addr: String,
    api: Arc<Api>,
    invoke: mpsc::Sender<Invocation>,
}

impl RuntimeApi {
    pub async fn start(function: &str) -> RuntimeApi {
        let (invoke, invocations) = mpsc::channel(16);
        let api = Arc::new(Api {
            function: function.into(),
            invocations: tokio::sync::Mutex::new(invocations),
            pending: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            next_id: Mutex::new(0),
            first_next: Mutex::new(None),
            durations: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(respond),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        RuntimeApi { addr, api, invoke }
    }

    /// When the function first called `next` (the end of its INIT).
    pub fn first_next(&self) -> Option<Instant> {
        *self.api.first_next.lock().unwrap()
    }

    /// The durations of the invocations answered so far, from the event handed out to the answer.
    pub fn durations(&self) -> Vec<Duration> {
        self.api.durations.lock().unwrap().clone()
    }

    /// Invokes the function with `event` and a `timeout` deadline; waits for its answer.
    pub async fn invoke(&self, function: &mut Function, event: Value, timeout: Duration) -> Answer {
        let (answer, answered) = oneshot::channel();
        let deadline_ms = u64::try_from(
            (SystemTime::now() + timeout)
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        self.invoke
            .send(Invocation {
                event,
                deadline_ms,
                answer,
            })
            .await
            .unwrap();
        let wait = tokio::time::timeout(timeout + Duration::from_secs(5), answered);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                answer = &mut wait => {
                    return answer
                        .unwrap_or_else(|_| panic!("no answer within the timeout; log:\n{}", function.log()))
                        .expect("the emulator dropped the invocation");
                }
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    if let Some(status) = function.exited() {
                        let init = self.api.init_error.lock().unwrap().clone();
                        panic!("the function exited ({status}); init error: {init:?}; log:\n{}", function.log());
                    }
                }
            }
        }
    }
}

async fn next(State(api): State<Arc<Api>>) -> impl IntoResponse {
    api.first_next
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    let invocation = api.invocations.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let id = {
        let mut n = api.next_id.lock().unwrap();
        *n += 1;
        format!("00000000-0000-4000-8000-{:012}", *n)
    };
    api.pending
        .lock()
        .unwrap()
        .insert(id.clone(), (invocation.answer, Instant::now()));
    let mut headers = HeaderMap::new();
    let arn = format!(
        "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}",
        api.function
    );
    for (name, value) in [
        ("lambda-runtime-aws-request-id", id.as_str()),
        (
            "lambda-runtime-deadline-ms",
            &invocation.deadline_ms.to_string(),
        ),
        ("lambda-runtime-invoked-function-arn", &arn),
        (
            "lambda-runtime-trace-id",
            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
        ),
        ("content-type", "application/json"),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    (StatusCode::OK, headers, invocation.event.to_string())
}

fn finish(api: &Api, id: &str, answer: Answer) -> StatusCode {
    match api.pending.lock().unwrap().remove(id) {
        Some((tx, served)) => {
            api.durations.lock().unwrap().push(served.elapsed());
            let _ = tx.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(
    State(api): State<Arc<Api>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    finish(&api, &id, Answer::Response(value))
}

async fn fail(
    State(api): State<Arc<Api>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let kind = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&api, &id, Answer::Error { body, kind })
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    *api.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into());
    StatusCode::ACCEPTED
}

/// A function process; killed when dropped.
pub struct Function {
    child: Child,
    /// When the process was started.
    pub spawned: Instant,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// The binary of `name` in `OPSBELL_LAMBDA_BIN_DIR` (`scripts/test.sh` builds them in the dev
/// profile and sets it; without it, `target/release`).
pub fn binary(name: &str) -> PathBuf {
    let dir = std::env::var("OPSBELL_LAMBDA_BIN_DIR")
        .unwrap_or_else(|_| format!("{}/../target/release", env!("CARGO_MANIFEST_DIR")));
    let path = Path::new(&dir).join(name);
    assert!(
        path.exists(),
        "{} is missing: build the Lambdas with `cargo build --release -p {name}` (scripts/test.sh does)",
        path.display()
    );
    path
}

impl Function {
    /// Starts function `name` as Lambda would: `config` as `config.json` in its working folder,
    /// `env` (the template's environment and the test's) plus the runtime's own variables.
    pub fn spawn(
        name: &str,
        runtime: &RuntimeApi,
        config: &Value,
        env: &[(String, String)],
    ) -> Function {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        let log = dir.path().join("output.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(binary(name));
        command
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("opsbell-ci-{name}"))
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/opsbell-ci-{name}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]test")
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "ASIAROLETEST")
            .env("AWS_SECRET_ACCESS_KEY", "role-secret")
            .env("AWS_SESSION_TOKEN", "role-session")
            .env("LAMBDA_TASK_ROOT", dir.path())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out));
        for (k, v) in env {
            command.env(k, v);
        }
        let spawned = Instant::now();
        let child = command.spawn().unwrap();
        Function {
            child,
            spawned,
            log,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process's peak resident set (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
