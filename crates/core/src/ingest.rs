//! Receiving an Orchestrator webhook: size check → signature → parse → enqueue → answer.
//! Shared by the `webhook-ingest` Lambda and `opsbell serve`.
//!
//! Never calls a chat service: Orchestrator does not retry, and one failed delivery disables the
//! webhook for an hour. Every answer is quick; only a failing queue gives a 5xx.

use std::sync::Arc;

use secrecy::SecretString;
use serde_json::json;
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::event::{Event, State};
use crate::http::Reply;
use crate::ports::{Clock, Queue};
use crate::signature::verify;
use crate::source::Inbound;
use crate::source::queue_item::{self, QueueItems};
use crate::source::uipath::{UipathContext, parse_webhook};

/// Largest body accepted (job bodies are a few KB; a faulted job's stack trace can reach tens).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no Orchestrator webhook secret is configured (webhook.orchestrator.secret); refusing to accept \
     unsigned webhooks. Set a secret, or set webhook.orchestrator.allow_unsigned to true explicitly."
)]
pub struct NoSecret;

pub struct Ingest {
    secrets: Vec<SecretString>,
    orchestrator_url: Option<String>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    /// How long an away robot's report waits before the fan-out judges it (`robots.grace`).
    robot_grace: std::time::Duration,
    /// Which failed queue transactions are told (`queue_items`).
    queue_items: Option<QueueItems>,
}

