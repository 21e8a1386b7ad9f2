//! `opsbell dead list|redrive [--all | KEY]`: the events `opsbell serve` gave up on (its
//! outbox's dead-letter rows), listed with why, and brought back once the cause is fixed; the
//! local counterpart of an SQS DLQ redrive. `/healthz` says `degraded` while any is dead.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use opsbell_local::dead;

#[derive(Debug, Args)]
pub struct DeadArgs {
    #[command(subcommand)]
    pub action: DeadAction,
    /// `opsbell serve`'s database.
    #[arg(long, global = true, default_value = "opsbell.db")]
    pub db: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DeadAction {
    /// Every dead event: its key, attempts, last error and when it was queued.
    List,
    /// Queue dead events again, due now: one event key, or every one with --all.
    Redrive {
        /// The event key, as `list` shows it.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        key: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

pub fn run(args: &DeadArgs) -> Result<ExitCode, crate::Error> {
    let db =
        opsbell_local::Db::open(&args.db).map_err(|e| format!("{}: {e}", args.db.display()))?;
    match &args.action {
        DeadAction::List => {
            let all = dead::list(&db)?;
            if all.is_empty() {
                crate::out!("no dead events");
            }
            for d in all {
                let at = d.queued_at.format("%Y-%m-%d %H:%M:%SZ");
                crate::out!(
                    "{}  queued {at}, {} attempt(s): {}",
                    d.key,
                    d.attempts,
                    d.error
                );
            }
        }
        DeadAction::Redrive { key, .. } => {
            let n = dead::redrive(&db, key.as_deref())?;
            crate::out!("redriven: {n} event(s)");
            if n == 0 && key.is_some() {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
