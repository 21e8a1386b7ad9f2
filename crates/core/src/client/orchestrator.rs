//! UiPath Orchestrator REST API: authentication, folders, and ended jobs.
//! <https://docs.uipath.com/orchestrator/automation-cloud/latest/api-guide/jobs-requests>
//!
//! Tokens are cached and renewed once on 401; 429 and 5xx are retried as `Retry-After` says
//! (the shared retry policy); every request goes through the tenant's rate limiter.

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::RateLimiter;
pub mod active;
pub mod config;
pub mod ntlm;
pub mod schedules;

use crate::http::{RetryPolicy, percent_encode, send_with_retry};
use crate::ports::NotifyError;
use crate::source::uipath::Job;
use config::{OrchestratorAuth, OrchestratorSource};

/// The folder header of modern folders.
pub const FOLDER_HEADER: &str = "X-UIPATH-OrganizationUnitId";
/// How long a token is trusted when the server does not say (standalone tokens last 30 minutes).
const TOKEN_LIFETIME: Duration = Duration::from_secs(25 * 60);

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("request failed: {0}")]
    Http(#[from] NotifyError),
    #[error("unexpected response: {0}")]
    Response(String),
}

/// Where a page of ended jobs continues: the last (EndTime, Id) seen.
pub use crate::state::Watermark as Cursor;

#[derive(Debug)]
pub struct Page {
    pub jobs: Vec<Job>,
    /// True when jobs remain after this page.
    pub more: bool,
}

pub struct OrchestratorClient {
    source: OrchestratorSource,
    http: reqwest::Client,
    policy: RetryPolicy,
    limiter: RateLimiter,
    token: Mutex<Option<(String, Instant)>>,
    /// Windows authentication: a client with a pool of one connection, used one request at a
    /// time, so each NTLM handshake stays on its connection (see [`ntlm`]).
    ntlm: Option<Mutex<reqwest::Client>>,
}

#[derive(Deserialize)]
struct Authenticated {
    result: String,
}

#[derive(Deserialize)]
struct AccessToken {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ODataPage<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.count", default)]
    count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Folder {
    id: i64,
}

impl OrchestratorClient {
    pub fn new(source: OrchestratorSource, http: reqwest::Client, policy: RetryPolicy) -> Self {
        let limiter = RateLimiter::per_minute(source.requests_per_minute);
        let ntlm = matches!(source.auth, OrchestratorAuth::Ntlm { .. }).then(|| {
            let client = crate::http::client_builder().pool_max_idle_per_host(1);
            Mutex::new(client.build().expect("static client settings are valid"))
        });
        OrchestratorClient {
            source,
            http,
            policy,
            limiter,
            token: Mutex::new(None),
            ntlm,
        }
    }

    pub fn source(&self) -> &OrchestratorSource {
        &self.source
    }

    /// Every folder's id (`GET /odata/Folders`).
    pub async fn folders(&self, deadline: Instant) -> Result<Vec<i64>, OrchestratorError> {
        let page: ODataPage<Folder> = self
            .get("/odata/Folders?$select=Id", None, deadline)
            .await?;
        Ok(page.value.into_iter().map(|f| f.id).collect())
    }

