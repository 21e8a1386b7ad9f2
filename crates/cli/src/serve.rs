//! `opsbell serve`: the webhook endpoint and the delivery dispatcher in one process, on one
//! SQLite file. The request path is `opsbell_core::ingest` (as in `webhook-ingest`), delivery is
//! `opsbell_core::fanout` (as in `alarm-fanout`); only the queue and the store are local.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{any, get, post};
use clap::Args;
use opsbell_core::build::{self, Deps};
use opsbell_core::config::Config;
use opsbell_core::heartbeat::Heartbeats;
use opsbell_core::http::{RetryPolicy, client};
use opsbell_core::ingest::{Ingest, MAX_BODY_BYTES};
use opsbell_core::ports::{Clock, Escalations, SystemClock};
use opsbell_core::signature::SIGNATURE_HEADER;
use opsbell_local::dispatcher::{DispatchOptions, Dispatcher};
use opsbell_local::scheduler::Scheduler;
use opsbell_local::{Db, SqliteOutbox, SqliteStore};
use serde_json::json;
use tokio::sync::watch;
use tracing::{error, info};

use crate::console::Pages;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (environment variables OPSBELL__… override its values).
    #[arg(long, default_value = "config.json")]
    pub config: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// SQLite database: outbox and delivery log. One `opsbell serve` per file.
    #[arg(long, default_value = "opsbell.db")]
    pub db: PathBuf,
    /// Serve no console pages (needed on a non-loopback address, which has no login).
    #[arg(long)]
    pub no_console: bool,
}

#[derive(Clone)]
struct AppState {
    ingest: Arc<Ingest>,
    heartbeats: Option<Arc<Heartbeats>>,
    outbox: Arc<SqliteOutbox>,
    chat: Option<Arc<crate::chat_route::LocalChat>>,
    pages: Pages,
}

impl FromRef<AppState> for Pages {
    fn from_ref(state: &AppState) -> Pages {
        state.pages.clone()
    }
}

