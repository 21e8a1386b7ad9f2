//! An Orchestrator tenant as the client polls it. Read from `sources.orchestrator[]` or the
//! predecessor's `scheduled.orchestrator` by [`crate::config`].

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;

/// One Orchestrator tenant to poll.
#[derive(Debug, Clone)]
pub struct OrchestratorSource {
    /// Names the watermarks (`WATERMARK#uipath:<name>`) and the schedule's `sources` filter.
    pub name: String,
    /// API base: `https://orch.example.com` or `https://cloud.uipath.com/<org>/<tenant>/orchestrator_`.
    pub url: String,
    pub auth: OrchestratorAuth,
    /// Folder ids (OrganizationUnitId); empty = every folder `/odata/Folders` lists.
    pub folders: Vec<i64>,
    pub page_size: u32,
    /// How far before the watermark each poll starts again, to catch late-committed jobs.
    pub overlap: Duration,
    /// How far back the first poll looks.
    pub initial_lookback: Duration,
    pub interval: Duration,
    /// Automation Cloud allows 100 `GET /odata/Jobs` a minute per tenant for non-robot callers.
    pub requests_per_minute: u32,
    /// Sent as the `api_key` query parameter on every request, as the predecessor did.
    pub api_key: Option<SecretString>,
    /// The tenant's id as webhooks carry it (`TenantId`), given to every polled job.
    pub tenant_id: Option<i64>,
    /// Channels polled for on their own schedule (the predecessor's `scheduled.<target>`), each
    /// with its own watermarks. Empty: one poll every `interval`, for every route.
    pub schedules: Vec<PollSchedule>,
    /// Triggers watched for runs that never happen and for being disabled (`triggers`).
    pub triggers: Option<TriggerWatch>,
    /// Jobs watched for staying too long in one state (`hung`).
    pub hung: Option<HungWatch>,
}

/// How jobs that stay too long in one state are found (`poll/hung.rs`). A limit of `None` is
/// off.
#[derive(Debug, Clone, PartialEq)]
pub struct HungWatch {
    /// Running (or Resumed) past this, for a process with no `max_running` and too few
    /// successful runs learned.
    pub running: Option<Duration>,
    /// Learn each process's limit from its successful runs; `None`: never.
    pub learn: Option<Learn>,
    pub pending: Option<Duration>,
    pub suspended: Option<Duration>,
    /// Stopping or Terminating past this.
    pub stopping: Option<Duration>,
    /// A process's own Running limit (by process key), before anything learned.
    pub max_running: BTreeMap<String, Duration>,
}

/// A learned Running limit: `k` × the p95 of the last `runs` successful runs' durations, at
/// least `floor`, once [`Learn::MIN_RUNS`] are known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Learn {
    pub k: f64,
    pub runs: usize,
    pub floor: Duration,
}

impl Learn {
    /// Fewer successful runs than this teach nothing (a p95 of two runs is one of them).
    pub const MIN_RUNS: usize = 5;
}

/// How triggers are watched (`poll/triggers.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerWatch {
    /// How long after its time a run may start.
    pub grace: Duration,
    /// How often a folder's triggers are read again.
    pub refresh: Duration,
}

impl TriggerWatch {
    /// How many folders' triggers one cycle reads again, at most, once each was read: enough
    /// for every folder once per `refresh`, spread over the cycles of `interval`.
    pub fn reads_per_cycle(&self, folders: usize, interval: Duration) -> usize {
        let cycles = (self.refresh.as_secs_f64() / interval.as_secs_f64().max(1.0)).max(1.0);
        (folders as f64 / cycles).ceil() as usize
    }
}

/// Some channels' own poll of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollSchedule {
    pub channels: Vec<String>,
    /// How often `opsbell serve` polls for them.
    pub every: Duration,
    /// The schedule expression for the `job-poller`'s event on AWS (`rate(10 minutes)`, or the
    /// predecessor's own `cron(…)`).
    pub expression: String,
}

#[derive(Debug, Clone)]
pub enum OrchestratorAuth {
    /// `POST /api/Account/Authenticate` (standalone, "ROPC").
    Password {
        tenancy_name: String,
        username: String,
        password: SecretString,
    },
    /// OAuth client credentials of an External Application.
    ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: SecretString,
        scope: String,
    },
    /// Windows authentication on IIS (NTLM): `DOMAIN\\user` or `user@domain`.
    Ntlm {
        username: String,
        password: SecretString,
    },
}

impl OrchestratorSource {
    /// The Orchestrator requests one poll cycle makes at most (a page of ended jobs per folder,
    /// and what the watches read), against Automation Cloud's 100 a minute per tenant, for
    /// `opsbell check`.
    pub fn requests_per_cycle(&self) -> String {
        let s = self;
        let minutes = s.interval.as_secs().div_ceil(60).max(1);
        let allowed = format!(
            "Automation Cloud allows 100 a minute, {} a cycle",
            100 * minutes
        );
        let hung = usize::from(s.hung.is_some());
        let n = s.folders.len();
        if n == 0 {
            let lists = 1 + hung + usize::from(s.triggers.is_some());
            let list = match lists {
                1 => "1 folder list".to_string(),
                k => format!("{k} folder lists"),
            };
            let mut each = vec!["1 job page".to_string()];
            if hung == 1 {
                each.push("1 page of jobs not ended".into());
            }
            if let Some(t) = &s.triggers {
                let every = chrono::Duration::from_std(t.refresh).unwrap_or_default();
                each.push(format!(
                    "1 triggered-jobs page when a run fell due, and its triggers every {}",
                    crate::time::span_text(every)
                ));
            }
            return match each.len() {
                1 => format!(
                    "  Orchestrator requests per cycle: {list} + 1 job page per folder ({allowed})"
                ),
                _ => format!(
                    "  Orchestrator requests per cycle: {list} + per folder {} ({allowed})",
                    each.join(", ")
                ),
            };
        }
        let mut parts = vec![format!("{n} job pages")];
        let mut total = n;
        if hung == 1 {
            parts.push(format!("{n} pages of jobs not ended"));
            total += n;
        }
        let Some(t) = &s.triggers else {
            return match hung {
                0 => format!(
                    "  Orchestrator requests per cycle: {n} (1 job page per folder; {allowed})"
                ),
                _ => format!(
                    "  Orchestrator requests per cycle: {total} ({}; {allowed})",
                    parts.join(", ")
                ),
            };
        };
        let reads = t.reads_per_cycle(n, s.interval);
        parts.push(format!(
            "{n} triggered-jobs pages, {reads} trigger reads; {n} trigger reads in the first cycle"
        ));
        format!(
            "  Orchestrator requests per cycle: at most {} ({}; {allowed})",
            total + n + reads,
            parts.join(", ")
        )
    }
}
