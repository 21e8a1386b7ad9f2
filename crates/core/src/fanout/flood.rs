//! Flood control per channel, as Alertmanager groups alerts: when more than `burst` events
//! reach a channel within one `window`, the first `burst` are posted one by one and the rest are
//! held for one digest per window (counts by state, process and folder, the first `lines`
//! events, "and M more"). Every event is posted, or listed or counted in a digest, and its
//! delivery-log record says which digest (`in digest <key>`).
//!
//! Durable in both runtimes: the window is a state-table row changed by compare-and-swap
//! ([`FloodWindow`]), and the digest is a delayed message on the events queue (SQS
//! `DelaySeconds`; the outbox's due time in `opsbell serve`) queued before the first event is
//! held. A crash between admitting an event and recording its delivery redelivers the event; the
//! window knows it (by a short hash) and answers as before, so it is neither counted twice nor
//! both posted and digested. The digest's own delivery is claimed like any event's, so a
//! redelivered flush posts nothing twice; an event admitted after its window's digest was
//! composed is posted on its own.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tracing::error;

pub use crate::config::flood::FloodPolicy;
use crate::event::{Event, Source, State};
use crate::ports::{Queue, StoreError};
use crate::state::{FloodWindow, Stored};

/// A digest is posted this long after its window ends, for events still being admitted.
const GRACE: Duration = Duration::from_secs(2);
const RACES: usize = 16;

/// What to do with one event at one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    Send,
    /// Held for the digest of this key.
    Held(String),
}

