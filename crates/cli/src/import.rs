//! `opsbell import-chatbots`: the one-shot import of the iPF Google Chat bot's `chatbots` table
//! (partition key `bot_id`, sort key `space_id`) into opsbell's space registry in the state
//! table, with the AWS credentials and region of the environment. Idempotent: run it again and
//! nothing changes. Built with the `aws` feature (`cargo run -p opsbell --features aws -- …`).

use std::process::ExitCode;

use clap::Args;
use opsbell_aws::dynamodb::DynamoStore;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The iPF bot's table.
    #[arg(long, default_value = "chatbots")]
    pub from_table: String,
    /// Its `bot_id` whose spaces to import.
    #[arg(long)]
    pub bot_id: String,
    /// opsbell's state table (the deployment's `STATE_TABLE`).
    #[arg(long)]
    pub table: String,
    /// The registry's bot name (the chat-listener's `CHAT_BOT_NAME`).
    #[arg(long, default_value = opsbell_core::state::DEFAULT_BOT_NAME)]
    pub bot: String,
}

pub async fn run(args: &ImportArgs) -> Result<ExitCode, crate::Error> {
    let aws = opsbell_aws::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let ids = opsbell_aws::ipf::chatbots_spaces(&client, &args.from_table, &args.bot_id).await?;
    let records = DynamoStore::new(client, &args.table);
    let done = opsbell_core::chat::import::import_spaces(&records, &args.bot, &ids).await?;
    crate::out!(
        "{}: {} space(s) of bot_id {:?}: {} added, {} already registered",
        args.from_table,
        ids.len(),
        args.bot_id,
        done.added.len(),
        done.kept.len()
    );
    for space in &done.added {
        crate::out!("  added {space}");
    }
    Ok(ExitCode::SUCCESS)
}
