//! `opsbell`: run everything in one process (`serve`), validate files (`check`), preview or send a
//! payload (`send`), sign a body for curl tests (`sign`).

use std::process::ExitCode;

use clap::Parser;
use opsbell::{Cli, Command, check, oncall, send, serve, sign};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` runs every part at once, on every core; the other commands do one thing, and a
    // one-thread runtime spares their cold start its worker threads.
    let mut runtime = match cli.command {
        Command::Serve(_) => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = runtime.enable_all().build().expect("a Tokio runtime");
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
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