impl Ingest {
    /// Refuses to build without a secret unless `allow_unsigned` is set explicitly.
    pub fn new(
        config: &Config,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, NoSecret> {
        let o = &config.orchestrator;
        if o.secrets.is_empty() && !o.allow_unsigned {
            return Err(NoSecret);
        }
        if o.secrets.is_empty() {
            warn!("Accepting unsigned Orchestrator webhooks (allow_unsigned is set).");
        }
        Ok(Ingest {
            secrets: o.secrets.clone(),
            orchestrator_url: o.url.clone(),
            queue,
            clock,
            robot_grace: config.robot_grace,
            queue_items: config.queue_items,
        })
    }

    /// Handles one request. `signature` is the `X-UiPath-Signature` header (looked up
    /// case-insensitively by the caller); `body` the exact bytes received.
    pub async fn handle(&self, signature: Option<&str>, body: &[u8]) -> Reply {
        if body.len() > MAX_BODY_BYTES {
            warn!(bytes = body.len(), "Webhook body too large; refused.");
            return Reply::new(
                413,
                json!({ "error": format!("body exceeds {MAX_BODY_BYTES} bytes") }),
            );
        }
        if !self.secrets.is_empty()
            && let Err(e) = verify(&self.secrets, signature, body)
        {
            warn!(reason = %e, "Webhook signature rejected.");
            return Reply::new(401, json!({ "error": e.to_string() }));
        }
        let ctx = UipathContext {
            orchestrator_url: self.orchestrator_url.clone(),
            received_at: self.clock.now(),
            tenant: None,
        };
        let events = match parse_webhook(body, &ctx) {
            Ok(Inbound::Events(events)) => events,
            Ok(Inbound::Ignored { kind }) => {
                info!(kind, "Webhook ignored.");
                return Reply::new(200, json!({ "ignored": kind }));
            }
            Err(e) => {
                warn!(field = %e.path, error = %e.message, "Malformed webhook refused.");
                return Reply::new(
                    400,
                    json!({ "error": "malformed webhook", "field": e.path, "detail": e.message }),
                );
            }
        };
        let (events, unasked): (Vec<Event>, Vec<Event>) =
            (events.into_iter()).partition(|e| QueueItems::admits(self.queue_items.as_ref(), e));
        if events.is_empty() && !unasked.is_empty() {
            info!(
                kind = queue_item::FAILED,
                "Failed queue transaction not told (queue_items)."
            );
            let reason = match self.queue_items {
                None => "queue_items is not set",
                Some(_) => "a business exception (queue_items.business_exceptions is off)",
            };
            return Reply::new(
                200,
                json!({ "ignored": queue_item::FAILED, "reason": reason }),
            );
        }
        // An away robot is judged after the grace period: the report waits on the queue.
        let (away, events): (Vec<Event>, Vec<Event>) =
            events.into_iter().partition(|e| e.state == State::Offline);
        let queued = match away.is_empty() {
            true => Ok(()),
            false => self.queue.enqueue_later(&away, self.robot_grace).await,
        };
        let queued = match (queued, events.is_empty()) {
            (Ok(()), false) => self.queue.enqueue(&events).await,
            (other, _) => other,
        };
        let events: Vec<Event> = away.into_iter().chain(events).collect();
        if let Err(e) = queued {
            error!(error = %e, events = events.len(), "Could not queue webhook events; Orchestrator will not resend them.");
            return Reply::new(
                503,
                json!({ "error": "queue unavailable, events not accepted" }),
            );
        }
        let keys: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
        debug!(?keys, "Webhook queued.");
        Reply::new(202, json!({ "queued": events.len(), "keys": keys }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::SystemClock;
    use crate::signature::sign;
    use crate::testing::MemoryQueue;

    fn config(secret: Option<&str>, allow_unsigned: bool) -> Config {
        let mut c = Config::console_only();
        c.orchestrator.secrets = secret.map(SecretString::from).into_iter().collect();
        c.orchestrator.allow_unsigned = allow_unsigned;
        c
    }

    fn ingest(config: &Config, queue: Arc<MemoryQueue>) -> Ingest {
        Ingest::new(config, queue, Arc::new(SystemClock)).unwrap()
    }

    const BODY: &[u8] = br#"{"Type":"job.faulted","Job":{"Key":"K","State":"Faulted"}}"#;

    #[test]
    fn refuses_to_start_without_a_secret_unless_told() {
        let q: Arc<dyn Queue> = Arc::new(MemoryQueue::default());
        assert!(Ingest::new(&config(None, false), q.clone(), Arc::new(SystemClock)).is_err());
        assert!(Ingest::new(&config(None, true), q, Arc::new(SystemClock)).is_ok());
    }

    #[tokio::test]
    async fn answers() {
        let q = Arc::new(MemoryQueue::default());
        let i = ingest(&config(Some("s"), false), q.clone());
        let sig = sign(&SecretString::from("s"), BODY);
        assert_eq!(i.handle(None, BODY).await.status, 401);
        assert_eq!(i.handle(Some(&sig), b"{}").await.status, 401);
        assert_eq!(i.handle(Some(&sig), BODY).await.status, 202);
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(i.handle(Some(&sig), &big).await.status, 413);
        let junk = b"not json";
        let reply = i
            .handle(Some(&sign(&SecretString::from("s"), junk)), junk)
            .await;
        assert_eq!(
            (reply.status, reply.body["field"].as_str()),
            (400, Some("body"))
        );
        assert_eq!(q.take().len(), 1);
    }

    #[tokio::test]
    async fn a_failed_queue_transaction_is_told_only_as_queue_items_asks() {
        let path = format!(
            "{}/../../samplejson/uipath-webhook-queueitem-transaction-failed.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let business = std::fs::read(path).unwrap();
        let mut app: serde_json::Value = serde_json::from_slice(&business).unwrap();
        app["QueueItem"]["ProcessingException"]["Type"] = "ApplicationException".into();
        let app = app.to_string().into_bytes();
        let answers = |queue_items: Option<QueueItems>| {
            let (business, app) = (business.clone(), app.clone());
            async move {
                let mut c = config(None, true);
                c.queue_items = queue_items;
                let q = Arc::new(MemoryQueue::default());
                let i = ingest(&c, q.clone());
                let b = i.handle(None, &business).await;
                let a = i.handle(None, &app).await;
                (b.status, a.status, b.body["reason"].clone(), q.take().len())
            }
        };
        let (b, a, reason, queued) = answers(None).await;
        assert_eq!((b, a, queued), (200, 200, 0));
        assert_eq!(reason, "queue_items is not set");
        let (b, a, _, queued) = answers(Some(QueueItems::default())).await;
        assert_eq!((b, a, queued), (200, 202, 1), "application exceptions only");
        let all = QueueItems {
            business_exceptions: true,
        };
        let (b, a, _, queued) = answers(Some(all)).await;
        assert_eq!((b, a, queued), (202, 202, 2));
    }

    #[tokio::test]
    async fn unsigned_mode_and_queue_failure() {
        let down = Arc::new(MemoryQueue::default());
        down.set_down(true);
        let i = ingest(&config(None, true), down);
        assert_eq!(i.handle(None, BODY).await.status, 503);
    }
}
