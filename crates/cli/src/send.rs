//! `opsbell send`: runs a payload through parse → route → render and prints, per target, exactly
//! what would be sent; without `--dry-run` it sends it (no delivery log: for testing a channel).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use clap::Args;
use opsbell_core::build::stateless;
use opsbell_core::config::Config;
use opsbell_core::http::{RetryPolicy, client};
use opsbell_core::ports::Notifier;
use opsbell_core::render::RenderOptions;
use opsbell_core::route::targets;
use opsbell_core::signature::verify;
use opsbell_core::source::{Inbound, parse_any};
use tokio::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Print what each target would receive; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, default_value = "config.json")]
    pub config: PathBuf,
    /// Check the body against this X-UiPath-Signature (with the config's secrets) first, as
    /// webhook-ingest would.
    #[arg(long)]
    pub signature: Option<String>,
    /// Do it all N times in this process and print the rate (a benchmark aid: warm throughput).
    #[arg(long, default_value_t = 1, hide_short_help = true)]
    pub repeat: u32,
    /// A UiPath Orchestrator webhook body, or an SNS Lambda event (CloudWatch alarm).
    pub file: PathBuf,
}

pub async fn run(args: SendArgs) -> Result<ExitCode, crate::Error> {
    let config = Config::load_file(&args.config)?;
    let body = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let opts = config.render_options();
    let http = client();
    let sinks: BTreeMap<String, Arc<dyn Notifier>> = (config.channels.keys())
        .filter_map(|name| {
            let notifier = stateless(&config, &http, RetryPolicy::default(), name)?;
            Some((name.clone(), notifier))
        })
        .collect();
    let started = std::time::Instant::now();
    let mut failed = false;
    for round in 0..args.repeat.max(1) {
        match once(&args, &config, &body, opts, &sinks, round == 0).await? {
            Some(ok) => failed |= !ok,
            None => return Ok(ExitCode::SUCCESS),
        }
    }
    if args.repeat > 1 {
        let took = started.elapsed();
        crate::out!(
            "{} rounds in {:.1} ms: {:.0} per second",
            args.repeat,
            took.as_secs_f64() * 1000.0,
            f64::from(args.repeat) / took.as_secs_f64()
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One pass: verify, parse, route, render and send (or preview). `None` when the payload is not
/// an event opsbell notifies about; otherwise whether every target took it.
async fn once(
    args: &SendArgs,
    config: &Config,
    body: &[u8],
    opts: RenderOptions,
    sinks: &BTreeMap<String, Arc<dyn Notifier>>,
    verbose: bool,
) -> Result<Option<bool>, crate::Error> {
    if let Some(signature) = &args.signature {
        verify(&config.orchestrator.secrets, Some(signature), body)
            .map_err(|e| format!("{}: {e}", args.file.display()))?;
    }
    let parsed = parse_any(body, config.orchestrator.url.clone(), Utc::now());
    let events = match parsed.map_err(|e| format!("{}: {e}", args.file.display()))? {
        Inbound::Events(events) => events,
        Inbound::Ignored { kind } => {
            crate::out!("ignored: {kind} is not an event opsbell notifies about");
            return Ok(None);
        }
    };
    let say = |text: String| {
        if verbose {
            crate::out!("{text}");
        }
    };
    let mut ok = true;
    for event in &events {
        let names = targets(&config.routes, event);
        if names.is_empty() {
            say(format!(
                "== {} → no route matches (state {})\n",
                event.key, event.state
            ));
        }
        for name in names {
            let channel = &config.channels[name];
            say(format!("== {} → {name} ({})", event.key, channel.kind()));
            if args.dry_run {
                say(format!("{}\n", channel.preview(event, opts)));
                continue;
            }
            let Some(sink) = sinks.get(name) else {
                say(format!(
                    "skipped: a {} channel is delivered by the service (it needs the space registry or the caller); --dry-run shows the message\n",
                    channel.kind()
                ));
                continue;
            };
            match sink
                .notify(event, Instant::now() + Duration::from_secs(30))
                .await
            {
                Ok(r) => say(format!("sent ({} attempt(s)) {}\n", r.attempts, r.detail)),
                Err(e) => {
                    ok = false;
                    crate::out!("FAILED: {e}\n");
                }
            }
        }
    }
    Ok(Some(ok))
}
