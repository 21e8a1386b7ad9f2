//! One issue per problem, remembered in the state table ([`Ticket`]).
//!
//! Every change of a ticket row is a compare-and-swap, so two deliveries of one problem (two
//! Lambdas, or two `serve` workers) never both open an issue: the first takes an `Opening` lease
//! on the row, the other is told to try again later and then comments. Within one process the
//! deliveries of one problem also wait for each other, so a flood becomes one issue and its
//! comments at the first try.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{info, warn};

use super::TicketPer;
use super::api::{Api, Found};
use crate::event::{Event, Severity, Source, State};
use crate::ports::{Clock, NotifyError, Receipt, Records, StoreError};
use crate::render::backlog::render;
use crate::render::{Label, label};
use crate::state::{Stored, Ticket, TicketStatus};

/// Attempts to win a row another delivery keeps changing before giving up for now.
const RACES: usize = 5;
/// How long past the delivery's deadline an `Opening` lease holds.
const LEASE_SLACK: Duration = Duration::from_secs(30);

pub(super) struct Tickets {
    records: Arc<dyn Records>,
    clock: Arc<dyn Clock>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The problem an event belongs to: its alarm, or its process (job) per `per`.
pub(super) fn problem_of(event: &Event, per: TicketPer) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    if let Some(trigger) = trigger::problem(event) {
        return trigger;
    }
    if event.state == State::Hung {
        return hung::problem(event);
    }
    if event.source == Source::Cloudwatch {
        let (account, region) = (or_dash(&event.tenant), or_dash(&event.folder));
        return format!("alarm:{account}:{region}:{}", event.process);
    }
    match per {
        TicketPer::Job => {
            let job = event.job_key.as_ref().or(event.job_id.as_ref());
            let job = job.map_or_else(|| event.key.to_string(), |j| j.to_ascii_lowercase());
            format!("job:{}:{job}", event.source)
        }
        TicketPer::Process | TicketPer::Event => {
            format!("process:{}:{}", event.source, event.process)
        }
    }
}

/// The word every issue of `problem` at `channel` carries, for the search that finds it when its
/// row is lost: `ob` and 16 hex digits (one token to Backlog's keyword search).
pub(super) fn marker(channel: &str, problem: &str) -> String {
    let hex = crate::signature::digest_hex(&format!("{channel}\n{problem}"), 8);
    format!("ob{hex}")
}

fn store(e: StoreError) -> NotifyError {
    NotifyError::later(format!("state table: {e}"))
}

fn receipt(detail: String, attempts: u32) -> Receipt {
    Receipt { detail, attempts }
}

impl Tickets {
    pub fn new(records: Arc<dyn Records>, clock: Arc<dyn Clock>) -> Self {
        Tickets {
            records,
            clock,
            locks: Mutex::new(HashMap::new()),
        }
    }

    fn lock_of(&self, problem: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(problem.to_string()).or_default().clone()
    }

    pub async fn handle(
        &self,
        api: &Api,
        event: &Event,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError> {
        let problem = problem_of(event, api.config.ticket_per);
        let mut done = self.handle_problem(api, event, &problem, deadline).await?;
        if let Some(closed) = self.end_hang(api, event, deadline).await? {
            done.detail = format!("{}; hung: {}", done.detail, closed.detail);
            done.attempts += closed.attempts;
        }
        if event.state.severity() != Severity::Good {
            return Ok(done);
        }
        // A job that succeeds also ends its trigger's "could not start" problem.
        let mut details = vec![done.detail];
        let mut attempts = done.attempts;
        for trigger in self.open_triggers(api, event).await? {
            let also = self.handle_problem(api, event, &trigger, deadline).await?;
            details.push(format!("trigger: {}", also.detail));
            attempts += also.attempts;
        }
        Ok(receipt(details.join("; "), attempts))
    }

    /// `event` happened to `problem`: a recovery when it is good, else an occurrence.
    async fn handle_problem(
        &self,
        api: &Api,
        event: &Event,
        problem: &str,
        deadline: Instant,
    ) -> Result<Receipt, NotifyError> {
        let over = event.state.severity() == Severity::Good;
        self.settle(api, event, problem, deadline, over).await
    }

    /// Ends `problem` (`over`) or counts `event` in it, one delivery of it at a time.
    pub(super) async fn settle(
        &self,
        api: &Api,
        event: &Event,
        problem: &str,
        deadline: Instant,
        over: bool,
    ) -> Result<Receipt, NotifyError> {
        let lock = self.lock_of(problem);
        let _one_at_a_time = lock.lock().await;
        let run = Run {
            tickets: self,
            api,
            event,
            problem,
            deadline,
        };
        match over {
            true => run.recover().await,
            false => run.occur().await,
        }
    }
}

/// One event's delivery to one Backlog channel.
struct Run<'a> {
    tickets: &'a Tickets,
    api: &'a Api,
    event: &'a Event,
    problem: &'a str,
    deadline: Instant,
}

