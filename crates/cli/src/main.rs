//! `opsbell`: run everything in one process (`serve`), validate files (`check`), preview or send a
//! payload (`send`), sign a body for curl tests (`sign`).

use std::process::ExitCode;

use clap::Parser;
use opsbell::{Cli, Command, check, oncall, send, serve, sign};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` runs every part at once: its async work on all cores but one, which is left to the
    // outbox's writer thread (it commits every enqueue; measured on 2 cores under wrk, one
    // worker took 33-36k req/s where two took 27-34k). TOKIO_WORKER_THREADS overrides it. The
    // other commands do one thing, and a one-thread runtime spares their cold start its threads.
    let mut runtime = match cli.command {
        Command::Serve(_) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                builder.worker_threads(cores.saturating_sub(1).max(1));
            }
            builder
        }
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
        Command::Dead(args) => opsbell::dead::run(&args),
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
