//! The other state records on the same DynamoDB table: `pk`, `sk`, a JSON `body`, and the TTL
//! attribute when the record expires.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use opsbell_core::ports::{Records, StoreError};
use serde_json::Value;

use crate::dynamodb::{DynamoStore, TTL_ATTRIBUTE, err, n, s};

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn body_of(item: &HashMap<String, AttributeValue>) -> Result<Value, StoreError> {
    let text = item
        .get("body")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError("record without body".into()))?;
    serde_json::from_str(text).map_err(|e| StoreError(format!("record body is not JSON: {e}")))
}

#[async_trait]
impl Records for DynamoStore {
    async fn get_record(&self, pk: &str, sk: &str) -> Result<Option<Value>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        out.item().map(body_of).transpose()
    }

    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut item = key(pk, sk);
        item.insert("body".into(), s(body.to_string()));
        if let Some(t) = expires_at {
            item.insert(TTL_ATTRIBUTE.into(), n(t.timestamp()));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    /// A conditional PutItem: `attribute_not_exists(pk)`, or `body = :expected` (bodies are
    /// written as serde_json prints them, so equal values are equal strings). Needs only
    /// `dynamodb:PutItem`.
    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&Value>,
        body: &Value,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut item = key(pk, sk);
        item.insert("body".into(), s(body.to_string()));
        if let Some(t) = expires_at {
            item.insert(TTL_ATTRIBUTE.into(), n(t.timestamp()));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(old) => put
                .condition_expression("body = :expected")
                .expression_attribute_values(":expected", s(old.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn list_records(&self, pk: &str) -> Result<Vec<(String, Value)>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(err)?;
            for item in page.items() {
                out.push((sort_key(item), body_of(item)?));
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// One bounded query, newest first (`ScanIndexForward=false`, `Limit`).
    async fn page_before(
        &self,
        pk: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        query = match before {
            Some(b) => query
                .key_condition_expression("pk = :pk AND sk < :before")
                .expression_attribute_values(":before", s(b)),
            None => query.key_condition_expression("pk = :pk"),
        };
        let page = query.send().await.map_err(err)?;
        page.items()
            .iter()
            .take(limit)
            .map(|item| Ok((sort_key(item), body_of(item)?)))
            .collect()
    }
}

fn sort_key(item: &HashMap<String, AttributeValue>) -> String {
    item.get("sk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}
