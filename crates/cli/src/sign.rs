//! `opsbell sign`: the `X-UiPath-Signature` value Orchestrator would send for a body.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use opsbell_core::signature::sign;
use secrecy::SecretString;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The webhook secret (or set OPSBELL_SIGN_SECRET, which keeps it out of the process list).
    #[arg(long, env = "OPSBELL_SIGN_SECRET", hide_env_values = true)]
    pub secret: String,
    /// The body to sign, exactly as it will be posted.
    pub file: PathBuf,
}

pub fn run(args: &SignArgs) -> Result<ExitCode, crate::Error> {
    let body = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    crate::out!("{}", sign(&SecretString::from(args.secret.clone()), &body));
    Ok(ExitCode::SUCCESS)
}
