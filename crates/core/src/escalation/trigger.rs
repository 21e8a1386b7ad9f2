//! From an alarm to a call plan: pick the rotation file (by SNS topic through the mapping file, or
//! the default), read and validate it, and plan the calls. An unreadable or invalid rotation is
//! reported at ERROR and the fallback number is still called.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::{error, warn};

use crate::oncall::mapping::Mapping;
use crate::oncall::plan::plan;
use crate::oncall::rotation::Rotation;
use crate::oncall::settings::OncallSettings;
use crate::oncall::{Finding, Severity};
use crate::ports::Files;
use crate::state::Call;

/// Files in a local folder.
pub struct DirFiles(pub std::path::PathBuf);

#[async_trait]
impl Files for DirFiles {
    async fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let path = self.0.join(name);
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// What to do for one alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub calls: Vec<Call>,
    /// The per-project message, if the mapping gives one.
    pub message: Option<String>,
    pub findings: Vec<Finding>,
}

pub async fn plan_for(
    settings: &OncallSettings,
    files: &dyn Files,
    topic: Option<&str>,
    at: DateTime<Utc>,
) -> Planned {
    let mut findings = Vec::new();
    let mut rotation_file = settings.rotation_file.clone();
    let mut message = None;
    if let (Some(mapping_file), Some(topic)) = (&settings.mapping_file, topic) {
        match files
            .read(mapping_file)
            .await
            .map_err(|e| finding(mapping_file, e))
            .and_then(|b| Mapping::parse(mapping_file, &b))
        {
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
    let rotation = match files
        .read(&rotation_file)
        .await
        .map_err(|e| finding(&rotation_file, e))
    {
        Ok(bytes) => match Rotation::parse(&rotation_file, &bytes) {
            Ok(r) => {
                findings.extend(r.validate());
                Some(r)
            }
            Err(f) => {
                findings.push(f);
                None
            }
        },
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
    Planned {
        calls: plan(rotation.as_ref(), at, &settings.plan),
        message,
        findings,
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
