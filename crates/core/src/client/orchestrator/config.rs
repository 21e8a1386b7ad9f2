//! An Orchestrator tenant as the client polls it. Read from `sources.orchestrator[]` or the
//! predecessor's `scheduled.orchestrator` by [`crate::config`].

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
    /// The Orchestrator requests one poll cycle makes at most (one page of jobs per folder),
    /// against Automation Cloud's 100 a minute per tenant, for `opsbell check`.
    pub fn requests_per_cycle(&self) -> String {
        let s = self;
        let minutes = s.interval.as_secs().div_ceil(60).max(1);
        let allowed = format!(
            "Automation Cloud allows 100 a minute, {} a cycle",
            100 * minutes
        );
        let Some(t) = &s.triggers else {
            return match s.folders.len() {
                0 => format!(
                    "  Orchestrator requests per cycle: 1 folder list + 1 job page per folder ({allowed})"
                ),
                n => {
                    format!(
                        "  Orchestrator requests per cycle: {n} (1 job page per folder; {allowed})"
                    )
                }
            };
        };
        match s.folders.len() {
            0 => format!(
                "  Orchestrator requests per cycle: 2 folder lists + per folder 1 job page, 1 triggered-jobs page when a run fell due, and its triggers every {} ({allowed})",
                crate::time::span_text(chrono::Duration::from_std(t.refresh).unwrap_or_default())
            ),
            n => {
                let reads = t.reads_per_cycle(n, s.interval);
                format!(
                    "  Orchestrator requests per cycle: at most {} ({n} job pages, {n} triggered-jobs pages, {reads} trigger reads; {n} trigger reads in the first cycle; {allowed})",
                    2 * n + reads
                )
            }
        }
    }
}
