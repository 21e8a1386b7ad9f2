//! The console: server-rendered pages over the same ports the functions use (Now, History, On
//! call, Silences, Routes, Health), for `opsbell serve` and the `console` Lambda alike. It
//! speaks plain HTTP values ([`Request`], [`Reply`]) so each host only adapts its framework.
//! Reading is for whoever is let in; acting (ack, silence, expire, redrive) needs the responder
//! role, a session and the session's CSRF token, and is logged with who did it.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::config::Config;
use crate::locale::Language;
use crate::oncall::settings::OncallSettings;
use crate::ports::{Clock, Files, Records, StoreError};

mod actions;
mod health;
mod history;
mod layout;
pub mod login;
mod now;
mod oncall;
mod routes;
pub mod session;
mod signin;
mod silences;
mod words;

pub use session::{Role, Session};
use words::Word;

/// The queue's dead messages, as a host keeps them (the outbox in serve, the DLQ on AWS).
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Messages waiting and dead.
    async fn depths(&self) -> Result<(u64, u64), StoreError>;
    /// Puts every dead message back on the queue; how many (or a started move task: `None`).
    async fn redrive(&self) -> Result<Option<u64>, StoreError>;
}

/// On-call as the caller sees it: its settings and the rotation files.
pub struct Oncall {
    pub settings: OncallSettings,
    pub files: Arc<dyn Files>,
}

/// Everything the pages read.
pub struct Console {
    pub config: Arc<Config>,
    pub records: Arc<dyn Records>,
    pub clock: Arc<dyn Clock>,
    pub oncall: Option<Oncall>,
    pub dead: Option<Arc<dyn DeadLetters>>,
    /// Where the pages are mounted: `""` in serve, `"/console"` behind the HTTP API.
    pub base: String,
    pub sessions: session::Sessions,
    /// Sign-in by OpenID Connect, when configured.
    pub oidc: Option<Arc<login::Oidc>>,
    /// The longest silence a person may ask for (`SILENCE_MAX`).
    pub silence_max: chrono::Duration,
}

/// A request as any host hands it over.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub post: bool,
    /// Below [`Console::base`]: `/`, `/history`, …
    pub path: String,
    pub query: String,
    /// A POST's `application/x-www-form-urlencoded` body.
    pub body: String,
    pub cookie: Option<String>,
    pub accept_language: Option<String>,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<String> {
        pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn field(&self, name: &str) -> Option<String> {
        pairs(&self.body)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

fn pairs(text: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(text).unwrap_or_default()
}

/// What the host sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub(super) fn html(status: u16, body: String) -> Reply {
        let headers = vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
            ("x-frame-options".into(), "DENY".into()),
            (
                "content-security-policy".into(),
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'".into(),
            ),
        ];
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(super) fn redirect(to: String) -> Reply {
        Reply {
            status: 303,
            headers: vec![("location".into(), to)],
            body: String::new(),
        }
    }
}

/// One request's view: who, in which language, with which CSRF token.
pub struct View<'a> {
    pub console: &'a Console,
    pub session: Session,
    pub language: Language,
    pub csrf: String,
    pub now: DateTime<Utc>,
}

impl View<'_> {
    pub fn word(&self, w: Word) -> &'static str {
        w.in_(self.language)
    }

    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.console.base)
    }

    pub fn time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.console.config.timezone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

impl Console {
    pub async fn handle(&self, request: &Request) -> Reply {
        if let Some(reply) = self.sign_in(request).await {
            return reply;
        }
        let now = self.clock.now();
        let (session, set_cookie) = match self.sessions.admit(request.cookie.as_deref(), now) {
            Ok(admitted) => admitted,
            Err(_) if self.oidc.is_some() && !request.post => {
                return Reply::redirect(format!("{}/login", self.base));
            }
            Err(refusal) => return Reply::html(refusal.status, layout::refused(&refusal.reason)),
        };
        let language = words::language(request.accept_language.as_deref(), self.config.language);
        let csrf = self.sessions.csrf(&session);
        let view = View {
            console: self,
            session,
            language,
            csrf,
            now,
        };
        let mut reply = if request.post {
            self.act(&view, request).await
        } else {
            self.page(&view, request).await
        };
        if let Some(cookie) = set_cookie {
            reply.headers.push(("set-cookie".into(), cookie));
        }
        reply
    }

    async fn page(&self, view: &View<'_>, request: &Request) -> Reply {
        let body = match request.path.trim_end_matches('/') {
            "" => now::page(view).await,
            "/history" => history::page(view, request).await,
            "/event" => history::event(view, request).await,
            "/oncall" => oncall::page(view, request).await,
            "/silences" => silences::page(view, None).await,
            "/routes" => Ok(routes::page(view, None)),
            "/health" => health::page(view).await,
            _ => return Reply::html(404, layout::refused(view.word(Word::NotFound))),
        };
        match body {
            Ok(body) => Reply::html(200, body),
            Err(e) => {
                warn!(path = %request.path, error = %e, "A console page could not be read.");
                Reply::html(
                    503,
                    layout::refused(&format!("{}: {e}", view.word(Word::Unavailable))),
                )
            }
        }
    }

    /// A POST: the CSRF token first, then the role, then the action.
    async fn act(&self, view: &View<'_>, request: &Request) -> Reply {
        if !self
            .sessions
            .csrf_holds(&view.session, request.field("csrf").as_deref())
        {
            warn!(who = %view.session.who, path = %request.path, "Console POST without a valid CSRF token refused.");
            return Reply::html(403, layout::refused(view.word(Word::BadToken)));
        }
        // Previews change nothing: a viewer may use them.
        if request.path == "/routes/test" {
            return Reply::html(
                200,
                routes::page(view, Some(&request.field("payload").unwrap_or_default())),
            );
        }
        if request.path == "/silences" && request.field("save").is_none() {
            return match silences::page(view, Some(request)).await {
                Ok(body) => Reply::html(200, body),
                Err(e) => Reply::html(503, layout::refused(&e.to_string())),
            };
        }
        if view.session.role != Role::Responder {
            warn!(who = %view.session.who, path = %request.path, "Console action refused: not a responder.");
            return Reply::html(403, layout::refused(view.word(Word::NotResponder)));
        }
        info!(who = %view.session.who, path = %request.path, "Console action.");
        match actions::run(view, request).await {
            Ok(Ok(to)) => Reply::redirect(view.link(&to)),
            Ok(Err(page)) => Reply::html(400, page),
            Err(e) => Reply::html(
                503,
                layout::refused(&format!("{}: {e}", view.word(Word::Unavailable))),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
