//! `opsbell silence add|list|expire`: the chat bot's `silence`, `silences` and `unsilence`, from
//! a terminal, against `opsbell serve`'s SQLite file (`--db`) or a deployment's DynamoDB state
//! table (`--table`, with the `aws` feature and the environment's AWS credentials). The same
//! parser and operations as chat ([`opsbell_core::silence`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use opsbell_core::ports::Records;
use opsbell_core::silence;
use opsbell_core::silence::Silence;

#[derive(Debug, Args)]
pub struct SilenceArgs {
    #[command(subcommand)]
    pub action: Action,
    /// `opsbell serve`'s database.
    #[arg(long, global = true, default_value = "opsbell.db")]
    pub db: PathBuf,
    /// A deployment's state table (its `STATE_TABLE`) instead of the local database.
    #[arg(long, global = true)]
    pub table: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Hold back what the matchers take, for a while:
    /// `opsbell silence add process=Invoice* folder=12 --for 2h --comment "deploying"`.
    Add {
        /// `key=value[,value…]`: source, state, severity, process, folder, tenant, alarm, via,
        /// channel.
        #[arg(required = true)]
        matchers: Vec<String>,
        /// How long: 30m, 2h, 1d.
        #[arg(long = "for")]
        length: String,
        #[arg(long, default_value = "")]
        comment: String,
        /// Who asks (default: $USER).
        #[arg(long)]
        author: Option<String>,
    },
    /// Active silences, and those that ended in the last 7 days.
    List,
    /// End a silence now (it stays listed for 7 days).
    Expire { id: String },
}

async fn records(args: &SilenceArgs) -> Result<Arc<dyn Records>, crate::Error> {
    match &args.table {
        #[cfg(feature = "aws")]
        Some(table) => {
            let aws = opsbell_aws::sdk_config().await;
            let client = aws_sdk_dynamodb::Client::new(&aws);
            Ok(Arc::new(opsbell_aws::dynamodb::DynamoStore::new(
                client, table,
            )))
        }
        #[cfg(not(feature = "aws"))]
        Some(_) => Err(
            "--table needs the AWS build: cargo run -p opsbell --features aws -- silence …".into(),
        ),
        None => {
            let db = opsbell_local::db::Db::open(&args.db)
                .map_err(|e| format!("{}: {e}", args.db.display()))?;
            Ok(Arc::new(opsbell_local::store::SqliteStore::new(&db)?))
        }
    }
}

pub async fn run(args: &SilenceArgs) -> Result<ExitCode, crate::Error> {
    let now = chrono::Utc::now();
    match &args.action {
        Action::Add {
            matchers,
            length,
            comment,
            author,
        } => {
            let env: Vec<(String, String)> = std::env::vars().collect();
            let (m, channels) = silence::matchers(matchers)?;
            let request = silence::Request {
                matchers: m,
                channels,
                length: silence::length(length, silence::max_length(&env)?)?,
                comment: comment.clone(),
            };
            let by = author
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "cli".into());
            let records = records(args).await?;
            let s = silence::add(records.as_ref(), request, &by, now).await?;
            crate::out!("silenced {}", silence::line(&s, now));
        }
        Action::List => {
            let records = records(args).await?;
            let all = Silence::all(records.as_ref(), now).await?;
            if all.is_empty() {
                crate::out!("no silences");
            }
            for s in &all {
                crate::out!("{}", silence::line(s, now));
            }
        }
        Action::Expire { id } => {
            let records = records(args).await?;
            match silence::expire(records.as_ref(), id, now).await? {
                Some(s) => crate::out!("expired {}", silence::line(&s, now)),
                None => {
                    crate::out!("no active silence {id}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
