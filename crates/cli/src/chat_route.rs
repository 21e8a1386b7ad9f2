//! `POST /chat/events` in `opsbell serve`: the same listener as the `chat-listener` Lambda, with
//! the registry in the local database. On when `CHAT_PROJECT_NUMBER` or `CHAT_ENDPOINT_URL` is set.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::response::{IntoResponse, Json, Response};
use opsbell_core::chat::ChatSettings;
use opsbell_core::chat::listener::ChatListener;
use opsbell_core::chat::verify::ChatVerifier;
use opsbell_core::escalation::trigger::DirFiles;
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::ports::Files;
use opsbell_local::SqliteStore;

pub struct LocalChat {
    bot: String,
    verifier: ChatVerifier,
    records: Arc<SqliteStore>,
    oncall: Option<(OncallSettings, DirFiles)>,
}

impl LocalChat {
    pub fn from_env(records: Arc<SqliteStore>) -> Option<Arc<LocalChat>> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let chat = ChatSettings::from_env(&env)?;
        let verifier =
            ChatVerifier::new(chat.audience, chat.keys_url, opsbell_core::http::client());
        let oncall = OncallSettings::from_env(&env).ok().map(|s| {
            let dir = DirFiles(s.files_dir.clone().unwrap_or_else(|| ".".into()).into());
            (s, dir)
        });
        Some(Arc::new(LocalChat {
            bot: chat.bot,
            verifier,
            records,
            oncall,
        }))
    }

    pub async fn handle(&self, headers: &HeaderMap, body: &Bytes) -> Response {
        let listener = ChatListener {
            bot: &self.bot,
            verifier: &self.verifier,
            records: self.records.as_ref(),
            oncall: self.oncall.as_ref().map(|(s, f)| (s, f as &dyn Files)),
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
