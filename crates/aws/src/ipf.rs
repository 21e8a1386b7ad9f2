//! The iPF Google Chat bot's `chatbots` table (partition key `bot_id`, sort key `space_id`), read
//! for [`opsbell_core::chat::import`].

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use opsbell_core::ports::StoreError;

use crate::dynamodb::err;

/// Every `space_id` the table holds for `bot_id` (a Query, paged).
pub async fn chatbots_spaces(
    client: &Client,
    table: &str,
    bot_id: &str,
) -> Result<Vec<String>, StoreError> {
    let pages = client
        .query()
        .table_name(table)
        .key_condition_expression("bot_id = :b")
        .expression_attribute_values(":b", AttributeValue::S(bot_id.to_string()))
        .into_paginator()
        .items()
        .send();
    let items: Vec<_> = pages.collect::<Result<_, _>>().await.map_err(err)?;
    Ok(items
        .iter()
        .filter_map(|i| i.get("space_id")?.as_s().ok().cloned())
        .collect())
}
