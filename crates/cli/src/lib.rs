//! The `opsbell` command line. Each command is a module; `serve` hosts the same ingest and
//! fan-out code as the Lambdas, on the embedded store of `opsbell-local`.

pub mod chat_route;
pub mod check;
pub mod console;
pub mod dead;
#[cfg(feature = "aws")]
pub mod import;
pub mod logging;
pub mod oncall;
pub mod schedule;
pub mod send;
pub mod serve;
pub mod sign;
pub mod silence;

use clap::{Parser, Subcommand};

/// Errors a command reports before exiting with status 2.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Parser)]
#[command(
    name = "opsbell",
    version,
    about = "Job and alarm notifications that never miss: UiPath, KAMONOHASHI and CloudWatch to Slack, Google Chat, Chatwork and Backlog."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the webhook endpoint and the delivery dispatcher in one process on a SQLite file.
    Serve(serve::ServeArgs),
    /// Validate configuration files; print every problem; exit 1 if there is one.
    Check(check::CheckArgs),
    /// Run a payload through parse → route → render and print what each target gets (or send it).
    Send(send::SendArgs),
    /// Print the X-UiPath-Signature value of a body, for testing with curl.
    Sign(sign::SignArgs),
    /// Who is on call, the call plan, and the rotation calendar (calls nobody).
    Oncall(oncall::OncallArgs),
    /// Add, list and expire silences (local database, or a deployment's table with --table).
    Silence(silence::SilenceArgs),
    /// List the events `serve` gave up on, and redrive them (`--all`, or one event key).
    Dead(dead::DeadArgs),
    /// Import the iPF Google Chat bot's `chatbots` table into the space registry (once; safe to
    /// repeat).
    #[cfg(feature = "aws")]
    ImportChatbots(import::ImportArgs),
}

/// `println!` for command output: when the reader has gone (`opsbell send … | head`), exit
/// quietly as Unix tools do, instead of panicking on the next line.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}
