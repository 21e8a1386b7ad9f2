//! Silences from chat and from the CLI, on the emulator's table: a silenced delivery is recorded
//! with the silence's id and never sent, even after the silence ends; after it, events flow.

use opsbell::silence::{Action, SilenceArgs};
use opsbell_aws::sqs::SqsQueue;
use opsbell_core::chat::listener::ChatListener;
use opsbell_core::config::Config;
use opsbell_core::event::{Event, EventKey, State};
use opsbell_core::ports::Queue;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::chat::{listener_keys, say};
use crate::support::*;

fn job(n: u32) -> Event {
    let mut e = events_of(&job_sample("faulted")).remove(0);
    e.key = EventKey::new(e.source, "", &format!("silenced-{n}"), State::Faulted);
    e
}

async fn setup() -> (Deployment, Config, MockServer) {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let file = json!({
        "language": "en", "timezone": "UTC",
        "webhook": {"orchestrator": {"secret": SECRET}},
        "channels": {"ops": {"type": "slack", "webhook_url": format!("{}{SLACK_PATH}", slack.uri())}},
        // The Chat samples' user.
        "access": {"responders": ["chuck@example.com"]}
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();
    (Deployment::start().await, config, slack)
}

async fn sent(slack: &MockServer) -> Vec<String> {
    let requests = slack.received_requests().await.unwrap();
    let text = |r: &wiremock::Request| {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let footer = v["attachments"][0]["blocks"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        footer["elements"][0]["text"].as_str().unwrap().to_string()
    };
    requests.iter().map(text).collect()
}

/// Delivers `events` through alarm-fanout and returns the delivery log's state of each at `ops`.
async fn deliver(world: &Deployment, config: &Config, events: &[Event]) -> Vec<(String, String)> {
    let queue = SqsQueue::new(world.sqs.clone(), &world.queue_url);
    queue.enqueue(events).await.unwrap();
    assert_eq!(world.fan_out(config).await, events.len());
    let mut states = Vec::new();
    for e in events {
        states.push(
            world
                .store
                .delivery_record(&e.key, "ops")
                .await
                .unwrap()
                .unwrap(),
        );
    }
    states
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_silence_from_chat_holds_back_until_unsilenced_and_what_it_held_stays_unsent() {
    let (world, config, slack) = setup().await;
    let (_keys, verifier) = listener_keys().await;
    let listener = ChatListener {
        bot: "opsbell",
        verifier: &verifier,
        records: world.store.as_ref(),
        oncall: None,
        language: opsbell_core::locale::Language::En,
        silence_max: chrono::Duration::days(30),
        access: &config.access,
    };
    let reply = say(
        &listener,
        "silence process=Failing* state=faulted for 2h \"deploying the new robot\"",
    )
    .await;
    let id = reply.split("(id ").nth(1).unwrap()[..6].to_string();
    assert!(
        reply.starts_with("Silenced state=faulted process=Failing* until ")
            && reply.ends_with(&format!("`unsilence {id}` ends it).")),
        "{reply}"
    );
    let listed = say(&listener, "silences").await;
    assert!(
        listed.contains(&format!("• {id} active until "))
            && listed.contains("(by Chuck Norris: deploying the new robot)"),
        "{listed}"
    );

    let held = job(1);
    let states = deliver(&world, &config, std::slice::from_ref(&held)).await;
    assert_eq!(
        states,
        [("withheld".to_string(), format!("silenced by {id}"))]
    );
    assert!(sent(&slack).await.is_empty());

    assert_eq!(
        say(&listener, &format!("unsilence {id}")).await,
        format!("Silence {id} ended; what it held back stays unsent.")
    );
    assert!(
        say(&listener, "silences")
            .await
            .contains(&format!("• {id} ended ")),
        "kept for `silences`"
    );
    let after = job(2);
    let states = deliver(&world, &config, &[held.clone(), after.clone()]).await;
    assert_eq!(states[0].0, "withheld", "still not sent after the silence");
    assert_eq!(states[1].0, "delivered");
    assert_eq!(
        sent(&slack).await,
        [format!("opsbell · uipath · `{}`", after.key)]
    );
}

/// Acting is for responders: a `silence` from someone who is not one (the Chat sample's user,
/// when only the ops domain responds) is refused with the reason, silences nothing, and is
/// logged with who tried; the next faulted job is delivered.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_chat_silence_from_someone_who_is_not_a_responder_is_refused_and_logged_with_who_tried() {
    let logs = captured_logs();
    let (world, config, slack) = setup().await;
    let (_keys, verifier) = listener_keys().await;
    let ops_only = json!({"access": {"responders": ["@ops.example.com"]}});
    let access = opsbell_core::access::Access::from_raw(&ops_only).unwrap();
    let listener = ChatListener {
        bot: "opsbell",
        verifier: &verifier,
        records: world.store.as_ref(),
        oncall: None,
        language: opsbell_core::locale::Language::En,
        silence_max: chrono::Duration::days(30),
        access: &access,
    };
    let reply = say(
        &listener,
        "silence process=Failing* for 30d \"quiet please\"",
    )
    .await;
    assert_eq!(
        reply,
        "Only responders may `silence`: you are not one (access.responders)."
    );
    let none = opsbell_core::silence::Silence::all(world.store.as_ref(), chrono::Utc::now());
    assert!(none.await.unwrap().is_empty(), "nothing was silenced");
    let next = job(5);
    let states = deliver(&world, &config, std::slice::from_ref(&next)).await;
    assert_eq!(states[0].0, "delivered");
    assert_eq!(sent(&slack).await.len(), 1);
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    let refused = (logged.lines())
        .find(|l| l.contains("Chat action refused") && l.contains("chuck@example.com"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{logged}"));
    assert!(
        refused.contains("users/12345678901234567890") && refused.contains("spaces/AAAAAAAAAAA"),
        "{refused}"
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_silence_from_the_cli_on_the_deployments_table_holds_back_until_expired() {
    let (world, config, slack) = setup().await;
    let cli = |action: Action| SilenceArgs {
        action,
        db: "unused.db".into(),
        table: Some(world.table.clone()),
    };
    let add = Action::Add {
        matchers: vec!["process=FailingJob".into(), "channel=ops".into()],
        length: "30m".into(),
        comment: "maintenance".into(),
        author: Some("ana".into()),
    };
    assert_eq!(
        opsbell::silence::run(&cli(add)).await.unwrap(),
        std::process::ExitCode::SUCCESS
    );
    let silences = opsbell_core::silence::Silence::all(world.store.as_ref(), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(silences.len(), 1);
    let s = &silences[0];
    assert_eq!(
        (
            s.matchers.processes.as_slice(),
            s.channels.as_slice(),
            s.created_by.as_str(),
            s.comment.as_str()
        ),
        (
            ["FailingJob".to_string()].as_slice(),
            ["ops".to_string()].as_slice(),
            "ana",
            "maintenance"
        )
    );
    assert_eq!(s.ends_at - s.starts_at, chrono::Duration::minutes(30));

    let held = job(3);
    let states = deliver(&world, &config, std::slice::from_ref(&held)).await;
    assert_eq!(
        states,
        [("withheld".to_string(), format!("silenced by {}", s.id))]
    );

    assert_eq!(
        opsbell::silence::run(&cli(Action::Expire { id: s.id.clone() }))
            .await
            .unwrap(),
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(
        opsbell::silence::run(&cli(Action::Expire { id: s.id.clone() }))
            .await
            .unwrap(),
        std::process::ExitCode::from(1),
        "already ended"
    );
    let after = job(4);
    let states = deliver(&world, &config, &[held, after.clone()]).await;
    assert_eq!(
        (states[0].0.as_str(), states[1].0.as_str()),
        ("withheld", "delivered")
    );
    assert_eq!(
        sent(&slack).await,
        [format!("opsbell · uipath · `{}`", after.key)]
    );
    assert!(opsbell::silence::run(&cli(Action::List)).await.is_ok());
}