/// The channels under flood control, their windows and digests.
pub struct Flood {
    pub(super) policies: BTreeMap<String, FloodPolicy>,
    pub(super) queue: Arc<dyn Queue>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn store(e: StoreError) -> String {
    format!("state table: {e}")
}

/// The window `now` falls in (tumbling windows from the epoch).
pub fn window_of(policy: &FloodPolicy, now: DateTime<Utc>) -> DateTime<Utc> {
    let w = i64::try_from(policy.window.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let start = now.timestamp_millis().div_euclid(w) * w;
    DateTime::from_timestamp_millis(start).unwrap_or(now)
}

/// The delayed message that posts channel `channel`'s digest of the window at `start`.
pub fn digest_event(channel: &str, start: DateTime<Utc>) -> Event {
    let at = start.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut e = Event::new(Source::Digest, channel, &at, State::Alarm, "opsbell", start);
    e.only_channels = vec![channel.to_string()];
    e
}

fn line(event: &Event) -> String {
    let mut l = format!("{} {}", event.process, event.state);
    if let Some(m) = &event.machine {
        l.push_str(&format!(" ({m})"));
    }
    format!("{l} — {}", event.key)
}

impl Flood {
    pub fn new(policies: BTreeMap<String, FloodPolicy>, queue: Arc<dyn Queue>) -> Flood {
        Flood {
            policies,
            queue,
            locks: Mutex::new(HashMap::new()),
        }
    }

    fn lock_of(&self, channel: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(channel.to_string()).or_default().clone()
    }

    /// Counts `event` into `channel`'s window at `now`: send it, or hold it for the digest
    /// (whose delayed message is queued before the first hold is recorded). With `count_new`
    /// false, an event the window does not know yet is sent without being counted.
    pub async fn admit(
        &self,
        records: &dyn crate::ports::Records,
        channel: &str,
        event: &Event,
        now: DateTime<Utc>,
        count_new: bool,
    ) -> Result<Admit, String> {
        let Some(policy) = self.policies.get(channel) else {
            return Ok(Admit::Send);
        };
        let start = window_of(policy, now);
        let lock = self.lock_of(channel);
        let _one_at_a_time = lock.lock().await;
        let mut queued = false;
        for _ in 0..RACES {
            let read = FloodWindow::load(records, channel, start)
                .await
                .map_err(store)?;
            let mut w = read.as_ref().map(|r| r.row.clone()).unwrap_or_default();
            // An event the window knows gets the answer it got, even after the digest went
            // out: a held event stays held, never posted as well as digested.
            let hash = FloodWindow::hash(event.key.as_str());
            if w.kept.contains(&hash) {
                return Ok(Admit::Held(digest_event(channel, start).key.to_string()));
            }
            if w.closed || w.sent.contains(&hash) || !count_new {
                return Ok(Admit::Send);
            }
            w.count += 1;
            let held = w.count > policy.burst;
            if held {
                if !w.flush && !queued {
                    let digest = digest_event(channel, start);
                    let due = start + chrono::Duration::from_std(policy.window).unwrap_or_default();
                    let delay = (due - now).to_std().unwrap_or_default() + GRACE;
                    self.queue
                        .enqueue_later(&[digest], delay)
                        .await
                        .map_err(|e| e.to_string())?;
                    queued = true;
                }
                w.flush = true;
                w.held += 1;
                if w.kept.len() < crate::state::KEPT_MAX {
                    w.kept.push(hash.clone());
                }
                if w.lines.len() < policy.lines {
                    w.lines.push(line(event));
                }
                FloodWindow::count(&mut w.states, event.state.as_str());
                FloodWindow::count(&mut w.processes, &event.process);
                FloodWindow::count(&mut w.folders, event.folder.as_deref().unwrap_or("-"));
            }
            if !held {
                w.sent.push(hash);
            }
            if w.swap(records, channel, start, read.as_ref())
                .await
                .map_err(store)?
                .is_some()
            {
                return Ok(match held {
                    true => Admit::Held(digest_event(channel, start).key.to_string()),
                    false => Admit::Send,
                });
            }
        }
        Err("the flood window kept changing; trying again later".into())
    }

    /// The message a digest event stands for: its window closed (later events go on their own),
    /// what it held, counted. `None` when it held nothing.
    pub async fn compose(
        &self,
        records: &dyn crate::ports::Records,
        digest: &Event,
    ) -> Result<Option<Event>, String> {
        let Some(channel) = digest.only_channels.first() else {
            return Ok(None);
        };
        let start = digest.occurred_at;
        let window = loop {
            let read: Option<Stored<FloodWindow>> = FloodWindow::load(records, channel, start)
                .await
                .map_err(store)?;
            let Some(read) = read else {
                error!(%channel, key = %digest.key, "The flood window's record is gone (expired, or deleted); its held events cannot be listed. Posting that, so they are not lost unseen.");
                return Ok(Some(expired(digest)));
            };
            if read.row.closed {
                break read.row;
            }
            let mut w = read.row.clone();
            w.closed = true;
            if w.swap(records, channel, start, Some(&read))
                .await
                .map_err(store)?
                .is_some()
            {
                break w;
            }
        };
        if window.held == 0 {
            return Ok(None);
        }
        let policy = self.policies.get(channel).copied().unwrap_or_default();
        Ok(Some(message(digest, &window, &policy)))
    }
}

fn counted(map: &BTreeMap<String, u32>) -> String {
    let mut by: Vec<(&String, &u32)> = map.iter().collect();
    by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = by
        .iter()
        .take(10)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    match by.len() > 10 {
        true => format!("{}, and {} more", shown.join(", "), by.len() - 10),
        false => shown.join(", "),
    }
}

/// The digest of a window whose record is gone: it says so, and where its events are.
fn expired(digest: &Event) -> Event {
    let mut e = digest.clone();
    e.headline = Some(format!(
        "Events were held back (flood) in the window from {}, but its record is gone",
        digest
            .occurred_at
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    ));
    e.info = Some(format!(
        "Each held event is recorded in the delivery log as \"in digest {}\".",
        digest.key
    ));
    e
}

/// The digest itself: a headline, the counts, the first lines, "and M more".
fn message(digest: &Event, w: &FloodWindow, policy: &FloodPolicy) -> Event {
    let worst = [State::Faulted, State::Alarm, State::Stopped]
        .into_iter()
        .find(|s| w.states.contains_key(s.as_str()))
        .unwrap_or(State::Alarm);
    let mut e = digest.clone();
    e.state = worst;
    let window = humantime::format_duration(policy.window);
    e.headline = Some(format!(
        "{} more event(s) in {window} were held back (flood)",
        w.held
    ));
    let mut info = vec![
        format!("By state: {}", counted(&w.states)),
        format!("By process: {}", counted(&w.processes)),
        format!("By folder: {}", counted(&w.folders)),
        String::new(),
    ];
    info.extend(w.lines.iter().map(|l| format!("• {l}")));
    let more = w.held as usize - w.lines.len();
    if more > 0 {
        info.push(format!("and {more} more"));
    }
    e.info = Some(info.join("\n"));
    e
}

impl super::Fanout {
    /// Stage 5, flood: whether `event` waits for `channel`'s digest. `Some(Ok)` when held (the
    /// receipt the delivery log keeps: `in digest <key>`), `Some(Err)` when the window could
    /// not be read or written (retry), `None` to post it. A digest is not counted again, and an
    /// escalation's few messages (who is called, who answered) never wait for a window. With
    /// `count_new` false, only an event the window already knows can be held.
    pub(super) async fn held(
        &self,
        channel: &str,
        event: &Event,
        count_new: bool,
    ) -> Option<Result<crate::ports::Receipt, crate::ports::NotifyError>> {
        let counted = !matches!(event.source, Source::Digest | Source::Oncall);
        let flood = self.flood.as_ref().filter(|_| counted)?;
        let now = self.clock.now();
        let records = self.records.as_ref();
        match flood.admit(records, channel, event, now, count_new).await {
            Ok(Admit::Send) => None,
            Ok(Admit::Held(digest)) => Some(Ok(crate::ports::Receipt {
                detail: format!("in digest {digest}"),
                attempts: 0,
            })),
            Err(detail) => Some(Err(crate::ports::NotifyError::later(detail))),
        }
    }
}

#[cfg(test)]
mod tests;
