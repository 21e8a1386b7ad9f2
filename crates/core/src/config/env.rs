//! Environment overrides.
//!
//! `OPSBELL__<PATH>` sets the value at a path of `__`-separated keys, matched case-insensitively
//! (`-` in a key matches `_`): `OPSBELL__WEBHOOK__SLACK__INCOMMING_WEBHOOK_URL=https://…`,
//! `OPSBELL__LANGUAGE=ja`. Values starting with `[` or `{`, and `true`/`false`, are read as JSON;
//! everything else stays a string (ids accept strings, and a numeric token must stay a string).
//! The predecessor's plain names `language`, `timezone` and `orchestrator_secret` work too.

use serde_json::{Map, Value};

pub const PREFIX: &str = "OPSBELL__";

const LEGACY: [(&str, &[&str]); 3] = [
    ("language", &["language"]),
    ("timezone", &["timezone"]),
    (
        "orchestrator_secret",
        &["webhook", "orchestrator", "secret"],
    ),
];

pub fn apply_overrides(root: &mut Value, env: &[(String, String)]) {
    for (name, path) in LEGACY {
        if let Some((_, v)) = env.iter().find(|(k, _)| k == name) {
            set(root, path, v);
        }
    }
    for (name, v) in env {
        if let Some(path) = name.strip_prefix(PREFIX) {
            let path: Vec<&str> = path.split("__").filter(|s| !s.is_empty()).collect();
            if !path.is_empty() {
                set(root, &path, v);
            }
        }
    }
}

fn set(root: &mut Value, path: &[&str], raw: &str) {
    let mut node = root;
    for segment in path {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else {
            unreachable!("made an object above")
        };
        let key = map
            .keys()
            .find(|k| same_key(k, segment))
            .cloned()
            .unwrap_or_else(|| segment.to_ascii_lowercase());
        node = map.entry(key).or_insert(Value::Null);
    }
    *node = parse_value(raw);
}

fn same_key(existing: &str, segment: &str) -> bool {
    existing.replace('-', "_").eq_ignore_ascii_case(segment)
}

fn parse_value(raw: &str) -> Value {
    let t = raw.trim_start();
    if (t.starts_with('[') || t.starts_with('{') || raw == "true" || raw == "false")
        && let Ok(v) = serde_json::from_str(raw)
    {
        return v;
    }
    Value::String(raw.to_string())
}
