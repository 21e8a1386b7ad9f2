//! `opsbell oncall who|plan|calendar`: who is called, in what order, and the coming weeks'
//! rotation, from the same files and code as the `oncall-caller` Lambda. Calls nobody. Its flags
//! default to lambda-connect's environment (`PHONE_NUMBER_JSON_FILE`, `MAPPING_JSON_FILE`,
//! `CALL_REPEAT_COUNT`, `CALL_REPEAT_GROUP`, `CONNECT_EXTRA_DESTINATION_PHONE_NUMBER`,
//! `ONCALL_FILES_DIR`), so the plan shown is the plan its users' deployment would follow.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Days, Utc};
use clap::{Args, Subcommand};
use opsbell_core::oncall::mapping::Mapping;
use opsbell_core::oncall::plan::{PlanOptions, day_of_month, plan};
use opsbell_core::oncall::rotation::Rotation;

#[derive(Debug, Args)]
pub struct OncallArgs {
    #[command(subcommand)]
    pub command: OncallCommand,
    /// Folder holding the rotation (and mapping) files.
    #[arg(long, global = true, env = "ONCALL_FILES_DIR", default_value = ".")]
    pub files: PathBuf,
    /// Rotation file (lambda-connect's PHONE_NUMBER_JSON_FILE).
    #[arg(
        long,
        global = true,
        env = "PHONE_NUMBER_JSON_FILE",
        default_value = "phoneNumber.json"
    )]
    pub rotation: String,
    /// Mapping file (MAPPING_JSON_FILE); with --topic it picks the rotation.
    #[arg(long, global = true, env = "MAPPING_JSON_FILE")]
    pub mapping: Option<String>,
    /// Called after everyone else, and on a day no group covers
    /// (CONNECT_EXTRA_DESTINATION_PHONE_NUMBER).
    #[arg(long, global = true, env = "CONNECT_EXTRA_DESTINATION_PHONE_NUMBER")]
    pub fallback: Option<String>,
    /// SNS topic name (or ARN) the alarm arrives on.
    #[arg(long, global = true)]
    pub topic: Option<String>,
    /// Time zone the day of month is read in.
    #[arg(long, global = true, default_value = "Asia/Tokyo")]
    pub tz: chrono_tz::Tz,
}

#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Who is on call at a time (default: now).
    Who {
        /// RFC 3339 time, e.g. 2026-12-01T03:00:00+09:00.
        #[arg(long)]
        at: Option<DateTime<chrono::FixedOffset>>,
    },
    /// The ordered calls an alarm at that time would make.
    Plan {
        #[arg(long)]
        at: Option<DateTime<chrono::FixedOffset>>,
        /// Rounds of calls (CALL_REPEAT_COUNT).
        #[arg(long, env = "CALL_REPEAT_COUNT", default_value_t = 3)]
        repeat: u32,
        /// Call the on-call group repeatedly instead of moving to the next (CALL_REPEAT_GROUP:
        /// true, 1 or yes).
        #[arg(long)]
        repeat_group: bool,
    },
    /// Who is on call each day of the coming weeks, with gaps and overlaps marked.
    Calendar {
        #[arg(long, default_value_t = 5)]
        weeks: u64,
    },
}

pub fn run(args: &OncallArgs) -> Result<ExitCode, crate::Error> {
    let rotation = load(args)?;
    for finding in rotation.validate_calling(args.fallback.as_deref()) {
        eprintln!("{finding}");
    }
    let at = |t: &Option<DateTime<chrono::FixedOffset>>| t.map_or_else(Utc::now, |t| t.to_utc());
    match &args.command {
        OncallCommand::Who { at: t } => {
            let day = day_of_month(at(t), args.tz);
            match rotation.group_on(day) {
                Some(g) => {
                    let group = &rotation.groups[g];
                    crate::out!(
                        "day {day}: {} (days {}-{}): {}",
                        group.label,
                        group.start_day,
                        group.end_day,
                        group.numbers.join(", ")
                    );
                }
                None => crate::out!(
                    "day {day}: no group covers it; {}",
                    gap_call(&rotation, args)
                ),
            }
        }
        OncallCommand::Plan {
            at: t,
            repeat,
            repeat_group,
        } => {
            let env: Vec<(String, String)> = std::env::vars().collect();
            let from_env = opsbell_core::problem::EnvVars(&env).flag("CALL_REPEAT_GROUP");
            let opts = PlanOptions {
                repeat_count: *repeat,
                repeat_group: *repeat_group || from_env,
                fallback: args.fallback.clone(),
                timezone: args.tz,
            };
            for (i, call) in plan(Some(&rotation), at(t), &opts).iter().enumerate() {
                let round = if call.round == 0 {
                    "fallback".to_string()
                } else {
                    format!("round {}", call.round)
                };
                crate::out!("{:>3}. {} ({}, {round})", i + 1, call.number, call.group);
            }
        }
        OncallCommand::Calendar { weeks } => {
            let today = Utc::now().with_timezone(&args.tz).date_naive();
            for offset in 0..weeks * 7 {
                let date = today
                    .checked_add_days(Days::new(offset))
                    .ok_or("date out of range")?;
                let day = chrono::Datelike::day(&date);
                let covering: Vec<&str> = rotation
                    .groups
                    .iter()
                    .filter(|g| g.start_day <= day && day <= g.end_day)
                    .map(|g| g.label.as_str())
                    .collect();
                let note = match covering.len() {
                    0 => format!("GAP — nobody; {}", gap_call(&rotation, args)),
                    1 => covering[0].to_string(),
                    _ => format!(
                        "{} (OVERLAP with {})",
                        covering[0],
                        covering[1..].join(", ")
                    ),
                };
                crate::out!("{date} {}  {note}", chrono::Datelike::weekday(&date));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Who a day no group covers calls, as the plan does.
fn gap_call(rotation: &Rotation, args: &OncallArgs) -> String {
    format!(
        "{} is called",
        rotation.gap_callee(args.fallback.as_deref())
    )
}

fn load(args: &OncallArgs) -> Result<Rotation, crate::Error> {
    let read = |name: &str| {
        std::fs::read(args.files.join(name))
            .map_err(|e| format!("{}: {e}", args.files.join(name).display()))
    };
    let mut file = args.rotation.clone();
    if let (Some(mapping), Some(topic)) = (&args.mapping, &args.topic) {
        let m = Mapping::parse(mapping, &read(mapping)?).map_err(|f| f.to_string())?;
        file = m
            .for_topic(topic)
            .ok_or_else(|| format!("{mapping}: no entry for topic {topic:?}"))?
            .phone_number_json_file
            .clone();
    }
    Ok(Rotation::parse(&file, &read(&file)?).map_err(|f| f.to_string())?)
}
