//! `POST /chat/events` in `opsbell serve`: the same listener as the `chat-listener` Lambda, with
//! the registry in the local database. On when `CHAT_PROJECT_NUMBER` or `CHAT_ENDPOINT_URL` is set.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::response::{IntoResponse, Json, Response};
use opsbell_core::chat::ChatSettings;
use opsbell_core::chat::listener::ChatListener;
use opsbell_core::chat::verify::ChatVerifier;
use opsbell_core::config::ConfigError;
use opsbell_core::escalation::trigger::DirFiles;
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::ports::Files;
use opsbell_local::SqliteStore;

pub struct LocalChat {
    bot: String,
    verifier: ChatVerifier,
    records: Arc<SqliteStore>,
    oncall: Option<(OncallSettings, DirFiles)>,
    language: opsbell_core::locale::Language,
    silence_max: chrono::Duration,
    access: opsbell_core::access::Access,
}

impl LocalChat {
    /// The bot when the environment turns it on; its settings' problems when they are wrong.
    pub fn from_env(
        records: Arc<SqliteStore>,
        http: &reqwest::Client,
        access: opsbell_core::access::Access,
    ) -> Result<Option<Arc<LocalChat>>, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let problems = |problems| ConfigError { problems };
        let Some(chat) = ChatSettings::from_env(&env).map_err(problems)? else {
            return Ok(None);
        };
        let verifier = ChatVerifier::new(chat.audience, chat.keys_url, http.clone());
        let oncall = OncallSettings::optional(&env).map_err(problems)?.map(|s| {
            let dir = DirFiles(s.files_dir.clone().unwrap_or_else(|| ".".into()).into());
            (s, dir)
        });
        Ok(Some(Arc::new(LocalChat {
            bot: chat.bot,
            verifier,
            records,
            oncall,
            language: chat.language,
            silence_max: chat.silence_max,
            access,
        })))
    }

    pub async fn handle(&self, headers: &HeaderMap, body: &Bytes) -> Response {
        let listener = ChatListener {
            bot: &self.bot,
            verifier: &self.verifier,
            records: self.records.as_ref(),
            oncall: self.oncall.as_ref().map(|(s, f)| (s, f as &dyn Files)),
            language: self.language,
            silence_max: self.silence_max,
            access: &self.access,
        };
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let reply = listener
            .handle(authorization, body, chrono::Utc::now())
            .await;
        let status =
            StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(reply.body)).into_response()
    }
}
