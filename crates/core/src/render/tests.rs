//! Snapshots of every renderer for the five job samples in both languages.

use chrono::DateTime;

use super::*;
use crate::event::truncate;
use crate::locale::Language;
use crate::source::Inbound;
use crate::source::uipath::{UipathContext, parse_webhook};

const SAMPLES: [&str; 5] = ["created", "started", "faulted", "completed", "stopped"];

fn sample_event(name: &str) -> Event {
    let path = format!(
        "{}/../../samplejson/uipath-webhook-job-{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let body = std::fs::read(&path).unwrap();
    let ctx = UipathContext {
        orchestrator_url: Some("https://cloud.uipath.com/acme/DefaultTenant".into()),
        received_at: DateTime::UNIX_EPOCH,
    };
    let Inbound::Events(mut events) = parse_webhook(&body, &ctx).unwrap() else {
        panic!()
    };
    events.remove(0)
}

#[test]
fn every_renderer_for_every_sample_in_both_languages() {
    for name in SAMPLES {
        let event = sample_event(name);
        for (lang, code) in [(Language::En, "en"), (Language::Ja, "ja")] {
            let opts = RenderOptions {
                language: lang,
                timezone: chrono_tz::Asia::Tokyo,
            };
            let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap();
            insta::assert_snapshot!(
                format!("slack-{name}-{code}"),
                pretty(&slack::render(&event, opts))
            );
            insta::assert_snapshot!(
                format!("google_chat-{name}-{code}"),
                pretty(&google_chat::render(&event, opts))
            );
            insta::assert_snapshot!(
                format!("chatwork-{name}-{code}"),
                chatwork::render(&event, opts)
            );
            let issue = backlog::render(&event, opts);
            insta::assert_snapshot!(
                format!("backlog-{name}-{code}"),
                format!("{}\n---\n{}", issue.summary, issue.description)
            );
        }
    }
}

#[test]
fn truncation_keeps_messages_inside_vendor_limits() {
    let mut event = sample_event("faulted");
    event.info = Some("é".repeat(50_000));
    let opts = RenderOptions {
        language: Language::En,
        timezone: chrono_tz::UTC,
    };
    let slack = slack::render(&event, opts);
    let info_block = &slack["attachments"][0]["blocks"][2]["text"]["text"];
    assert!(info_block.as_str().unwrap().chars().count() <= slack::SECTION_TEXT_MAX);
    let chat = serde_json::to_vec(&google_chat::render(&event, opts)).unwrap();
    assert!(chat.len() < 32_000, "{} bytes", chat.len());
    assert!(chatwork::render(&event, opts).chars().count() < 5_000);
    assert!(truncate("short", 10) == "short");
}
