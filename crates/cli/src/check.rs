//! `opsbell check`: validates configuration, rotation and mapping files (told apart by their
//! shape) and prints every problem with its path; exits 1 if there is an error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use opsbell_core::config::Config;
use opsbell_core::oncall::mapping::Mapping;
use opsbell_core::oncall::rotation::Rotation;
use opsbell_core::oncall::{Finding, Severity};
use serde_json::Value;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to check: config.json, on-call rotation and mapping files.
    #[arg(default_value = "config.json")]
    pub files: Vec<PathBuf>,
}

enum Kind {
    Config,
    Rotation,
    Mapping,
}

fn kind_of(value: &Value) -> Kind {
    let is_group = |v: &Value| v.get("start_day").or_else(|| v.get("startDay")).is_some();
    match value {
        Value::Array(items)
            if items.iter().any(|i| {
                i.get("sns_topic_name")
                    .or_else(|| i.get("snsTopicName"))
                    .is_some()
            }) =>
        {
            Kind::Mapping
        }
        Value::Array(_) => Kind::Rotation,
        Value::Object(map) if !map.is_empty() && map.values().all(is_group) => Kind::Rotation,
        _ => Kind::Config,
    }
}

pub fn run(args: &CheckArgs) -> Result<ExitCode, crate::Error> {
    let mut ok = true;
    for file in &args.files {
        ok &= check(file);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check(file: &Path) -> bool {
    let name = file.display().to_string();
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            crate::out!("{name}: {e}");
            return false;
        }
    };
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match kind_of(&value) {
        Kind::Config => match Config::load_file(file) {
            Ok(config) => {
                let channels: Vec<String> = config
                    .channels
                    .iter()
                    .map(|(n, c)| format!("{n} ({})", c.kind()))
                    .collect();
                crate::out!(
                    "{name}: ok — channels: {}; {} route(s)",
                    channels.join(", "),
                    config.routes.len()
                );
                true
            }
            Err(e) => {
                crate::out!("{name}: {} problem(s)", e.problems.len());
                for p in &e.problems {
                    crate::out!("  {p}");
                }
                false
            }
        },
        Kind::Rotation => report(
            &name,
            "rotation",
            Rotation::parse(&name, &bytes).map(|r| r.validate()),
        ),
        Kind::Mapping => report(
            &name,
            "mapping",
            Mapping::parse(&name, &bytes).map(|m| m.validate()),
        ),
    }
}

fn report(name: &str, what: &str, findings: Result<Vec<Finding>, Finding>) -> bool {
    let findings = findings.unwrap_or_else(|f| vec![f]);
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    match findings.is_empty() {
        true => crate::out!("{name}: ok ({what})"),
        false => crate::out!(
            "{name}: {errors} error(s), {} warning(s) ({what})",
            findings.len() - errors
        ),
    }
    for f in &findings {
        crate::out!("  {f}");
    }
    errors == 0
}
