//! Parsers never panic: arbitrary bytes, arbitrary JSON, and mutations of the real samples
//! through every parser of outside input. Each must answer (an event, "ignored", or an error
//! naming a field); a panic here would be a 502 to Orchestrator or a lost alarm.

use chrono::DateTime;
use proptest::prelude::*;
use serde_json::Value;

use crate::chat::listener::parse_event;
use crate::config::Config;
use crate::oncall::mapping::Mapping;
use crate::oncall::rotation::Rotation;
use crate::source::cloudwatch::parse_sns;
use crate::source::uipath::{UipathContext, parse_webhook};

fn sample(name: &str) -> Value {
    let path = format!("{}/../../samplejson/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn ctx() -> UipathContext {
    UipathContext {
        orchestrator_url: Some("https://cloud.uipath.com/a/b".into()),
        received_at: DateTime::UNIX_EPOCH,
        tenant: None,
    }
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("job.faulted"),
            Just("Faulted"),
            Just("2018-11-26T14:14:26.2529616Z"),
            Just("ALARM")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("Type".to_string()),
                    Just("Job".to_string()),
                    Just("Jobs".to_string()),
                    "[A-Za-z]{1,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a random path of `node` with `with`.
fn mutate(node: &mut Value, choices: &[usize], with: Value) {
    if let Some((c, rest)) = choices.split_first() {
        match node {
            Value::Object(m) if !m.is_empty() => {
                let key = m.keys().nth(c % m.len()).cloned().unwrap();
                return mutate(m.get_mut(&key).unwrap(), rest, with);
            }
            Value::Array(a) if !a.is_empty() => {
                let len = a.len();
                return mutate(&mut a[c % len], rest, with);
            }
            _ => {}
        }
    }
    *node = with;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn webhook_parser_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_webhook(&bytes, &ctx());
    }

    #[test]
    fn webhook_parser_takes_any_json(value in json()) {
        let _ = parse_webhook(value.to_string().as_bytes(), &ctx());
    }

    #[test]
    fn webhook_parser_takes_mutated_samples(
        which in 0usize..5,
        path in prop::collection::vec(any::<usize>(), 0..5),
        with in json(),
    ) {
        let names = ["created", "started", "faulted", "completed", "stopped"];
        let mut doc = sample(&format!("uipath-webhook-job-{}.json", names[which]));
        mutate(&mut doc, &path, with);
        let _ = parse_webhook(doc.to_string().as_bytes(), &ctx());
    }

    #[test]
    fn sns_parser_takes_mutated_alarms(path in prop::collection::vec(any::<usize>(), 0..5), with in json()) {
        let event = sample("sns-cloudwatch-alarm-single-metric-lambda-event.json");
        let mut sns = event["Records"][0]["Sns"].clone();
        let mut alarm: Value = serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
        mutate(&mut alarm, &path, with.clone());
        sns["Message"] = Value::String(alarm.to_string());
        let _ = parse_sns(&sns, DateTime::UNIX_EPOCH);
        mutate(&mut sns, &path, with);
        let _ = parse_sns(&sns, DateTime::UNIX_EPOCH);
    }

    #[test]
    fn rotation_and_mapping_parsers_take_anything(value in json(), bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        for input in [value.to_string().into_bytes(), bytes] {
            if let Ok(r) = Rotation::parse("r.json", &input) {
                let _ = r.validate();
                let _ = r.group_on(15);
            }
            if let Ok(m) = Mapping::parse("m.json", &input) {
                let _ = m.validate();
            }
        }
    }

    #[test]
    fn config_loader_takes_any_json(value in json(), path in prop::collection::vec(any::<usize>(), 0..4), with in json()) {
        let _ = Config::load(&value.to_string(), &[]);
        let mut doc = sample("predecessor-config.json");
        mutate(&mut doc, &path, with);
        let _ = Config::load(&doc.to_string(), &[]);
    }

    #[test]
    fn chat_event_parser_takes_anything_and_mutated_samples(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        sample_index in 0usize..3,
        path in prop::collection::vec(any::<usize>(), 0..5),
        with in json(),
    ) {
        let _ = parse_event(&bytes);
        let names = ["added-to-space-room", "message-room", "removed-from-space"];
        let name = format!("googlechat-event-{}-docs.json", names[sample_index]);
        let mut doc = sample(&name);
        mutate(&mut doc, &path, with);
        let _ = parse_event(doc.to_string().as_bytes());
    }
}
