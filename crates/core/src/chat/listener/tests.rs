//! The listener with the Chat event samples, signed tokens and an in-memory registry.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::chat::verify::{Audience, CHAT_ISSUER};
use crate::state::{Incident, RecentDelivery, RecentIncident, Space, Status};
use crate::testing::MemoryRecords;

fn file(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn bearer() -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-kid-1".into());
    let now = Utc::now().timestamp();
    let claims = json!({ "iss": CHAT_ISSUER, "aud": "42", "iat": now, "exp": now + 300 });
    let key = EncodingKey::from_rsa_pem(&file("testdata/test-rsa-key.pem")).unwrap();
    format!("Bearer {}", encode(&header, &claims, &key).unwrap())
}

async fn verifier() -> (MockServer, ChatVerifier) {
    let server = MockServer::start().await;
    let jwks: Value = serde_json::from_slice(&file("testdata/test-jwks.json")).unwrap();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(&server)
        .await;
    let v = ChatVerifier::new(
        Audience::ProjectNumber("42".into()),
        Some(server.uri()),
        reqwest::Client::new(),
    );
    (server, v)
}

/// The samples' user is the responder.
static CHUCK: std::sync::LazyLock<Access> = std::sync::LazyLock::new(|| {
    let raw = json!({ "access": { "responders": ["chuck@example.com"] } });
    Access::from_raw(&raw).unwrap()
});

fn sample(name: &str) -> Vec<u8> {
    file(&format!(
        "../../samplejson/googlechat-event-{name}-docs.json"
    ))
}

#[tokio::test]
async fn the_samples_drive_the_registry_and_commands_answer() {
    let (_server, verifier) = verifier().await;
    let records = MemoryRecords::default();
    let listener = ChatListener {
        bot: "opsbell",
        verifier: &verifier,
        records: &records,
        oncall: None,
        language: crate::locale::Language::En,
        silence_max: chrono::Duration::days(30),
        access: &CHUCK,
    };
    let auth = bearer();
    let now = Utc::now();

    let added = listener
        .handle(Some(&auth), &sample("added-to-space-room"), now)
        .await;
    assert_eq!(added.status, 200);
    assert!(
        added.body["text"]
            .as_str()
            .unwrap()
            .contains("Chuck Norris Discussion Room")
    );
    let spaces = records.list_records("SPACE#opsbell").await.unwrap();
    assert_eq!(spaces.len(), 1);
    assert_eq!(
        (spaces[0].0.as_str(), spaces[0].1["type"].as_str()),
        ("spaces/AAAAAAAAAAA", Some("ROOM"))
    );

    let message = listener
        .handle(Some(&auth), &sample("message-room"), now)
        .await;
    assert!(
        message.body["text"]
            .as_str()
            .unwrap()
            .starts_with("Commands:"),
        "unknown words get help"
    );

    let removed = listener
        .handle(Some(&auth), &sample("removed-from-space"), now)
        .await;
    assert_eq!((removed.status, removed.body.clone()), (200, json!({})));
    assert!(
        records
            .list_records("SPACE#opsbell")
            .await
            .unwrap()
            .is_empty()
    );

    let unsigned = listener.handle(None, &sample("message-room"), now).await;
    assert_eq!(unsigned.status, 401);
    assert_eq!(listener.handle(Some(&auth), b"{", now).await.status, 400);
}

