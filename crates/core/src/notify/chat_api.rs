//! The Google Chat API as the bot: a service account's access token (OAuth 2.0 JWT-bearer grant,
//! cached), then `POST /v1/{space}/messages`.
//! <https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages/create>
//! <https://developers.google.com/identity/protocols/oauth2/service-account#httprest>

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::AdapterContext;
use super::google_chat::message_name;
use crate::http::send_with_retry;
use crate::ports::{NotifyError, Receipt};

/// The scope a Chat app needs to post as itself.
pub const CHAT_BOT_SCOPE: &str = "https://www.googleapis.com/auth/chat.bot";
pub const CHAT_API: &str = "https://chat.googleapis.com";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Reply into the thread named by `thread.threadKey`, or start it.
const REPLY_OPTION: &str = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD";
/// Ask for a new token this long before the cached one expires.
const REFRESH_EARLY: Duration = Duration::from_secs(300);

/// The fields of a service-account key file (JSON) that the grant needs.
#[derive(Clone)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub token_uri: String,
    key_id: Option<String>,
    signer: EncodingKey,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: SecretString,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

impl ServiceAccountKey {
    /// Reads a key file's JSON. The error never quotes the key.
    pub fn parse(json: &str) -> Result<ServiceAccountKey, String> {
        let file: KeyFile = serde_json::from_str(json).map_err(|e| {
            let what = if e.is_data() && e.to_string().starts_with("missing field") {
                e.to_string()
            } else {
                format!("not JSON at line {} column {}", e.line(), e.column())
            };
            format!("not a service-account key file ({what}); expected client_email, private_key, token_uri")
        })?;
        let signer = EncodingKey::from_rsa_pem(file.private_key.expose_secret().as_bytes())
            .map_err(|_| "private_key is not an RSA private key in PEM form".to_string())?;
        Ok(ServiceAccountKey {
            client_email: file.client_email,
            token_uri: file
                .token_uri
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            key_id: file.private_key_id,
            signer,
        })
    }

    /// The signed grant assertion, valid for an hour from `now` (seconds since the epoch).
    fn assertion(&self, now: u64) -> Result<String, String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            scope: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = Claims {
            iss: &self.client_email,
            scope: CHAT_BOT_SCOPE,
            aud: &self.token_uri,
            iat: now,
            exp: now + 3600,
        };
        jsonwebtoken::encode(&header, &claims, &self.signer)
            .map_err(|e| format!("could not sign the token request: {e}"))
    }
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default = "an_hour")]
    expires_in: u64,
}

fn an_hour() -> u64 {
    3599
}

/// The Chat API client of one bot (one service account).
pub struct ChatApi {
    ctx: AdapterContext,
    api_base: String,
    key: ServiceAccountKey,
    /// One token for every concurrent post; the lock makes a refresh happen once.
    token: Mutex<Option<Cached>>,
}

impl ChatApi {
    pub fn new(ctx: AdapterContext, key: ServiceAccountKey, api_base: &str) -> Self {
        ChatApi {
            ctx,
            api_base: api_base.trim_end_matches('/').to_string(),
            key,
            token: Mutex::new(None),
        }
    }

    pub fn context(&self) -> &AdapterContext {
        &self.ctx
    }

    /// Creates `message` in `space`, replying into its thread. `request_id` makes a repeat of
    /// the same request return the first message instead of posting again. A rejected token is
    /// replaced once.
    pub async fn create_message(
        &self,
        space: &str,
        message: &serde_json::Value,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError> {
        if !valid_space(space) {
            return Err(NotifyError::Permanent {
                status: 404,
                detail: format!("{space:?} is not a space name"),
                attempts: 0,
            });
        }
        let url = format!("{}/v1/{space}/messages", self.api_base);
        let query = [
            ("messageReplyOption", REPLY_OPTION),
            ("requestId", request_id),
        ];
        let post = || async {
            let token = self.token(deadline).await?;
            send_with_retry(&self.ctx.name, &self.ctx.policy, deadline, || {
                self.ctx
                    .http
                    .post(&url)
                    .query(&query)
                    .bearer_auth(token.expose_secret())
                    .json(message)
            })
            .await
        };
        let sent = match post().await {
            Err(NotifyError::Permanent {
                status: 401,
                attempts,
                ..
            }) => {
                debug!(channel = %self.ctx.name, "Access token refused; fetching a new one.");
                *self.token.lock().await = None;
                let mut sent = post().await?;
                sent.attempts += attempts;
                sent
            }
            other => other?,
        };
        Ok(Receipt {
            detail: message_name(&sent.body),
            attempts: sent.attempts,
        })
    }

    /// A valid access token, from the cache or a new grant.
    async fn token(&self, deadline: Instant) -> Result<SecretString, NotifyError> {
        let mut cached = self.token.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let assertion = self
            .key
            .assertion(now)
            .map_err(|detail| NotifyError::Permanent {
                status: 0,
                detail,
                attempts: 0,
            })?;
        let form = [
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.as_str()),
        ];
        let name = format!("{} (token)", self.ctx.name);
        let sent = send_with_retry(&name, &self.ctx.policy, deadline, || {
            self.ctx.http.post(&self.key.token_uri).form(&form)
        })
        .await?;
        let response: TokenResponse =
            serde_json::from_str(&sent.body).map_err(|_| NotifyError::Retryable {
                detail: "the token endpoint answered without an access_token".into(),
                attempts: sent.attempts,
                retry_after: None,
            })?;
        let lifetime = Duration::from_secs(response.expires_in);
        let refresh_at =
            Instant::now() + lifetime.checked_sub(REFRESH_EARLY).unwrap_or(lifetime / 2);
        if response.expires_in < 60 {
            warn!(channel = %self.ctx.name, expires_in = response.expires_in, "Short-lived access token.");
        }
        *cached = Some(Cached {
            token: response.access_token.clone(),
            refresh_at,
        });
        Ok(response.access_token)
    }
}

/// `spaces/<id>`: anything else would change the request path.
pub fn valid_space(space: &str) -> bool {
    space.strip_prefix("spaces/").is_some_and(|id| {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// The `requestId` of an event's message in one space: the same event in the same space is the
/// same message, even when a crashed worker's delivery is repeated.
pub fn request_id(event_key: &str, space: &str) -> String {
    let hex = crate::signature::digest_hex(&format!("{event_key}\n{space}"), 16);
    format!("opsbell-{hex}")
}

#[cfg(test)]
mod tests;
