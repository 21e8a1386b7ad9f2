//! The console in `opsbell serve`: the core's pages ([`opsbell_core::console`]) over the local
//! database, mounted at `/`. With `console.login`, people sign in (OpenID Connect) and `access`
//! says who may read and who may act; without it, on a loopback address the local user is let
//! in as a responder (as the CLI trusts them), and on any other address serve refuses to start
//! with the console on: nobody may be let in by accident.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use opsbell_core::config::Config;
use opsbell_core::console::login::Oidc;
use opsbell_core::console::session::{Login, Sessions, random_key};
use opsbell_core::console::{Console, DeadLetters, Oncall, Request};
use opsbell_core::ports::{Clock, StoreError};
use opsbell_local::{Db, SqliteOutbox, SqliteStore};
use secrecy::ExposeSecret;

/// The outbox's dead rows, as the Health page shows and redrives them.
struct LocalDead {
    outbox: Arc<SqliteOutbox>,
    db: Db,
}

#[async_trait]
impl DeadLetters for LocalDead {
    async fn depths(&self) -> Result<(u64, u64), StoreError> {
        let (pending, dead) = self.outbox.counts().await.map_err(StoreError)?;
        Ok((pending.unsigned_abs(), dead.unsigned_abs()))
    }

    async fn redrive(&self) -> Result<Option<u64>, StoreError> {
        let db = self.db.clone();
        let moved = tokio::task::spawn_blocking(move || opsbell_local::dead::redrive(&db, None))
            .await
            .map_err(|e| StoreError(e.to_string()))?
            .map_err(|e| StoreError(e.to_string()))?;
        Ok(Some(moved as u64))
    }
}

/// Who the console lets in on `listen`: whoever signs in, when a login is configured; else the
/// local user on loopback; `None` with `--no-console`. `Err` says why serve must not start.
pub fn login(config: &Config, listen: SocketAddr, off: bool) -> Result<Option<Login>, String> {
    if off {
        return Ok(None);
    }
    if config.console.login.is_some() {
        return Ok(Some(Login::Required));
    }
    if listen.ip().is_loopback() {
        let user = std::env::var("USER").unwrap_or_else(|_| "local".into());
        let who = format!("{user}@localhost");
        return Ok(Some(Login::Loopback { who }));
    }
    Err(format!(
        "{listen} is not a loopback address, and the console lets nobody in by accident: \
         configure a login (console.login, OpenID Connect), listen on 127.0.0.1, or pass \
         --no-console to serve only the webhook, chat and ping endpoints"
    ))
}

/// What the pages read in serve: its configuration, store, outbox, database and clock.
pub type Parts = (
    Config,
    Arc<SqliteStore>,
    Arc<SqliteOutbox>,
    Db,
    Arc<dyn Clock>,
);

pub fn build(parts: Parts, login: Login) -> Arc<Console> {
    let (config, store, outbox, db, clock) = parts;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let oncall = opsbell_core::oncall::settings::OncallSettings::optional(&env)
        .ok()
        .flatten()
        .map(|settings| {
            let dir = settings.files_dir.clone().unwrap_or_else(|| ".".into());
            let files = Arc::new(opsbell_core::escalation::trigger::DirFiles(dir.into()));
            Oncall { settings, files }
        });
    let silence_max = opsbell_core::silence::max_length(&env)
        .unwrap_or_else(|_| chrono::Duration::days(opsbell_core::silence::MAX_LENGTH_DAYS));
    let oidc = config.console.login.clone();
    let secure = (oidc.as_ref()).is_some_and(|l| l.redirect_url.starts_with("https://"));
    let key = (config.console.cookie_key.as_ref())
        .map_or_else(random_key, |k| k.expose_secret().as_bytes().to_vec());
    Arc::new(Console {
        config: Arc::new(config),
        records: store,
        clock,
        oncall,
        dead: Some(Arc::new(LocalDead { outbox, db })),
        base: String::new(),
        sessions: Sessions::new(key, login, secure),
        oidc: oidc.map(|l| Arc::new(Oidc::new(l))),
        silence_max,
    })
}

/// The console of a serve, if it has one.
#[derive(Clone)]
pub struct Pages(pub Option<Arc<Console>>);

/// Any request the other routes do not take.
pub async fn handle(
    State(Pages(console)): State<Pages>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(console) = console else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if method != Method::GET && method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let request = Request {
        post: method == Method::POST,
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        body: String::from_utf8_lossy(&body).into_owned(),
        cookie: text(header::COOKIE),
        accept_language: text(header::ACCEPT_LANGUAGE),
    };
    let reply = console.handle(&request).await;
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK),
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name),
            header::HeaderValue::try_from(value),
        ) {
            match name == header::SET_COOKIE {
                true => response.headers_mut().append(name, value),
                false => response.headers_mut().insert(name, value).is_some(),
            };
        }
    }
    response
}
