//! Polled sources: `sources.orchestrator[]`, and the predecessor's `scheduled.orchestrator`
//! (`url`, `tenancy_name`, `username`, `password`, `api_key`, `ntlm_authentication`), polled for
//! each `scheduled.<target>` on that target's own `schedule` (or `interval`, in minutes).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::legacy::ScheduledTarget;
use crate::client::orchestrator::config::{OrchestratorAuth, OrchestratorSource, PollSchedule};
use crate::problem::Problems;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    url: String,
    auth: RawAuth,
    #[serde(default)]
    folders: Vec<i64>,
    #[serde(default)]
    page_size: Option<u32>,
    #[serde(default)]
    overlap_seconds: Option<u64>,
    #[serde(default)]
    initial_lookback_minutes: Option<u64>,
    #[serde(default)]
    interval_seconds: Option<u64>,
    #[serde(default)]
    requests_per_minute: Option<u32>,
    #[serde(default)]
    api_key: Option<String>,
    /// The tenant's id, as webhooks carry it (`TenantId`): polled jobs carry it too, so a
    /// route or silence by `tenants` hears them whichever path brought them.
    #[serde(default)]
    tenant_id: Option<i64>,
    /// Watch triggers for runs that never happen (`{"grace": "10m", "refresh": "15m"}`).
    #[serde(default)]
    triggers: Option<triggers::RawTriggers>,
    /// Watch jobs that stay too long in one state (`{"running": "6h", "pending": "1h"}`).
    #[serde(default)]
    hung: Option<hung::RawHung>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawAuth {
    Password {
        tenancy_name: String,
        username: String,
        password: String,
    },
    ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
    Ntlm {
        username: String,
        password: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LegacyOrchestrator {
    url: String,
    tenancy_name: String,
    username: String,
    password: String,
    api_key: String,
    /// The predecessor wrote `"False"`/`"True"` strings.
    ntlm_authentication: Value,
}

mod hung;
mod triggers;

const DEFAULT_PAGE_SIZE: u32 = 1000;
const DEFAULT_OVERLAP: Duration = Duration::from_secs(120);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
const DEFAULT_LOOKBACK: Duration = Duration::from_secs(3600);
const DEFAULT_RPM: u32 = 90;
const DEFAULT_SCOPE: &str = "OR.Jobs.Read OR.Folders.Read";

pub(super) fn read(
    orchestrators: Option<Value>,
    scheduled: Option<&Value>,
    targets: &[ScheduledTarget],
    p: &mut Problems,
) -> Vec<OrchestratorSource> {
    let mut raw: Vec<(String, RawSource)> = match orchestrators {
        Some(list) => {
            let list: Vec<RawSource> = p.parse("sources.orchestrator", list).unwrap_or_default();
            let paths = (0..).map(|i| format!("sources.orchestrator[{i}]"));
            paths.zip(list).collect()
        }
        None => Vec::new(),
    };
    let legacy = scheduled.and_then(|s| upgrade(s, targets, p));
    let legacy_name = legacy.as_ref().map(|r| r.name.clone());
    raw.extend(legacy.map(|r| ("scheduled.orchestrator".into(), r)));
    let mut out: Vec<OrchestratorSource> = Vec::new();
    for (path, r) in raw {
        if out.iter().any(|s| s.name == r.name) {
            p.push(
                format!("{path}.name"),
                format!("source name {:?} is used twice", r.name),
            );
        }
        out.push(build(r, &path, p));
    }
    match out
        .iter_mut()
        .find(|s| Some(&s.name) == legacy_name.as_ref())
    {
        Some(source) => {
            source.schedules = schedules(targets);
            if let Some(every) = source.schedules.iter().map(|s| s.every).min() {
                source.interval = every;
            }
        }
        None if !targets.is_empty() => p.push(
            "scheduled.orchestrator",
            format!(
                "{} polls nothing without an Orchestrator to poll (url, username, password)",
                targets
                    .iter()
                    .map(|t| t.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        None => {}
    }
    out
}

/// One poll per distinct schedule, for every target that shares it.
fn schedules(targets: &[ScheduledTarget]) -> Vec<PollSchedule> {
    let mut out: Vec<PollSchedule> = Vec::new();
    for t in targets {
        let every = t
            .expression
            .as_deref()
            .and_then(rate)
            .or(t
                .interval_minutes
                .map(|m| Duration::from_secs(m.saturating_mul(60))))
            .unwrap_or(DEFAULT_INTERVAL);
        let expression = t
            .expression
            .clone()
            .unwrap_or_else(|| crate::client::rate_expression(every));
        match out
            .iter_mut()
            .find(|s| s.every == every && s.expression == expression)
        {
            Some(s) => s.channels.push(t.channel.clone()),
            None => out.push(PollSchedule {
                channels: vec![t.channel.clone()],
                every,
                expression,
            }),
        }
    }
    out
}

/// The period of a CloudWatch `rate(N unit)` expression; `None` for `cron(…)` and anything else.
pub(crate) fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(seconds)?))
}

/// One source from its raw shape, the same for both shapes.
fn build(r: RawSource, path: &str, p: &mut Problems) -> OrchestratorSource {
    p.url(&r.url, &format!("{path}.url"));
    let auth = match r.auth {
        RawAuth::Password {
            tenancy_name,
            username,
            password,
        } => OrchestratorAuth::Password {
            tenancy_name,
            username,
            password: password.into(),
        },
        RawAuth::ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope,
        } => OrchestratorAuth::ClientCredentials {
            token_url,
            client_id,
            client_secret: client_secret.into(),
            scope: scope.unwrap_or_else(|| DEFAULT_SCOPE.to_string()),
        },
        RawAuth::Ntlm { username, password } => {
            if !username.contains('\\') && !username.contains('@') {
                let at = match path {
                    "scheduled.orchestrator" => format!("{path}.username"),
                    _ => format!("{path}.auth.username"),
                };
                p.push(
                    at,
                    format!("Windows authentication needs the domain: DOMAIN\\{username} or {username}@domain"),
                );
            }
            OrchestratorAuth::Ntlm {
                username,
                password: password.into(),
            }
        }
    };
    let interval = r
        .interval_seconds
        .map_or(DEFAULT_INTERVAL, Duration::from_secs);
    let triggers = r.triggers.map(|t| triggers::read(t, path, p));
    let hung = r.hung.map(|h| hung::read(h, path, p));
    OrchestratorSource {
        name: r.name,
        url: r.url.trim_end_matches('/').to_string(),
        auth,
        folders: r.folders,
        page_size: r.page_size.unwrap_or(DEFAULT_PAGE_SIZE).max(1),
        overlap: r
            .overlap_seconds
            .map_or(DEFAULT_OVERLAP, Duration::from_secs),
        initial_lookback: r.initial_lookback_minutes.map_or(DEFAULT_LOOKBACK, |m| {
            Duration::from_secs(m.saturating_mul(60))
        }),
        interval,
        requests_per_minute: r.requests_per_minute.unwrap_or(DEFAULT_RPM).max(1),
        api_key: r.api_key.filter(|k| !k.is_empty()).map(Into::into),
        tenant_id: r.tenant_id,
        schedules: Vec::new(),
        triggers,
        hung,
    }
}

/// The predecessor's `scheduled.orchestrator`, upgraded into a source; `None` when it names no
/// URL (the predecessor's empty template).
fn upgrade(scheduled: &Value, targets: &[ScheduledTarget], p: &mut Problems) -> Option<RawSource> {
    let raw = scheduled.get("orchestrator")?.clone();
    let o: LegacyOrchestrator = p.parse("scheduled.orchestrator", raw)?;
    if o.url.is_empty() {
        return None;
    }
    let ntlm = match &o.ntlm_authentication {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let auth = if ntlm {
        RawAuth::Ntlm {
            username: o.username,
            password: o.password,
        }
    } else {
        RawAuth::Password {
            tenancy_name: o.tenancy_name,
            username: o.username,
            password: o.password,
        }
    };
    // The first poll looks back over the longest target's window at least.
    let minutes = targets.iter().filter_map(|t| t.interval_minutes).max();
    let interval = minutes.map_or(DEFAULT_INTERVAL, |m| {
        Duration::from_secs(m.max(1).saturating_mul(60))
    });
    let lookback = interval.max(DEFAULT_LOOKBACK);
    Some(RawSource {
        name: "orchestrator".into(),
        url: o.url,
        auth,
        folders: Vec::new(),
        page_size: None,
        overlap_seconds: None,
        initial_lookback_minutes: Some(lookback.as_secs().div_ceil(60)),
        interval_seconds: Some(interval.as_secs()),
        requests_per_minute: None,
        api_key: Some(o.api_key),
        tenant_id: None,
        triggers: None,
        hung: None,
    })
}