#[tokio::test]
async fn ack_marks_a_running_incident_and_oncall_says_when_unconfigured() {
    let (_server, verifier) = verifier().await;
    let records = MemoryRecords::default();
    // A CloudWatch incident's id holds the alarm name, spaces and all; another is acked by the
    // short id chat was told.
    let spaced = "cloudwatch:123456789012:Disk full on db-1:2026-11-23t03:00:00z:alarm";
    for id in [spaced, "inc-8"] {
        let incident = Incident {
            id: id.into(),
            created_at: Utc::now(),
            message: "m".into(),
            title: "t".into(),
            calls: Vec::new(),
            step: 0,
            contacts: Vec::new(),
            status: Status::Calling,
            dry_run: false,
        };
        let crate::state::Key { pk, sk } = Incident::key(id);
        records
            .put_record(&pk, &sk, &serde_json::to_value(&incident).unwrap(), None)
            .await
            .unwrap();
        let recent = RecentIncident {
            at: Utc::now(),
            id: id.into(),
            title: "t".into(),
        };
        recent.save(&records).await.unwrap();
    }
    let listener = ChatListener {
        bot: "opsbell",
        verifier: &verifier,
        records: &records,
        oncall: None,
        language: crate::locale::Language::En,
        silence_max: chrono::Duration::days(30),
        access: &CHUCK,
    };
    let mut event: Value = serde_json::from_slice(&sample("message-room")).unwrap();
    let mut say = |text: &str| {
        event["message"]["argumentText"] = Value::String(format!(" {text}"));
        event.to_string()
    };
    let status_of = async |id: &str| {
        let crate::state::Key { pk, sk } = Incident::key(id);
        let v = records.get_record(&pk, &sk).await.unwrap().unwrap();
        serde_json::from_value::<Incident>(v).unwrap().status
    };
    let acked = Status::Acked {
        by: "Chuck Norris".into(),
    };
    let reply = listener
        .handle(
            Some(&bearer()),
            say(&format!("ack {spaced}")).as_bytes(),
            Utc::now(),
        )
        .await;
    let short = crate::escalation::short_id(spaced);
    assert_eq!(
        reply.body["text"],
        format!("Acknowledged {short} by Chuck Norris: nobody else will be called.")
    );
    assert_eq!(status_of(spaced).await, acked);
    let eight = crate::escalation::short_id("inc-8");
    let reply = listener
        .handle(
            Some(&bearer()),
            say(&format!("ack {}", eight.to_uppercase())).as_bytes(),
            Utc::now(),
        )
        .await;
    assert_eq!(
        reply.body["text"],
        format!("Acknowledged {eight} by Chuck Norris: nobody else will be called.")
    );
    assert_eq!(status_of("inc-8").await, acked);
    let again = listener
        .handle(
            Some(&bearer()),
            say(&format!("ack {eight}")).as_bytes(),
            Utc::now(),
        )
        .await;
    assert_eq!(
        again.body["text"],
        format!("No running escalation {eight}.")
    );
    let who = listener
        .handle(Some(&bearer()), say("oncall").as_bytes(), Utc::now())
        .await;
    assert_eq!(who.body["text"], "On-call is not configured for this bot.");
}

#[tokio::test]
async fn status_lists_recent_deliveries_and_escalations() {
    let (_server, verifier) = verifier().await;
    let records = MemoryRecords::default();
    let now: DateTime<Utc> = "2026-11-23T03:00:00Z".parse().unwrap();
    Space::default()
        .save(&records, "opsbell", "spaces/AAAAAAAAAAA")
        .await
        .unwrap();
    let path = format!(
        "{}/../../samplejson/uipath-webhook-job-faulted.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let ctx = crate::source::uipath::UipathContext {
        orchestrator_url: None,
        received_at: now,
        tenant: None,
    };
    let crate::source::Inbound::Events(events) =
        crate::source::uipath::parse_webhook(&std::fs::read(path).unwrap(), &ctx).unwrap()
    else {
        panic!()
    };
    let old = now - chrono::Duration::hours(30);
    RecentDelivery::of(&events[0], &["ops-slack"], old)
        .save(&records)
        .await
        .unwrap();
    RecentDelivery::of(&events[0], &["ops-slack", "ops-bot"], now)
        .save(&records)
        .await
        .unwrap();
    let recent = RecentIncident {
        at: now,
        id: "inc-9".into(),
        title: "Disk full".into(),
    };
    recent.save(&records).await.unwrap();
    let incident = Incident {
        id: "inc-9".into(),
        created_at: now,
        message: "m".into(),
        title: "Disk full".into(),
        calls: Vec::new(),
        step: 0,
        contacts: Vec::new(),
        status: Status::Acked { by: "Ana".into() },
        dry_run: false,
    };
    let crate::state::Key { pk, sk } = Incident::key("inc-9");
    records
        .put_record(&pk, &sk, &serde_json::to_value(&incident).unwrap(), None)
        .await
        .unwrap();
    // A heartbeat check's row, as its pings leave it (the bot has no configuration to read).
    let late = json!({ "status": "late", "last_ping": "2026-11-23T01:00:00Z" });
    records
        .put_record("HEARTBEAT#ALL", "nightly-batch", &late, None)
        .await
        .unwrap();
    let listener = ChatListener {
        bot: "opsbell",
        verifier: &verifier,
        records: &records,
        oncall: None,
        language: crate::locale::Language::En,
        silence_max: chrono::Duration::days(30),
        access: &CHUCK,
    };
    let mut event: Value = serde_json::from_slice(&sample("message-room")).unwrap();
    event["message"]["argumentText"] = json!(" status");
    let reply = listener
        .handle(Some(&bearer()), event.to_string().as_bytes(), now)
        .await;
    assert_eq!(
        reply.body["text"],
        format!(
            "opsbell is running. I post to 1 space(s).\nDelivered in the last 24 h: 1\n\
             • 2026-11-23 03:00 UTC faulted *{}* → ops-slack, ops-bot\n\
             Phone escalations this week: 1\n\
             • 2026-11-23 03:00 UTC c22e *Disk full* — acknowledged by Ana\n\
             Heartbeat checks: 1\n\
             • *nightly-batch* late (2026-11-23 01:00 UTC)",
            events[0].process
        )
    );
}

