//! KAMONOHASHI Web API: login (v2, falling back to v1), a token per tenant, job lists.
//! <https://github.com/KAMONOHASHI/kamonohashi> (`web-api/.../swagger.json`)
//!
//! Tokens are tenant-scoped: one login, then `POST /api/v{n}/account/tenants/{id}/token` per
//! tenant. Lists are paged with `perPage`/`page`; `X-Total-Count` says how many there are.

use std::collections::HashMap;

use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

pub mod config;

use crate::http::{RetryPolicy, send_with_retry};
use crate::ports::NotifyError;
use config::KamonohashiSource;

/// The API's largest page.
const PER_PAGE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum KamonohashiError {
    #[error("login failed: {0}")]
    Login(String),
    #[error("request failed: {0}")]
    Http(#[from] NotifyError),
    #[error("unexpected response: {0}")]
    Response(String),
}

/// The two job lists opsbell watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Training,
    Inference,
}

impl JobKind {
    pub fn path(self) -> &'static str {
        match self {
            JobKind::Training => "training",
            JobKind::Inference => "inferences",
        }
    }

    /// The UI route (`#/training/{id}`, `#/inference/{id}`).
    pub fn route(self) -> &'static str {
        match self {
            JobKind::Training => "training",
            JobKind::Inference => "inference",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KqiJob {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub memo: Option<String>,
    /// `yyyy-MM-dd HH:mm:ss`, the server's local time (no zone).
    #[serde(default)]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Deserialize)]
struct LoggedIn {
    token: String,
}

#[derive(Deserialize)]
struct Account {
    #[serde(default)]
    tenants: Vec<Tenant>,
}

pub struct KamonohashiClient {
    source: KamonohashiSource,
    http: reqwest::Client,
    policy: RetryPolicy,
    session: Mutex<Option<Session>>,
}

struct Session {
    version: u8,
    token: String,
    tenants: HashMap<i64, String>,
}

impl KamonohashiClient {
    pub fn new(source: KamonohashiSource, http: reqwest::Client, policy: RetryPolicy) -> Self {
        KamonohashiClient {
            source,
            http,
            policy,
            session: Mutex::new(None),
        }
    }

    pub fn source(&self) -> &KamonohashiSource {
        &self.source
    }

    /// Forgets every token (after a 401, or to log in again).
    pub async fn reset(&self) {
        *self.session.lock().await = None;
    }

    /// The tenants the account belongs to.
    pub async fn tenants(&self, deadline: Instant) -> Result<Vec<Tenant>, KamonohashiError> {
        let (version, token) = self.login(deadline).await?;
        let url = format!("{}/api/v{version}/account", self.source.server);
        let sent = send_with_retry(&self.source.name, &self.policy, deadline, || {
            self.http.get(&url).bearer_auth(&token)
        })
        .await?;
        let account: Account = serde_json::from_str(&sent.body)
            .map_err(|e| KamonohashiError::Response(e.to_string()))?;
        Ok(account.tenants)
    }

    /// Every job of `kind` in `tenant`, all pages.
    pub async fn jobs(
        &self,
        tenant: i64,
        kind: JobKind,
        deadline: Instant,
    ) -> Result<Vec<KqiJob>, KamonohashiError> {
        let version = self.login(deadline).await?.0;
        let token = self.tenant_token(tenant, deadline).await?;
        let url = format!("{}/api/v{version}/{}", self.source.server, kind.path());
        let mut out = Vec::new();
        for page in 1.. {
            let query = [
                ("perPage", PER_PAGE.to_string()),
                ("page", page.to_string()),
                ("withTotal", "true".into()),
            ];
            let sent = send_with_retry(&self.source.name, &self.policy, deadline, || {
                self.http.get(&url).bearer_auth(&token).query(&query)
            })
            .await?;
            let jobs: Vec<KqiJob> = serde_json::from_str(&sent.body)
                .map_err(|e| KamonohashiError::Response(e.to_string()))?;
            let n = jobs.len();
            out.extend(jobs);
            let total = sent
                .headers
                .get("x-total-count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if n == 0 || total.is_none_or(|t| out.len() >= t) {
                return Ok(out);
            }
        }
        Ok(out)
    }

    async fn login(&self, deadline: Instant) -> Result<(u8, String), KamonohashiError> {
        let mut session = self.session.lock().await;
        if let Some(s) = session.as_ref() {
            return Ok((s.version, s.token.clone()));
        }
        let body = json!({ "userName": self.source.username, "password": self.source.password.expose_secret() });
        let mut last = None;
        // KQI ≥ 2 serves /api/v2; the 1.x servers of the slackbot's era only /api/v1.
        for version in [2u8, 1] {
            let url = format!("{}/api/v{version}/account/login", self.source.server);
            match send_with_retry(&self.source.name, &self.policy, deadline, || {
                self.http.post(&url).json(&body)
            })
            .await
            {
                Ok(sent) => {
                    let l: LoggedIn = serde_json::from_str(&sent.body)
                        .map_err(|e| KamonohashiError::Login(e.to_string()))?;
                    *session = Some(Session {
                        version,
                        token: l.token.clone(),
                        tenants: HashMap::new(),
                    });
                    return Ok((version, l.token));
                }
                Err(NotifyError::Permanent {
                    status: 404 | 405, ..
                }) => last = Some("no login endpoint".to_string()),
                Err(e) => return Err(KamonohashiError::Login(e.to_string())),
            }
        }
        Err(KamonohashiError::Login(last.unwrap_or_default()))
    }

    async fn tenant_token(
        &self,
        tenant: i64,
        deadline: Instant,
    ) -> Result<String, KamonohashiError> {
        let mut guard = self.session.lock().await;
        let session = guard
            .as_mut()
            .ok_or_else(|| KamonohashiError::Login("not logged in".into()))?;
        if let Some(token) = session.tenants.get(&tenant) {
            return Ok(token.clone());
        }
        let url = format!(
            "{}/api/v{}/account/tenants/{tenant}/token",
            self.source.server, session.version
        );
        let token = session.token.clone();
        let sent = send_with_retry(&self.source.name, &self.policy, deadline, || {
            self.http.post(&url).bearer_auth(&token).json(&json!({}))
        })
        .await?;
        let l: LoggedIn =
            serde_json::from_str(&sent.body).map_err(|e| KamonohashiError::Login(e.to_string()))?;
        session.tenants.insert(tenant, l.token.clone());
        Ok(l.token)
    }
}
