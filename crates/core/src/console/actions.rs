//! What a responder may do from the console: ack an escalation, save or expire a silence,
//! redrive the dead messages. The same functions chat and the CLI call; each is logged with
//! who did it, and the silence and the ack record them.

use tracing::info;

use super::silences::{body, draft};
use super::{Request, View};
use crate::escalation::ack;
use crate::ports::StoreError;
use crate::silence;

/// Where to go after it (`Ok(Ok)`), a page saying what was wrong with the form (`Ok(Err)`), or
/// a store that failed.
pub async fn run(view: &View<'_>, request: &Request) -> Result<Result<String, String>, StoreError> {
    let records = view.console.records.as_ref();
    let who = view.session.who.as_str();
    let now = view.now;
    match request.path.as_str() {
        "/ack" => {
            let incident = request.field("incident").unwrap_or_default();
            let acked = ack(records, &incident, who, now)
                .await
                .map_err(|e| StoreError(e.to_string()))?;
            info!(incident = %incident, by = who, acked = acked.is_some(), "Console ack.");
            Ok(Ok("/".into()))
        }
        "/silences" => {
            let text = request.field("text").unwrap_or_default();
            match draft(view, &text) {
                Ok(d) => {
                    let request = silence::Request {
                        matchers: d.matchers,
                        channels: d.channels,
                        length: d.ends_at - d.starts_at,
                        comment: d.comment,
                    };
                    let saved = silence::add(records, request, who, now).await?;
                    info!(id = %saved.id, what = %silence::what(&saved), by = who, "Console silence saved.");
                    Ok(Ok("/silences".into()))
                }
                Err(e) => Ok(Err(body(view, &text, Some(Err(e))).await?)),
            }
        }
        "/silences/expire" => {
            let id = request.field("id").unwrap_or_default();
            let ended = silence::expire(records, &id, now).await?;
            info!(id = %id, by = who, ended = ended.is_some(), "Console silence expired.");
            Ok(Ok("/silences".into()))
        }
        "/redrive" => {
            let Some(dead) = &view.console.dead else {
                return Ok(Ok("/health".into()));
            };
            let moved = dead.redrive().await?;
            info!(by = who, moved = ?moved, "Console redrive of dead messages.");
            Ok(Ok("/health".into()))
        }
        _ => Ok(Err(super::layout::refused(
            view.word(super::words::Word::NotFound),
        ))),
    }
}