#[tokio::test]
async fn a_message_from_an_unregistered_space_registers_it_once() {
    let (_server, verifier) = verifier().await;
    let records = MemoryRecords::default();
    let listener = ChatListener {
        bot: "opsbell",
        verifier: &verifier,
        records: &records,
        oncall: None,
        language: crate::locale::Language::En,
        silence_max: chrono::Duration::days(30),
        access: &CHUCK,
    };
    let (auth, first) = (bearer(), Utc::now());
    let reply = listener
        .handle(Some(&auth), &sample("message-room"), first)
        .await;
    assert!(
        reply.body["text"]
            .as_str()
            .unwrap()
            .starts_with("Commands:")
    );
    let registered = Space::load(&records, "opsbell", "spaces/AAAAAAAAAAA")
        .await
        .unwrap();
    assert_eq!(registered.and_then(|s| s.added_at), Some(first));
    let later = first + chrono::Duration::minutes(5);
    listener
        .handle(Some(&auth), &sample("message-room"), later)
        .await;
    let names = Space::names(&records, "opsbell").await.unwrap();
    assert_eq!(names, ["spaces/AAAAAAAAAAA"]);
    let kept = Space::load(&records, "opsbell", "spaces/AAAAAAAAAAA")
        .await
        .unwrap();
    assert_eq!(
        kept.and_then(|s| s.added_at),
        Some(first),
        "a known space is not rewritten"
    );
}