    /// One page of jobs of `folder` that ended in [from, to) in a terminal state, after `after`,
    /// ordered by (EndTime, Id).
    pub async fn ended_jobs(
        &self,
        folder: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<Cursor>,
        deadline: Instant,
    ) -> Result<Page, OrchestratorError> {
        let mut filter = format!(
            "EndTime ge {} and EndTime lt {} and (State eq 'Faulted' or State eq 'Successful' or State eq 'Stopped')",
            odata_time(from),
            odata_time(to)
        );
        if let Some(c) = after {
            let t = odata_time(c.end_time);
            filter.push_str(&format!(
                " and (EndTime gt {t} or (EndTime eq {t} and Id gt {}))",
                c.id
            ));
        }
        let query = [
            ("$filter", filter.as_str()),
            // The process is `Release.ProcessKey`, as webhooks name it (not `ReleaseName`,
            // which carries the environment: `Invoice_Production`).
            ("$expand", "Release"),
            ("$orderby", "EndTime asc,Id asc"),
            ("$top", &self.source.page_size.to_string()),
            ("$count", "true"),
        ];
        let path = format!("/odata/Jobs?{}", encode_query(&query));
        let page: ODataPage<Job> = self.get(&path, Some(folder), deadline).await?;
        // `@odata.count` counts what matches this page's filter; a server that caps `$top` below
        // our page size then still pages on instead of stopping at its first "short" page.
        let n = page.value.len() as u64;
        let more = match page.count {
            Some(count) => n < count,
            None => n >= u64::from(self.source.page_size),
        };
        Ok(Page {
            jobs: page.value,
            more: more && n > 0,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        folder: Option<i64>,
        deadline: Instant,
    ) -> Result<T, OrchestratorError> {
        let url = self.url(path);
        if let OrchestratorAuth::Ntlm { username, password } = &self.source.auth {
            let body = self
                .ntlm_get(&url, folder, username, password, deadline)
                .await?;
            return serde_json::from_str(&body)
                .map_err(|e| OrchestratorError::Response(e.to_string()));
        }
        let mut renewed = false;
        loop {
            let token = self.token(deadline).await?;
            self.limiter.acquire().await;
            let result = send_with_retry(&self.source.name, &self.policy, deadline, || {
                let request = self
                    .http
                    .get(&url)
                    .bearer_auth(&token)
                    .header("Accept", "application/json");
                match folder {
                    Some(f) => request.header(FOLDER_HEADER, f.to_string()),
                    None => request,
                }
            })
            .await;
            match result {
                Ok(sent) => {
                    return serde_json::from_str(&sent.body)
                        .map_err(|e| OrchestratorError::Response(e.to_string()));
                }
                Err(NotifyError::Permanent { status: 401, .. }) if !renewed => {
                    renewed = true;
                    *self.token.lock().await = None;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `path` on the source, with the `api_key` query parameter when one is configured (the
    /// predecessor sent it on every request). Errors never show a URL (see `crate::http`).
    fn url(&self, path: &str) -> String {
        let mut url = format!("{}{path}", self.source.url);
        if let Some(key) = &self.source.api_key {
            url.push(if path.contains('?') { '&' } else { '?' });
            url.push_str("api_key=");
            url.push_str(&percent_encode(key.expose_secret()));
        }
        url
    }

    async fn token(&self, deadline: Instant) -> Result<String, OrchestratorError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.authenticate(deadline).await?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    async fn authenticate(
        &self,
        deadline: Instant,
    ) -> Result<(String, Duration), OrchestratorError> {
        let auth_err = |e: NotifyError| OrchestratorError::Auth(e.to_string());
        match &self.source.auth {
            OrchestratorAuth::Password {
                tenancy_name,
                username,
                password,
            } => {
                let url = self.url("/api/Account/Authenticate");
                let body = json!({
                    "TenancyName": tenancy_name,
                    "UsernameOrEmailAddress": username,
                    "Password": password.expose_secret(),
                });
                let sent = send_with_retry(&self.source.name, &self.policy, deadline, || {
                    self.http.post(&url).json(&body)
                })
                .await
                .map_err(auth_err)?;
                let a: Authenticated = serde_json::from_str(&sent.body)
                    .map_err(|e| OrchestratorError::Auth(e.to_string()))?;
                Ok((a.result, TOKEN_LIFETIME))
            }
            OrchestratorAuth::ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", client_secret.expose_secret()),
                    ("scope", scope.as_str()),
                ];
                let sent = send_with_retry(&self.source.name, &self.policy, deadline, || {
                    self.http.post(token_url).form(&form)
                })
                .await
                .map_err(auth_err)?;
                let t: AccessToken = serde_json::from_str(&sent.body)
                    .map_err(|e| OrchestratorError::Auth(e.to_string()))?;
                let lifetime = t.expires_in.map_or(TOKEN_LIFETIME, |s| {
                    Duration::from_secs(s.saturating_sub(60))
                });
                Ok((t.access_token, lifetime))
            }
            // Windows authentication has no token; `get` takes `ntlm_get` instead.
            OrchestratorAuth::Ntlm { .. } => Err(OrchestratorError::Auth(
                "Windows authentication has no token".into(),
            )),
        }
    }
}

/// OData datetime literal: unquoted, UTC, 7 fractional digits (.NET ticks), e.g.
/// `2018-11-26T14:14:26.2529616Z`.
pub fn odata_time(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.nanosecond() / 100
    )
}

fn encode_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests;
