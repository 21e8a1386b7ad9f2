//! `opsbell check`: validates configuration files and prints every problem with its path.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use opsbell_core::config::Config;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to check.
    #[arg(default_value = "config.json")]
    pub files: Vec<PathBuf>,
}

pub fn run(args: &CheckArgs) -> Result<ExitCode, crate::Error> {
    let mut ok = true;
    for file in &args.files {
        match Config::load_file(file) {
            Ok(config) => {
                let channels: Vec<String> = config
                    .channels
                    .iter()
                    .map(|(n, c)| format!("{n} ({})", c.kind()))
                    .collect();
                println!(
                    "{}: ok — channels: {}; {} route(s)",
                    file.display(),
                    channels.join(", "),
                    config.routes.len()
                );
            }
            Err(e) => {
                ok = false;
                println!("{}: {} problem(s)", file.display(), e.problems.len());
                for p in &e.problems {
                    println!("  {p}");
                }
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
