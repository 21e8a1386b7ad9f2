//! Snapshots of every renderer for the five job samples in every language.

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
        tenant: None,
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
        for (lang, code) in [
            (Language::En, "en"),
            (Language::Ja, "ja"),
            (Language::Ko, "ko"),
        ] {
            let opts = RenderOptions {
                language: lang,
                timezone: chrono_tz::Asia::Tokyo,
            };
            fn pretty(v: &impl serde::Serialize) -> String {
                serde_json::to_string_pretty(v).unwrap()
            }
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
    let slack = serde_json::to_value(slack::render(&event, opts)).unwrap();
    let info_block = &slack["attachments"][0]["blocks"][2]["text"]["text"];
    assert!(info_block.as_str().unwrap().chars().count() <= slack::SECTION_TEXT_MAX);
    let chat = serde_json::to_vec(&google_chat::render(&event, opts)).unwrap();
    assert!(chat.len() < 32_000, "{} bytes", chat.len());
    assert!(chatwork::render(&event, opts).chars().count() < 5_000);
    assert!(truncate("short", 10) == "short");
}

#[test]
fn mentions_are_real_mentions_in_every_part_that_shows_them() {
    let mut event = sample_event("faulted");
    event.mentions = vec![
        "U0123ABCD".into(),
        "S0456EFGH".into(),
        "here".into(),
        "yamada".into(),
        "123456789".into(),
        "users/987654321".into(),
    ];
    event.process = "Billing <Daily> & more".into();
    let opts = RenderOptions {
        language: Language::En,
        timezone: chrono_tz::Asia::Tokyo,
    };
    let slack = serde_json::to_value(slack::render(&event, opts)).unwrap();
    let who = "<@U0123ABCD> <!subteam^S0456EFGH> <!here> @yamada @123456789 @users/987654321 ";
    let title = "🔴 Billing &lt;Daily&gt; &amp; more faulted";
    assert_eq!(slack["text"], format!("{who}{title}"));
    assert_eq!(slack["attachments"][0]["fallback"], format!("{who}{title}"));
    assert_eq!(
        slack["attachments"][0]["blocks"][0]["text"]["text"],
        format!("{who}*{title}*")
    );
    let chat = google_chat::render(&event, opts);
    assert_eq!(
        chat["text"],
        "@U0123ABCD @S0456EFGH @here @yamada <users/123456789> <users/987654321> \
         🔴 *Billing ＜Daily＞ & more faulted*"
    );
    let chatwork = chatwork::render(&event, opts);
    assert!(
        chatwork
            .starts_with("@U0123ABCD @S0456EFGH @here @yamada [To:123456789] @users/987654321 "),
        "{chatwork}"
    );
}

#[test]
fn a_headline_and_details_from_the_source_are_shown() {
    let mut event = sample_event("faulted");
    event.headline = Some("テナントAのジョブ(12)は完了カモ".into());
    event.details = vec![("Namespace".into(), "AWS/EC2".into())];
    let opts = RenderOptions {
        language: Language::Ja,
        timezone: chrono_tz::Asia::Tokyo,
    };
    let slack = serde_json::to_value(slack::render(&event, opts)).unwrap();
    assert_eq!(slack["text"], "🔴 テナントAのジョブ(12)は完了カモ");
    let fields = slack["attachments"][0]["blocks"][1]["fields"]
        .as_array()
        .unwrap();
    assert_eq!(fields.last().unwrap()["text"], "*Namespace*\nAWS/EC2");
    let chat = google_chat::render(&event, opts);
    assert_eq!(
        chat["cardsV2"][0]["card"]["header"]["title"],
        "テナントAのジョブ(12)は完了カモ"
    );
}
