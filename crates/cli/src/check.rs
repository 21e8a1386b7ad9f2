//! `opsbell check`: validates configuration, rotation and mapping files (told apart by their
//! shape) and prints every problem with its path; exits 1 if there is an error.
//!
//! A deploy configuration may hold `ssm:`/`secretsmanager:` references: each is checked for
//! its shape and for lying where the functions' roles may read (`--stage`, or `${stage}` for
//! every stage), and named with the roles that read it; the files it names must sit next to it.
//! `--files` prints those files, for the packager.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use opsbell_core::chat::ChatSettings;
use opsbell_core::config::Config;
use opsbell_core::oncall::mapping::Mapping;
use opsbell_core::oncall::rotation::Rotation;
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::oncall::{Finding, Severity};
use serde_json::Value;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to check: config.json, on-call rotation and mapping files.
    #[arg(default_value = "config.json")]
    pub files: Vec<PathBuf>,
    /// The deployment stage a configuration's secret references must be readable in.
    #[arg(long)]
    pub stage: Option<String>,
    /// Print only the files the configurations name (relative to each), one per line, after
    /// checking them; for packaging.
    #[arg(long)]
    pub files_only: bool,
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
        ok &= check(file, args);
    }
    if !args.files_only {
        ok &= check_environment(&std::env::vars().collect::<Vec<_>>());
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check(file: &Path, args: &CheckArgs) -> bool {
    let name = file.display().to_string();
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            crate::out!("{name}: {e}");
            return false;
        }
    };
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(described) = opsbell_core::config::describe_slackbot_file(&name, &value) {
        return match described {
            Ok(lines) => {
                crate::out!("{name}: ok (kamonohashi-slackbot file)");
                for line in lines {
                    crate::out!("  {line}");
                }
                true
            }
            Err(e) => {
                crate::out!("{name}: 1 problem(s)\n  {e}");
                false
            }
        };
    }
    match kind_of(&value) {
        Kind::Config
            if args.files_only
                || args.stage.is_some()
                || !opsbell_core::config::secrets::references(&value).is_empty() =>
        {
            check_deploy(file, &bytes, args)
        }
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
                for line in config.describe() {
                    crate::out!("  {line}");
                }
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

/// A deploy configuration: references checked, not resolved; files next to it.
fn check_deploy(file: &Path, bytes: &[u8], args: &CheckArgs) -> bool {
    use opsbell_core::config::deploy;
    let name = file.display().to_string();
    let text = String::from_utf8_lossy(bytes);
    let dir = file.parent().unwrap_or(Path::new(""));
    let env: Vec<(String, String)> = std::env::vars().collect();
    let checked = Config::raw(&text, &env).and_then(|value| {
        deploy::check(value.clone(), args.stage.as_deref(), dir).map(|n| (value, n))
    });
    match checked {
        Ok((value, _)) if args.files_only => {
            for (_, f) in deploy::files(&value) {
                crate::out!("{f}");
            }
            true
        }
        Ok((_, notes)) => {
            crate::out!(
                "{name}: ok — {} secret reference(s), resolved at cold start",
                notes.len()
            );
            for note in notes {
                crate::out!("  {note}");
            }
            true
        }
        Err(e) => {
            // On stderr with --files-only, so the packager's file list stays clean.
            let say = |line: String| match args.files_only {
                true => eprintln!("{line}"),
                false => crate::out!("{line}"),
            };
            say(format!("{name}: {} problem(s)", e.problems.len()));
            for p in &e.problems {
                say(format!("  {p}"));
            }
            false
        }
    }
}

/// The settings that live in the environment (the on-call caller's, the Chat bot's), when it
/// sets any of them: each problem at its variable.
fn check_environment(env: &[(String, String)]) -> bool {
    let mut ok = true;
    let mut problems = |what: &str, problems: Vec<opsbell_core::problem::Problem>| {
        crate::out!("environment ({what}): {} problem(s)", problems.len());
        for p in &problems {
            crate::out!("  {p}");
        }
        ok = false;
    };
    match OncallSettings::optional(env) {
        Ok(None) => {}
        Ok(Some(s)) => {
            let files = s.bucket.clone().map_or_else(
                || format!("folder {}", s.files_dir.clone().unwrap_or_default()),
                |b| format!("s3://{b}"),
            );
            let mode = if s.dry_run {
                "dry run"
            } else {
                "Amazon Connect"
            };
            crate::out!(
                "environment (on-call): ok — {mode}, rotation {} in {files}",
                s.rotation_file
            );
            for line in oncall_lines(&s) {
                crate::out!("  {line}");
            }
        }
        Err(p) => problems("on-call", p),
    }
    match ChatSettings::from_env(env) {
        Ok(None) => {}
        Ok(Some(c)) => crate::out!(
            "environment (Chat bot {:?}): ok — silences last at most {} (SILENCE_MAX)",
            c.bot,
            opsbell_core::time::span_text(c.silence_max)
        ),
        Err(p) => problems("Chat bot", p),
    }
    ok
}

/// What lambda-connect's variables became.
fn oncall_lines(s: &OncallSettings) -> Vec<String> {
    let plan = &s.plan;
    let mut lines = vec![
        match &s.mapping_file {
            Some(m) => format!("mapping mode: {m} picks each SNS topic's rotation and message"),
            None => "simple mode: one rotation".into(),
        },
        format!(
            "spoken: {:?} (CONNECT_ALARM_MSG, or the mapping's message)",
            s.message
        ),
        format!(
            "alarm name and reason spoken after it: {}",
            if s.speak_details {
                "yes"
            } else {
                "no (ONCALL_SPEAK_ALARM_DETAILS)"
            }
        ),
        format!(
            "{} round(s), {}; a call is checked after {} s",
            plan.repeat_count,
            if plan.repeat_group {
                "today's group each time"
            } else {
                "then the next groups"
            },
            s.interval.as_secs()
        ),
        format!("rotation days read in {}", plan.timezone),
    ];
    lines.push(match &plan.fallback {
        Some(f) => format!("extra number {f}: called when no group covers the day, and last"),
        None => "warning: no CONNECT_EXTRA_DESTINATION_PHONE_NUMBER: a day no group covers calls the first group".into(),
    });
    lines
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