impl Run<'_> {
    fn channel(&self) -> &str {
        &self.api.ctx.name
    }

    fn records(&self) -> &dyn Records {
        self.tickets.records.as_ref()
    }

    fn now(&self) -> DateTime<Utc> {
        self.tickets.clock.now()
    }

    async fn load(&self) -> Result<Option<Stored<Ticket>>, NotifyError> {
        Ticket::load(self.records(), self.channel(), self.problem)
            .await
            .map_err(store)
    }

    /// A comment: `label (#n): summary`, then the event as the issue shows it.
    fn comment(&self, l: Label, n: Option<u32>) -> String {
        let opts = self.api.ctx.render;
        let issue = render(self.event, opts);
        let count = n.map(|n| format!(" (#{n})")).unwrap_or_default();
        let head = label(l, opts.language);
        format!("{head}{count}: {}\n\n{}", issue.summary, issue.description)
    }

    /// The problem happened (again).
    async fn occur(&self) -> Result<Receipt, NotifyError> {
        for _ in 0..RACES {
            let read = self.load().await?;
            let now = self.now();
            let previous = read.as_ref().map(|r| r.row.clone());
            match &previous {
                Some(
                    t @ Ticket {
                        status: TicketStatus::Open,
                        ..
                    },
                ) => {
                    let n = t.count + 1;
                    let text = self.comment(Label::Again, Some(n));
                    let attempts = self.api.comment(&t.issue, &text, self.deadline).await?;
                    self.update(|row| {
                        row.count = row.count.max(n);
                        row.last_at = now;
                    })
                    .await;
                    return Ok(receipt(format!("{} comment #{n}", t.issue), attempts));
                }
                Some(Ticket {
                    status: TicketStatus::Opening { until },
                    ..
                }) if *until > now => {
                    return Err(NotifyError::later(
                        "another delivery is opening this problem's issue",
                    ));
                }
                _ => {}
            }
            let lease = self.deadline.saturating_duration_since(Instant::now()) + LEASE_SLACK;
            let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
            let claim = Ticket {
                issue: previous
                    .as_ref()
                    .map(|p| p.issue.clone())
                    .unwrap_or_default(),
                status: TicketStatus::Opening { until },
                count: previous.as_ref().map_or(0, |p| p.count),
                last_at: now,
            };
            let claimed = claim
                .swap(self.records(), self.channel(), self.problem, read.as_ref())
                .await
                .map_err(store)?;
            let Some(claimed) = claimed else { continue };
            return match self.open(previous.as_ref(), now).await {
                Ok((row, receipt)) => {
                    let saved = row
                        .swap(self.records(), self.channel(), self.problem, Some(&claimed))
                        .await;
                    if !matches!(saved, Ok(Some(_))) {
                        warn!(channel = self.channel(), issue = %row.issue, "Could not record the issue of this problem; its marker will find it.");
                    }
                    Ok(receipt)
                }
                Err(e) => {
                    self.release(&claimed, previous.as_ref()).await;
                    Err(e)
                }
            };
        }
        Err(NotifyError::later(
            "this problem's issue kept changing; trying again later",
        ))
    }

    /// With the right to open: reopen the issue the row or the marker search knows, comment on
    /// an open one the search found, or open a new one.
    async fn open(
        &self,
        previous: Option<&Ticket>,
        now: DateTime<Utc>,
    ) -> Result<(Ticket, Receipt), NotifyError> {
        let config = &self.api.config;
        let within = |at: DateTime<Utc>| {
            config
                .reopen_within
                .is_some_and(|w| (now - at).to_std().is_ok_and(|age| age <= w))
        };
        let count = previous.map_or(0, |p| p.count) + 1;
        let open = |issue: &str, count| Ticket {
            issue: issue.to_string(),
            status: TicketStatus::Open,
            count,
            last_at: now,
        };
        let found = match previous {
            Some(Ticket {
                status: TicketStatus::Closed { at },
                issue,
                ..
            }) => {
                let closed = !issue.is_empty() && within(*at);
                closed.then(|| Found {
                    key: issue.clone(),
                    closed: true,
                    updated: Some(*at),
                })
            }
            // No row (lost, expired) or a dead opener's lease: the issue may exist all the same.
            _ => {
                let marker = marker(self.channel(), self.problem);
                self.api.search(&marker, self.deadline).await?
            }
        };
        match found {
            Some(f) if !f.closed => {
                let text = self.comment(Label::Again, None);
                let attempts = self.api.comment(&f.key, &text, self.deadline).await?;
                info!(channel = self.channel(), issue = %f.key, "Found this problem's open issue by its marker; commented.");
                let detail = format!("{} comment (found by marker)", f.key);
                Ok((open(&f.key, count.max(2)), receipt(detail, attempts)))
            }
            Some(f) if f.updated.is_some_and(within) => {
                let status = &config.reopened_status_id;
                let text = self.comment(Label::Reopened, None);
                let attempts = self
                    .api
                    .set_status(&f.key, status, &text, self.deadline)
                    .await?;
                Ok((
                    open(&f.key, 1),
                    receipt(format!("{} reopened", f.key), attempts),
                ))
            }
            _ => {
                let marker = marker(self.channel(), self.problem);
                let (key, attempts) = self
                    .api
                    .create(self.event, Some(&marker), self.deadline)
                    .await?;
                Ok((open(&key, 1), receipt(key.clone(), attempts)))
            }
        }
    }
}

mod hung;
mod recover;
mod trigger;
