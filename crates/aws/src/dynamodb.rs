//! The state table on DynamoDB (single table, `pk`/`sk`; ARCHITECTURE "State"). This file holds
//! the delivery log: `DELIVERY#<event key>` / `<target>`, claimed with a conditional update so two
//! workers never post the same event to the same target, kept 14 days by TTL.
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
};
use chrono::{DateTime, Utc};
use opsbell_core::event::EventKey;
use opsbell_core::ports::{Claim, DeliveryLog, DeliveryOutcome, StoreError};
use opsbell_core::state::{self, DELIVERY_TTL_DAYS};

use crate::describe;

/// The TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

const PENDING: &str = "pending";
const DELIVERED: &str = "delivered";
const FAILED: &str = "failed";
const REJECTED: &str = "rejected";
const WITHHELD: &str = "withheld";

#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn err(e: impl std::error::Error) -> StoreError {
    StoreError(describe(&e))
}

impl DynamoStore {
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Creates the table with its TTL (for tests and local setups; `serverless.yml` owns it on AWS).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        client
            .create_table()
            .table_name(table)
            .key_schema(key("pk", KeyType::Hash).map_err(err)?)
            .key_schema(key("sk", KeyType::Range).map_err(err)?)
            .attribute_definitions(attr("pk").map_err(err)?)
            .attribute_definitions(attr("sk").map_err(err)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(err)?;
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL_ATTRIBUTE)
            .build()
            .map_err(err)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    fn delivery_key(key: &EventKey, target: &str) -> HashMap<String, AttributeValue> {
        let row = state::delivery_key(key, target);
        HashMap::from([("pk".to_string(), s(row.pk)), ("sk".to_string(), s(row.sk))])
    }

    /// How the delivery of `key` to `target` stands: its state (`delivered`, `withheld`,
    /// `failed`, …) and its detail or last error. For history and checks.
    pub async fn delivery_record(
        &self,
        key: &EventKey,
        target: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::delivery_key(key, target)))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        let text = |item: &HashMap<String, AttributeValue>, k: &str| {
            item.get(k).and_then(|v| v.as_s().ok()).cloned()
        };
        Ok(out.item().map(|item| {
            let state = text(item, "state").unwrap_or_default();
            let detail = text(item, "detail").or_else(|| text(item, "last_error"));
            (state, detail.unwrap_or_default())
        }))
    }

    async fn state_of(&self, key: &EventKey, target: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .delivery_record(key, target)
            .await?
            .map(|(state, _)| state))
    }
}

/// When a delivery may be taken: never tried, failed or refused, or its lease expired. Shared
/// by a claim and a withholding, so both refuse the same rows.
const CLAIMABLE: &str = "attribute_not_exists(pk) OR #state IN (:failed, :rejected) OR (#state = :pending AND lease_until < :now)";

impl DynamoStore {
    /// One conditional update of the delivery row: `set` when it is [`CLAIMABLE`]. `set` must
    /// use `:now`, `:ttl`, `:zero` and `:one` and every one of `values` (DynamoDB refuses an
    /// unused value). A refusal answers from the row the condition saw
    /// (`ReturnValuesOnConditionCheckFailure`), not from a second, billed read.
    async fn take(
        &self,
        key: &EventKey,
        target: &str,
        now: DateTime<Utc>,
        set: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Claim, StoreError> {
        let ttl = now + chrono::Duration::days(DELIVERY_TTL_DAYS);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::delivery_key(key, target)))
            .condition_expression(CLAIMABLE)
            .update_expression(set)
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":failed", s(FAILED))
            .expression_attribute_values(":rejected", s(REJECTED))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(ttl.timestamp()))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        match update.send().await {
            Ok(out) => {
                let attempt = out
                    .attributes()
                    .and_then(|a| a.get("attempts"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                Ok(Claim::Acquired { attempt })
            }
            Err(e) => {
                let Some(UpdateItemError::ConditionalCheckFailedException(refused)) =
                    e.as_service_error()
                else {
                    return Err(err(e));
                };
                let seen = refused.item().and_then(|item| item.get("state"));
                let state = match seen.and_then(|v| v.as_s().ok()) {
                    Some(state) => Some(state.clone()),
                    // An emulator that does not return the row: read it.
                    None => self.state_of(key, target).await?,
                };
                Ok(match state.as_deref() {
                    Some(DELIVERED | WITHHELD) => Claim::AlreadyDelivered,
                    _ => Claim::Busy,
                })
            }
        }
    }
}

#[async_trait]
impl DeliveryLog for DynamoStore {
    async fn claim_delivery(
        &self,
        key: &EventKey,
        target: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let set = "SET #state = :pending, lease_until = :lease, \
                   attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now, #ttl = :ttl";
        let lease = vec![(":lease", n(lease_until.timestamp()))];
        self.take(key, target, now, set, lease).await
    }

    async fn finish_delivery(
        &self,
        key: &EventKey,
        target: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (state, field, text) = match outcome {
            DeliveryOutcome::Delivered { detail } => (DELIVERED, "detail", detail),
            DeliveryOutcome::Failed {
                error,
                permanent: true,
            } => (REJECTED, "last_error", error),
            DeliveryOutcome::Failed {
                error,
                permanent: false,
            } => (FAILED, "last_error", error),
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::delivery_key(key, target)))
            .update_expression(
                "SET #state = :state, #field = :text, updated_at = :now REMOVE lease_until",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#field", field)
            .expression_attribute_values(":state", s(state))
            .expression_attribute_values(":text", s(non_empty(text)))
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn withhold_delivery(
        &self,
        key: &EventKey,
        target: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let set = "SET #state = :withheld, detail = :reason, \
                   attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now, #ttl = :ttl \
                   REMOVE lease_until";
        let values = vec![
            (":withheld", s(WITHHELD)),
            (":reason", s(non_empty(reason))),
        ];
        self.take(key, target, now, set, values).await
    }

    /// One eventually consistent Query of the event's partition (a row per target, their
    /// states only): half a read unit for up to 4 KB.
    async fn delivered_everywhere(
        &self,
        key: &EventKey,
        targets: &[String],
    ) -> Result<bool, StoreError> {
        let pk = state::delivery_key(key, "").pk;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .projection_expression("sk, #state")
            .expression_attribute_names("#state", "state")
            .send()
            .await
            .map_err(err)?;
        let text = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_s().ok()).cloned()
        };
        let done: Vec<String> = (out.items().iter())
            .filter(|item| matches!(text(item, "state").as_deref(), Some(DELIVERED | WITHHELD)))
            .filter_map(|item| text(item, "sk"))
            .collect();
        // More than a page of targets is more than any configuration has: not judged here.
        let complete = out.last_evaluated_key().is_none();
        Ok(complete && !targets.is_empty() && targets.iter().all(|t| done.contains(t)))
    }
}

/// A detail or reason as written: `-` for none, so the row always says something.
fn non_empty(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}
