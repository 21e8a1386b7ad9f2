//! Every renderer's output checked by the vendors' own references (`scripts/vendor-check.py`):
//! Slack's `slack_sdk` Block Kit models, the Chat API discovery document, the Adaptive Card
//! 1.4 schema, Backlog's documented parameters. Over the samples (every job state, the
//! CloudWatch alarm), in every language, and over the worst cases (`render::worst`).
//! `scripts/test.sh` installs the references and names their interpreter in `OPSBELL_PYTHON`.

use chrono::DateTime;
use serde_json::{Value, json};

use opsbell_core::event::Event;
use opsbell_core::locale::Language;
use opsbell_core::render::{RenderOptions, backlog, chatwork, google_chat, slack, teams, worst};
use opsbell_core::source::Inbound;
use opsbell_core::source::uipath::{UipathContext, parse_webhook};

fn samples() -> Vec<(String, Event)> {
    let dir = format!("{}/../../samplejson", env!("CARGO_MANIFEST_DIR"));
    let ctx = UipathContext {
        orchestrator_url: Some("https://cloud.uipath.com/acme/DefaultTenant".into()),
        received_at: DateTime::UNIX_EPOCH,
        tenant: None,
    };
    let mut out = Vec::new();
    for name in ["created", "started", "faulted", "completed", "stopped"] {
        let body = std::fs::read(format!("{dir}/uipath-webhook-job-{name}.json")).unwrap();
        let Inbound::Events(events) = parse_webhook(&body, &ctx).unwrap() else {
            panic!("{name}")
        };
        out.extend(events.into_iter().map(|e| (format!("job-{name}"), e)));
    }
    let sns: Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{dir}/sns-cloudwatch-alarm-single-metric-lambda-event.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let parsed = opsbell_core::source::cloudwatch::parse_sns(
        &sns["Records"][0]["Sns"],
        DateTime::UNIX_EPOCH,
    );
    let Ok(Inbound::Events(alarms)) = parsed else {
        panic!("the alarm sample")
    };
    out.extend(alarms.into_iter().map(|e| ("alarm".to_string(), e)));
    let worst = worst::cases().into_iter();
    out.extend(worst.map(|(name, e)| (format!("worst-{name}"), e)));
    out
}

#[test]
#[ignore = "needs the vendors' references: run scripts/test.sh"]
fn every_rendered_message_passes_the_vendors_own_references() {
    let python = std::env::var("OPSBELL_PYTHON")
        .expect("OPSBELL_PYTHON names the interpreter with the references: run scripts/test.sh");
    let mut rendered: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
    for (name, event) in samples() {
        for (language, code) in [
            (Language::En, "en"),
            (Language::Ja, "ja"),
            (Language::Ko, "ko"),
        ] {
            let o = RenderOptions {
                language,
                timezone: chrono_tz::Asia::Tokyo,
            };
            let name = format!("{name}-{code}");
            let issue = backlog::render(&event, o);
            let form = json!({"projectId": "1", "summary": issue.summary, "description": issue.description,
                              "issueTypeId": "2", "priorityId": "3"});
            for (vendor, message) in [
                (
                    "slack",
                    serde_json::to_value(slack::render(&event, o)).unwrap(),
                ),
                ("slack", slack::plain(&event, o)),
                ("google_chat", google_chat::render(&event, o)),
                ("google_chat", google_chat::plain(&event, o)),
                ("teams", teams::render(&event, o)),
                ("teams", teams::plain(&event, o)),
                ("chatwork", json!(chatwork::render(&event, o))),
                ("backlog", form),
            ] {
                rendered
                    .entry(vendor)
                    .or_default()
                    .push(json!({"name": name, "message": message}));
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rendered.json");
    std::fs::write(&file, serde_json::to_vec(&rendered).unwrap()).unwrap();
    let script = format!(
        "{}/../../scripts/vendor-check.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
