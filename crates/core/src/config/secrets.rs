//! Secret references in configuration: any string value written `ssm:/path` (an SSM Parameter
//! Store parameter, decrypted) or `secretsmanager:name` (a Secrets Manager secret) is replaced by
//! its value once at cold start, before validation. The values are never logged; only the
//! reference names are.

use serde_json::Value;
use tracing::info;

use super::{ConfigError, Problem};
pub use crate::ports::{Reference, Resolver};

/// Written in a reference, the deployment stage (`ssm:/opsbell/${stage}/slack-webhook-url`),
/// filled in at cold start from `OPSBELL_STAGE` (which serverless.yml sets to the stage), so one
/// deploy configuration serves every stage and each stage reads only its own secrets.
pub const STAGE_PLACEHOLDER: &str = "${stage}";

/// Fills [`STAGE_PLACEHOLDER`] into every reference of `value`. A reference that names the
/// stage when none is known is a problem, never a lookup of a literal `${stage}`.
pub fn expand_stage(value: &mut Value, stage: Option<&str>) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    visit_strings_mut(value, String::new(), &mut |path, s| {
        if Reference::parse(s).is_none() || !s.contains(STAGE_PLACEHOLDER) {
            return;
        }
        match stage {
            Some(stage) => *s = s.replace(STAGE_PLACEHOLDER, stage),
            None => problems.push(Problem {
                path,
                message: format!("{s} names {STAGE_PLACEHOLDER}, but OPSBELL_STAGE is not set"),
            }),
        }
    });
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { problems })
    }
}

/// Calls `f` with the path and value of every string in `value`.
fn visit_strings_mut(value: &mut Value, path: String, f: &mut dyn FnMut(String, &mut String)) {
    match value {
        Value::String(s) => f(path, s),
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                visit_strings_mut(v, format!("{path}[{i}]"), f);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                visit_strings_mut(v, key_path(&path, k), f);
            }
        }
        _ => {}
    }
}

/// `path.key`, or `key` at the root.
fn key_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Every reference in `value`, with its path.
pub fn references(value: &Value) -> Vec<(String, Reference)> {
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

fn walk(value: &Value, path: String, out: &mut Vec<(String, Reference)>) {
    match value {
        Value::String(s) => out.extend(Reference::parse(s).map(|r| (path, r))),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                walk(v, key_path(&path, k), out);
            }
        }
        _ => {}
    }
}

/// Replaces every reference in `value` by its secret. Reports every failure at once.
pub async fn resolve(value: &mut Value, resolver: &dyn Resolver) -> Result<usize, ConfigError> {
    let mut problems = Vec::new();
    let mut n = 0;
    resolve_in(value, String::new(), resolver, &mut problems, &mut n).await;
    if problems.is_empty() {
        Ok(n)
    } else {
        Err(ConfigError { problems })
    }
}

fn resolve_in<'a>(
    value: &'a mut Value,
    path: String,
    resolver: &'a dyn Resolver,
    problems: &'a mut Vec<Problem>,
    n: &'a mut usize,
) -> futures::future::BoxFuture<'a, ()> {
    Box::pin(async move {
        match value {
            Value::String(s) => {
                if let Some(r) = Reference::parse(s) {
                    match resolver.resolve(&r).await {
                        Ok(secret) => {
                            info!(reference = %r, path = %path, "Secret resolved.");
                            *s = secret;
                            *n += 1;
                        }
                        Err(e) => problems.push(Problem {
                            path,
                            message: format!("{r}: {e}"),
                        }),
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    resolve_in(v, format!("{path}[{i}]"), resolver, problems, n).await;
                }
            }
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    resolve_in(v, key_path(&path, k), resolver, problems, n).await;
                }
            }
            _ => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_stage_is_filled_into_references_only() {
        let mut v = json!({"a": "ssm:/opsbell/${stage}/x", "b": ["secretsmanager:opsbell/${stage}/y"],
                           "c": "plain ${stage}"});
        expand_stage(&mut v, Some("prod")).unwrap();
        assert_eq!(
            v,
            json!({"a": "ssm:/opsbell/prod/x", "b": ["secretsmanager:opsbell/prod/y"],
                             "c": "plain ${stage}"})
        );
        let mut v = json!({"a": {"b": "ssm:/opsbell/${stage}/x"}});
        let e = expand_stage(&mut v, None).unwrap_err();
        assert_eq!(e.problems[0].path, "a.b");
        assert!(e.problems[0].message.contains("OPSBELL_STAGE"), "{e}");
    }
}
