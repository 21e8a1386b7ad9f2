//! `opsbell`: run everything in one process (`serve`), validate files (`check`), preview or send a
//! payload (`send`), sign a body for curl tests (`sign`).

use std::process::ExitCode;

use clap::Parser;
use opsbell::{Cli, Command, check, oncall, send, serve, sign};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Check(args) => check::run(&args),
        Command::Send(args) => send::run(args).await,
        Command::Sign(args) => sign::run(&args),
        Command::Oncall(args) => oncall::run(&args),
        Command::Silence(args) => opsbell::silence::run(&args).await,
        #[cfg(feature = "aws")]
        Command::ImportChatbots(args) => opsbell::import::run(&args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