pub async fn run(args: ServeArgs) -> Result<ExitCode, crate::Error> {
    crate::logging::init();
    let config = match Config::load_file(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!(
                "{}: {e}\nRun `opsbell check {}` after fixing it.",
                args.config.display(),
                args.config.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let login = match crate::console::login(&config, args.listen, args.no_console) {
        Ok(login) => login,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let db = Db::open(&args.db).map_err(|e| format!("{}: {e}", args.db.display()))?;
    let store = Arc::new(SqliteStore::new(&db)?);
    let released = store.release_stale_claims().await?;
    let outbox = Arc::new(SqliteOutbox::new(&db)?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ingest = Arc::new(Ingest::new(&config, outbox.clone(), clock.clone())?);
    // One HTTP client for the process: every adapter and poller shares its pools.
    let deps = Deps {
        http: client(),
        policy: RetryPolicy::default(),
        log: store.clone(),
        records: store.clone(),
        clock: clock.clone(),
        escalations: local_oncall(&config, store.clone(), outbox.clone()),
        queue: Some(outbox.clone()),
    };
    let fanout = Arc::new(build::fanout(&config, &deps));
    let (pending, dead) = outbox.counts().await?;
    info!(db = %args.db.display(), pending, dead, released, "Outbox opened.");

    let parts = (
        config.clone(),
        store.clone(),
        outbox.clone(),
        db.clone(),
        clock.clone(),
    );
    let pages = Pages(login.map(|login| crate::console::build(parts, login)));
    let access = config.access.clone();
    let chat = match crate::chat_route::LocalChat::from_env(store.clone(), &deps.http, access) {
        Ok(chat) => chat,
        Err(e) => {
            eprintln!("The Google Chat bot's settings (environment): {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let (stop, shutdown) = watch::channel(false);
    let dispatcher = Dispatcher {
        outbox: outbox.clone(),
        fanout,
        options: DispatchOptions::default(),
    };
    let dispatching = tokio::spawn(dispatcher.run(shutdown.clone()));
    let pollers = build::pollers(&config, &deps, outbox.clone());
    let mut scheduler = Scheduler::default();
    crate::schedule::pollers(&mut scheduler, Arc::new(pollers), &shutdown);
    let heartbeats = build::heartbeats(&config, store.clone(), outbox.clone());
    if let Some(heartbeats) = &heartbeats {
        crate::schedule::heartbeats(&mut scheduler, heartbeats.clone(), &shutdown);
    }
    scheduler.every(
        "purge-expired".into(),
        Duration::from_secs(3600),
        shutdown.clone(),
        move || {
            let (store, now) = (store.clone(), clock.now());
            async move {
                if let Err(e) = store.purge_expired(now).await {
                    error!(error = %e, "Could not purge expired delivery records.");
                }
            }
        },
    );

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("{}: {e}", args.listen))?;
    info!(address = %listener.local_addr()?, "opsbell listening: POST /webhook/orchestrator, GET /healthz, the console at /.");
    axum::serve(
        listener,
        router(AppState {
            ingest,
            heartbeats,
            outbox: outbox.clone(),
            chat,
            pages,
        }),
    )
    .with_graceful_shutdown(signalled())
    .await?;

    info!("Shutting down: finishing deliveries in flight.");
    let _ = stop.send(true);
    let _ = dispatching.await;
    scheduler.join().await;
    outbox.close();
    info!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

/// `oncall` channels start a dry-run escalation in-process (rotation files from `ONCALL_FILES_DIR`
/// and the caller's other environment settings): the plan is logged and told to chat, nobody is
/// dialled (that takes Amazon Connect, i.e. the `oncall-caller` Lambda).
fn local_oncall(
    config: &Config,
    records: Arc<SqliteStore>,
    events: Arc<SqliteOutbox>,
) -> Option<Arc<dyn Escalations>> {
    if !config
        .channels
        .values()
        .any(|c| matches!(c, opsbell_core::config::Channel::Oncall(_)))
    {
        return None;
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    match opsbell_core::oncall::settings::OncallSettings::from_env(&env) {
        Ok(settings) => Some(opsbell_local::caller::LocalCaller::new(
            records, events, settings,
        )),
        Err(problems) => {
            let problems = opsbell_core::config::ConfigError { problems };
            tracing::warn!(%problems, "oncall channels are configured but the caller is not; they will fail.");
            None
        }
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhook/orchestrator", post(webhook))
        .route("/healthz", get(healthz))
        .route("/chat/events", post(chat_events))
        .route("/ping/{*rest}", any(ping))
        // Room above our own 1 MiB limit, so the ingest code answers 413 with its reason.
        .fallback(crate::console::handle)
        .layer(DefaultBodyLimit::max(2 * MAX_BODY_BYTES))
        .with_state(state)
}

async fn chat_events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match &state.chat {
        Some(chat) => chat.handle(&headers, &body).await,
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "the chat bot is off (set CHAT_PROJECT_NUMBER)" })),
        )
            .into_response(),
    }
}

/// A heartbeat ping (`GET`, `POST` or `HEAD /ping/<key>[/start|/fail|/<exit code>]`).
async fn ping(State(state): State<AppState>, Path(rest): Path<String>, body: Bytes) -> Response {
    let heartbeats = state.heartbeats.as_deref();
    let reply = Heartbeats::answer(heartbeats, &rest, &body, chrono::Utc::now()).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(reply.body)).into_response()
}

async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let reply = state.ingest.handle(signature, &body).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(reply.body)).into_response()
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.outbox.counts().await {
        Ok((pending, dead)) => {
            // Anything dead needs a human (`opsbell dead list`): the process runs, but not well.
            let status = if dead > 0 { "degraded" } else { "ok" };
            Json(json!({ "status": status, "outbox": { "pending": pending, "dead": dead } }))
                .into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "error", "error": e })),
        )
            .into_response(),
    }
}

/// SIGINT (Ctrl-C) or SIGTERM (systemd, containers).
async fn signalled() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
