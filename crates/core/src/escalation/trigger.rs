//! From an alarm to a call plan: pick the rotation file (by SNS topic through the mapping file, or
//! the default), read and validate it, and plan the calls. A file that cannot be read now (S3
//! answered 5xx, throttled, timed out) fails the plan, so the alarm is retried rather than
//! planned around a blink; a file that is missing or invalid is reported at ERROR and the
//! fallback number is still called (retrying would not bring it).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::{error, warn};

use crate::oncall::mapping::Mapping;
use crate::oncall::plan::{gap, plan};
use crate::oncall::rotation::Rotation;
use crate::oncall::settings::OncallSettings;
use crate::oncall::{Finding, Severity};
use crate::ports::{FileError, Files};
use crate::state::Call;

/// Files in a local folder.
pub struct DirFiles(pub std::path::PathBuf);

#[async_trait]
impl Files for DirFiles {
    async fn read(&self, name: &str) -> Result<Vec<u8>, FileError> {
        let path = self.0.join(name);
        std::fs::read(&path).map_err(|e| {
            let text = format!("{}: {e}", path.display());
            match e.kind() {
                std::io::ErrorKind::NotFound => FileError::Missing(text),
                _ => FileError::Unavailable(text),
            }
        })
    }
}

/// What to do for one alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub calls: Vec<Call>,
    /// The per-project message, if the mapping gives one.
    pub message: Option<String>,
    pub findings: Vec<Finding>,
    /// What chat is told before the first call: that the rotation has a gap today.
    pub notice: Option<String>,
}

impl Planned {
    /// What every call says: the mapping's message for the topic, else `CONNECT_ALARM_MSG`
    /// (lambda-connect's users configured it to be spoken), with the alarm's `details` (its
    /// name and reason) after it only when `ONCALL_SPEAK_ALARM_DETAILS` is set. Every path
    /// (SNS, the fan-out's `oncall` channels, `opsbell serve`) speaks through this.
    pub fn spoken(&self, settings: &OncallSettings, details: &str) -> String {
        let base = self.message.as_deref().unwrap_or(&settings.message);
        let text = match settings.speak_details && !details.trim().is_empty() {
            true => format!("{base} {}", details.trim()),
            false => base.to_string(),
        };
        text.chars().take(500).collect()
    }
}

/// The plan for an alarm from `topic` (an SNS topic ARN or name; with a mapping file, it picks
/// the rotation and message).
pub async fn plan_for(
    settings: &OncallSettings,
    files: &dyn Files,
    topic: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Planned, String> {
    let mut findings = Vec::new();
    let mut rotation_file = settings.rotation_file.clone();
    let mut message = None;
    if let (Some(mapping_file), Some(topic)) = (&settings.mapping_file, topic) {
        let read = read_file(files, mapping_file).await?;
        match read.and_then(|b| Mapping::parse(mapping_file, &b)) {
            Ok(mapping) => match mapping.for_topic(topic) {
                Some(entry) => {
                    rotation_file = entry.phone_number_json_file.clone();
                    message = entry.message.clone();
                }
                None => findings.push(finding(
                    mapping_file,
                    format!("no entry for topic {topic:?}; using {rotation_file}"),
                )),
            },
            Err(f) => findings.push(f),
        }
    }
    let read = read_file(files, &rotation_file).await?;
    let rotation = match read.and_then(|bytes| Rotation::parse(&rotation_file, &bytes)) {
        Ok(r) => {
            findings.extend(r.validate_calling(settings.plan.fallback.as_deref()));
            Some(r)
        }
        Err(f) => {
            findings.push(f);
            None
        }
    };
    for f in &findings {
        match f.severity {
            Severity::Error => {
                error!(finding = %f, "On-call files need fixing; calling whom the plan still allows.")
            }
            Severity::Warning => warn!(finding = %f, "On-call files look off."),
        }
    }
    let opts = &settings.plan;
    let notice = gap(rotation.as_ref(), at, opts).map(|day| {
        let file = &rotation_file;
        match &opts.fallback {
            Some(extra) => format!(
                "The rotation {file} has no group for day {day}: calling the extra number {extra}."
            ),
            None => format!(
                "The rotation {file} has no group for day {day} and no extra number is set \
                 (CONNECT_EXTRA_DESTINATION_PHONE_NUMBER): calling its first group."
            ),
        }
    });
    if let Some(n) = &notice {
        warn!(notice = %n, "The on-call rotation has a gap today.");
    }
    Ok(Planned {
        calls: plan(rotation.as_ref(), at, opts),
        message,
        findings,
        notice,
    })
}

/// The file's bytes; a missing file is a finding (`Ok(Err)`), planned around; one that cannot
/// be read now fails the plan (`Err`), which waits for a retry.
async fn read_file(files: &dyn Files, file: &str) -> Result<Result<Vec<u8>, Finding>, String> {
    match files.read(file).await {
        Ok(bytes) => Ok(Ok(bytes)),
        Err(FileError::Missing(e)) => Ok(Err(finding(file, e))),
        Err(FileError::Unavailable(e)) => {
            error!(file, error = %e, "An on-call file cannot be read now; the alarm will be retried.");
            Err(format!("{file}: {e}"))
        }
    }
}

/// Who a call would ring first today: for the `oncall` command, the same plan an alarm gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Today {
    OnCall {
        day: u32,
        group: String,
        numbers: Vec<String>,
    },
    /// No group covers the day; what chat is told when an alarm comes.
    Gap { day: u32, notice: String },
    /// The files cannot be used as they are.
    Broken { day: u32, finding: String },
}

/// Today's plan for `topic` (see [`Today`]).
pub async fn today(
    settings: &OncallSettings,
    files: &dyn Files,
    topic: Option<&str>,
    now: DateTime<Utc>,
) -> Today {
    let day = crate::oncall::plan::day_of_month(now, settings.plan.timezone);
    let planned = match plan_for(settings, files, topic, now).await {
        Ok(planned) => planned,
        Err(finding) => return Today::Broken { day, finding },
    };
    if let Some(f) = planned
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
    {
        let finding = f.to_string();
        return Today::Broken { day, finding };
    }
    if let Some(notice) = planned.notice {
        return Today::Gap { day, notice };
    }
    // The first round (round 0 is the fallback, called last; alone when there is no rotation).
    let round = |n: u32| planned.calls.iter().filter(move |c| c.round == n);
    let mut first: Vec<&Call> = round(1).collect();
    if first.is_empty() {
        first = round(0).collect();
    }
    Today::OnCall {
        day,
        group: first
            .first()
            .map_or("nobody", |c| c.group.as_str())
            .to_string(),
        numbers: first.iter().map(|c| c.number.clone()).collect(),
    }
}

fn finding(file: &str, message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        file: file.into(),
        entry: "(file)".into(),
        message,
    }
}
