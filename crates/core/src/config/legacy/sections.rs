//! Reading the predecessor's sections: which are targets, which are its empty template, and
//! when two of them name one destination.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Section, TARGETS};
use crate::problem::Problems;

/// A section's targets, each read as a [`Section`]; a section that is not an object, or has an
/// unknown key, is a problem.
pub(super) fn sections(value: Value, prefix: &str, p: &mut Problems) -> BTreeMap<String, Section> {
    let raw: BTreeMap<String, Value> = match value {
        Value::Null => BTreeMap::new(),
        other => p.parse(prefix, other).unwrap_or_default(),
    };
    let mut out = BTreeMap::new();
    for (name, v) in raw {
        let path = format!("{prefix}.{name}");
        let known = TARGETS.iter().any(|t| t.0 == name) || name == "orchestrator";
        if !known && is_empty(&v) {
            // The predecessor's template lists targets opsbell does not have, all empty.
            continue;
        }
        if !known {
            out.insert(name, Section::default());
            continue;
        }
        if prefix == "scheduled" && name == "orchestrator" {
            out.insert(name, Section::default());
            continue;
        }
        if let Some(section) = p.parse(&path, v) {
            out.insert(name, section);
        }
    }
    out
}

/// True for a section whose every value is empty (`""`, `0`, `"False"` or null), its
/// `available_state`, `interval` and `schedule` aside: the predecessor's template fills those in.
fn is_empty(v: &Value) -> bool {
    const PRESET: [&str; 3] = ["available_state", "interval", "schedule"];
    match v {
        Value::Object(m) => m
            .iter()
            .all(|(k, v)| PRESET.contains(&k.as_str()) || is_empty(v)),
        other => is_blank(other),
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty() || s.eq_ignore_ascii_case("false"),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Object(m) => m.values().all(is_blank),
        Value::Array(a) => a.is_empty(),
    }
}

/// What makes two sections one destination: the URL, the room, or the space and project.
pub(super) fn identity(channel: &Value) -> String {
    let keys = [
        "type",
        "webhook_url",
        "room_id",
        "base_url",
        "space_key",
        "project_id",
    ];
    let parts: Vec<String> = keys
        .iter()
        .map(|k| {
            channel
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    parts.join("\u{1f}")
}