#[tokio::test]
async fn oncall_follows_the_mapping_for_every_topic_and_names_a_gap() {
    let (_server, verifier) = verifier().await;
    let records = MemoryRecords::default();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: serde_json::Value| {
        std::fs::write(dir.path().join(name), v.to_string()).unwrap();
    };
    write(
        "mapping.json",
        serde_json::json!([
            {"sns_topic_name": "a-topic", "phone_number_json_file": "a.json"},
            {"snsTopicName": "b-topic", "phoneNumberJsonFile": "b.json"}
        ]),
    );
    write(
        "a.json",
        serde_json::json!([{"start_day": 1, "end_day": 31, "phone_number": ["+815000000001"]}]),
    );
    // b's rotation leaves the 20th onwards uncovered.
    write(
        "b.json",
        serde_json::json!([{"startDay": 1, "endDay": 19, "phoneNumber": ["+815000000002"]}]),
    );
    let env: Vec<(String, String)> = [
        ("ONCALL_FILES_DIR", dir.path().to_str().unwrap()),
        ("MAPPING_JSON_FILE", "mapping.json"),
        ("CONNECT_EXTRA_DESTINATION_PHONE_NUMBER", "+815099999999"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let settings = OncallSettings::from_env(&env).unwrap();
    let files = crate::escalation::trigger::DirFiles(dir.path().into());
    let listener = ChatListener {
        bot: "opsbell",
        verifier: &verifier,
        records: &records,
        oncall: Some((&settings, &files)),
        language: crate::locale::Language::En,
        silence_max: chrono::Duration::days(30),
        access: &CHUCK,
    };
    let mut event: Value = serde_json::from_slice(&sample("message-room")).unwrap();
    let mut say = |text: &str| {
        event["message"]["argumentText"] = Value::String(format!(" {text}"));
        event.to_string()
    };
    // 2026-11-25 in Tokyo.
    let now: DateTime<Utc> = "2026-11-25T01:00:00Z".parse().unwrap();
    let who = listener
        .handle(Some(&bearer()), say("oncall").as_bytes(), now)
        .await;
    assert_eq!(
        who.body["text"],
        "On call today (day 25) for a-topic: #1 — +815000000001\n\
         Nobody is scheduled for day 25 for b-topic. The rotation b.json has no group for \
         day 25: calling the extra number +815099999999."
    );
    let one = listener
        .handle(Some(&bearer()), say("oncall a-topic").as_bytes(), now)
        .await;
    assert_eq!(
        one.body["text"],
        "On call today (day 25) for a-topic: #1 — +815000000001"
    );
}

#[tokio::test]
async fn the_bot_replies_in_the_deployments_language() {
    use crate::locale::Language;
    let (_server, verifier) = verifier().await;
    for (language, code) in [
        (Language::En, "en"),
        (Language::Ja, "ja"),
        (Language::Ko, "ko"),
    ] {
        let records = MemoryRecords::default();
        let listener = ChatListener {
            bot: "opsbell",
            verifier: &verifier,
            records: &records,
            oncall: None,
            language,
            silence_max: chrono::Duration::days(30),
            access: &CHUCK,
        };
        let now: DateTime<Utc> = "2026-11-23T03:00:00Z".parse().unwrap();
        let added = listener
            .handle(Some(&bearer()), &sample("added-to-space-room"), now)
            .await;
        let mut event: Value = serde_json::from_slice(&sample("message-room")).unwrap();
        let mut lines = vec![added.body["text"].as_str().unwrap().to_string()];
        for text in ["help", "status", "oncall", "ack", "ack inc-9"] {
            event["message"]["argumentText"] = Value::String(format!(" {text}"));
            let reply = listener
                .handle(Some(&bearer()), event.to_string().as_bytes(), now)
                .await;
            lines.push(format!("{text} → {}", reply.body["text"].as_str().unwrap()));
        }
        insta::assert_snapshot!(format!("replies-{code}"), lines.join("\n"));
    }
}

#[tokio::test]
async fn only_responders_act_and_only_from_their_spaces_while_anyone_reads() {
    let (_server, verifier) = verifier().await;
    let records = MemoryRecords::default();
    let mut event: Value = serde_json::from_slice(&sample("message-room")).unwrap();
    let mut say = |text: &str, email: &str| {
        event["message"]["argumentText"] = Value::String(format!(" {text}"));
        event["user"]["email"] = Value::String(email.into());
        event.to_string()
    };
    let access = |raw: Value| Access::from_raw(&json!({ "access": raw })).unwrap();
    let (nobody, ops, elsewhere) = (
        access(json!({})),
        access(json!({ "responders": ["@ops.example.com"] })),
        access(json!({ "responders": ["@ops.example.com"], "spaces": ["spaces/OTHER"] })),
    );
    let ask = async |access: &Access, body: String| {
        let listener = ChatListener {
            bot: "opsbell",
            verifier: &verifier,
            records: &records,
            oncall: None,
            language: crate::locale::Language::En,
            silence_max: chrono::Duration::days(30),
            access,
        };
        let reply = listener
            .handle(Some(&bearer()), body.as_bytes(), Utc::now())
            .await;
        reply.body["text"].as_str().unwrap().to_string()
    };
    let silence = "silence process=InvoiceBot for 2h";
    assert_eq!(
        ask(&nobody, say(silence, "chuck@example.com")).await,
        "Only responders may `silence`, and none are configured (access.responders)."
    );
    assert_eq!(
        ask(&ops, say(silence, "chuck@example.com")).await,
        "Only responders may `silence`: you are not one (access.responders)."
    );
    assert_eq!(
        ask(&elsewhere, say(silence, "ann@ops.example.com")).await,
        "Responders may `silence` only from the spaces in access.spaces."
    );
    for verb in ["ack inc-1", "unsilence s-1", "UNSILENCE s-1"] {
        let refused = ask(&ops, say(verb, "mallory@example.com")).await;
        assert!(
            refused.starts_with("Only responders may"),
            "{verb}: {refused}"
        );
    }
    assert!(
        crate::silence::Silence::all(&records, Utc::now())
            .await
            .unwrap()
            .is_empty(),
        "nothing was silenced"
    );
    // Anyone reads.
    let listed = ask(&nobody, say("silences", "mallory@example.com")).await;
    assert!(listed.starts_with("Silences"), "{listed}");
    // A responder of the domain acts.
    let done = ask(&ops, say(silence, "ann@ops.example.com")).await;
    assert!(done.starts_with("Silenced"), "{done}");
    let all = crate::silence::Silence::all(&records, Utc::now())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}
