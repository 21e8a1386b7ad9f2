//! `opsbell` end to end: the built binary over real HTTP, a wiremock Slack as the sink.

use std::process::Command;
use std::time::Duration;

use opsbell_core::signature::sign;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

mod support {
    pub mod flood;
    pub mod serve;
}

use support::serve::{
    SAMPLES, SECRET, Serve, bin, repo, sample, signature, wait_for_requests, write_config,
};

#[tokio::test]
async fn pending_deliveries_survive_sigkill_and_are_delivered_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let slack = MockServer::start().await;
    let config = write_config(dir.path(), &slack);
    let db = dir.path().join("opsbell.db");

    // Slack is down: every accepted event stays pending.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&slack)
        .await;
    let serve = Serve::start(&config, &db).await;
    for name in SAMPLES {
        let body = sample(name);
        assert_eq!(
            serve.post(&body, Some(&signature(&body))).await.0,
            202,
            "{name}"
        );
    }
    // faulted, completed and stopped are routed to chat; wait until each was tried.
    wait_for_requests(&slack, 3, Duration::from_secs(60)).await;
    drop(serve); // SIGKILL, with deliveries pending

    slack.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let serve = Serve::start(&config, &db).await;
    let received = wait_for_requests(&slack, 3, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received_after = slack.received_requests().await.unwrap();
    assert_eq!(received.len(), 3, "each pending event delivered");
    assert_eq!(received_after.len(), 3, "and only once");
    let mut texts: Vec<String> = received_after
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "✅ Args_AddNumbers completed successfully",
            "🔴 FailingJob faulted",
            "🟠 TestJob was stopped"
        ]
    );
    assert_eq!(
        serve.health().await["outbox"],
        json!({ "pending": 0, "dead": 0 })
    );
}

#[tokio::test]
async fn bad_requests_get_webhook_ingest_answers_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let slack = MockServer::start().await;
    let config = write_config(dir.path(), &slack);
    let mut serve = Serve::start(&config, &dir.path().join("opsbell.db")).await;

    let body = sample("faulted");
    let mut tampered = body.clone();
    tampered[30] ^= 1;
    assert_eq!(serve.post(&body, None).await.0, 401);
    assert_eq!(serve.post(&tampered, Some(&signature(&body))).await.0, 401);
    assert_eq!(serve.post(&body, Some(&signature(b"other"))).await.0, 401);
    let queue = br#"{"Type":"queue.created","EventId":"1","Queues":[{"Id":1,"Name":"invoices"}],"TenantId":1}"#;
    assert_eq!(
        serve.post(queue, Some(&signature(queue))).await,
        (200, json!({ "ignored": "queue.created" }))
    );
    let (status, reply) = serve.post(b"<xml/>", Some(&signature(b"<xml/>"))).await;
    assert_eq!((status, reply["field"].as_str()), (400, Some("body")));
    let huge = vec![b' '; 1024 * 1024 + 1];
    assert_eq!(serve.post(&huge, Some(&signature(&huge))).await.0, 413);
    assert_eq!(
        serve.health().await["outbox"],
        json!({ "pending": 0, "dead": 0 })
    );

    let pid = serve.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn check_accepts_the_deploy_config_and_names_who_reads_each_secret() {
    let out = Command::new(bin())
        .args(["check", "--stage", "prod"])
        .arg(repo("deploy/config.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("3 secret reference(s)"), "{text}");
    assert!(
        text.contains("webhook.orchestrator.secret: ssm:/opsbell/${stage}/orchestrator-secret: SSM parameter, read at cold start by webhook-ingest, job-poller, alarm-fanout"),
        "{text}"
    );
    assert!(
        !text.contains("warning: no route hears"),
        "the shipped routes hear the escalation's narration: {text}"
    );
    // A reference another stage's roles cannot read, and a file that would not be packaged.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"webhook": {"orchestrator": {"secret": "secretsmanager:/opsbell/dev/orchestrator-secret"}},
            "sources": {"kamonohashi": [{"name": "kqi", "config_file": "kqi/config.json"}]}}"#,
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["check", "--stage", "prod"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("outside /opsbell/prod/"), "{text}");
    assert!(
        text.contains("kqi/config.json not found next to the configuration"),
        "{text}"
    );
}

#[test]
fn check_reports_the_environments_on_call_and_chat_settings() {
    let out = Command::new(bin())
        .arg("check")
        .arg(repo("config.json"))
        .env("ONCALL_FILES_DIR", repo("samplejson"))
        .env("CALL_REPEAT_COUNT", "three")
        .env("CHAT_PROJECT_NUMBER", "my-project")
        .env("SILENCE_MAX", "forever")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for needle in [
        "environment (on-call): 1 problem(s)",
        "CALL_REPEAT_COUNT: CALL_REPEAT_COUNT=\"three\" is not a number",
        "environment (Chat bot): 2 problem(s)",
        "CHAT_PROJECT_NUMBER: \"my-project\" is not a project number",
        "SILENCE_MAX: SILENCE_MAX=\"forever\" is not a length",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let out = Command::new(bin())
        .arg("check")
        .arg(repo("config.json"))
        .env("ONCALL_FILES_DIR", repo("samplejson"))
        .env("CHAT_PROJECT_NUMBER", "1234567890")
        .env("SILENCE_MAX", "90d")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("environment (on-call): ok — dry run"),
        "{text}"
    );
    assert!(
        text.contains(
            "environment (Chat bot \"opsbell\"): ok — silences last at most 90d (SILENCE_MAX)"
        ),
        "{text}"
    );
}

#[test]
fn check_prints_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"{"language":"xx","channels":{"a":{"type":"slack","webhook_url":"nope"}},
            "routes":[{"name":"r","channels":["missing"]}]}"#,
    )
    .unwrap();
    let out = Command::new(bin())
        .arg("check")
        .arg(&broken)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for needle in [
        "3 problem(s)",
        "language:",
        "channels.a.webhook_url:",
        "routes[0].channels[0]:",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let out = Command::new(bin())
        .arg("check")
        .arg(repo("config.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn send_dry_run_prints_what_each_target_gets_and_sign_matches() {
    let out = Command::new(bin())
        .args(["send", "--dry-run", "--config"])
        .arg(repo("samplejson/predecessor-config.json"))
        .arg(repo("samplejson/uipath-webhook-job-faulted.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for needle in [
        "→ slack (slack)",
        "→ google_chat (google_chat)",
        "→ chatwork (chatwork)",
        "→ backlog (backlog)",
        "\"cardsV2\"",
        "FailingJob が失敗しました",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(
        !text.contains("predecessorSlackHook") && !text.contains("predecessor-backlog-api-key"),
        "{text}"
    );

    let out = Command::new(bin())
        .args(["send", "--dry-run", "--config"])
        .arg(repo("samplejson/predecessor-config.json"))
        .arg(repo(
            "samplejson/sns-cloudwatch-alarm-single-metric-lambda-event.json",
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("EXAMPLE がアラーム状態です"),
        "{text}"
    );

    let file = repo("samplejson/uipath-webhook-job-faulted.json");
    let out = Command::new(bin())
        .args(["sign", "--secret", SECRET])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        signature(&std::fs::read(&file).unwrap())
    );

    // --signature checks the body as webhook-ingest would; --repeat reports a rate.
    let send = |sig: &str| {
        Command::new(bin())
            .args([
                "send",
                "--dry-run",
                "--repeat",
                "3",
                "--signature",
                sig,
                "--config",
            ])
            .arg(repo("samplejson/predecessor-config.json"))
            .arg(&file)
            .output()
            .unwrap()
    };
    let good = sign(
        &secrecy::SecretString::from("predecessor-orchestrator-secret"),
        &std::fs::read(&file).unwrap(),
    );
    let out = send(&good);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("3 rounds in"),
        "{text}"
    );
    let out = send(&signature(b"another body"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_tells_rotation_and_mapping_files_apart_and_oncall_shows_the_calendar() {
    let check = |name: &str| {
        Command::new(bin())
            .arg("check")
            .arg(repo(&format!("samplejson/{name}")))
            .output()
            .unwrap()
    };
    let out = check("lambda-connect-mapping.json");
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok (mapping)"));
    let out = check("lambda-connect-rotation-new-format.json");
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok (rotation)"));
    let out = check("lambda-connect-rotation-old-format.json");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "placeholder numbers are errors: {text}"
    );
    assert!(
        text.contains("group1: \"+81xxxxxxxxxx\" is not an E.164 number"),
        "{text}"
    );

    let out = Command::new(bin())
        .args([
            "oncall",
            "--rotation",
            "lambda-connect-rotation-old-format.json",
            "--files",
        ])
        .arg(repo("samplejson"))
        .args(["calendar", "--weeks", "5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.lines().count(), 35);
    assert!(text.contains("group1") && text.contains("group2"), "{text}");

    let out = Command::new(bin())
        .args([
            "oncall",
            "--mapping",
            "lambda-connect-mapping.json",
            "--topic",
            "arn:aws:sns:us-east-1:1:b-topic",
            "--files",
        ])
        .arg(repo("samplejson"))
        .args(["plan", "--at", "2026-11-15T10:00:00+09:00", "--repeat", "1"])
        .output()
        .unwrap();
    // The mapping names b-phoneNumber.json, which the samples do not ship.
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("b-phoneNumber.json"));
}

#[tokio::test]
async fn an_oncall_channel_runs_a_dry_run_escalation_in_serve() {
    let dir = tempfile::tempdir().unwrap();
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let config = dir.path().join("config.json");
    let text = json!({
        "webhook": { "orchestrator": { "secret": SECRET } },
        "channels": {
            "pager": { "type": "oncall" },
            "ops-slack": { "type": "slack", "webhook_url": format!("{}/hook", slack.uri()) }
        },
        "routes": [
            { "name": "wake-someone", "channels": ["pager"], "states": ["faulted"] },
            { "name": "tell-chat", "channels": ["ops-slack"], "sources": ["oncall"] }
        ]
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let env = [
        ("ONCALL_FILES_DIR", repo("samplejson").display().to_string()),
        (
            "PHONE_NUMBER_JSON_FILE",
            "lambda-connect-rotation-new-format.json".to_string(),
        ),
        ("CALL_REPEAT_COUNT", "1".to_string()),
        ("CALL_STATE_CHECK_INTERVAL_SECONDS", "0".to_string()),
    ];
    let serve = Serve::start_with(&config, &dir.path().join("o.db"), &env).await;
    let body = sample("faulted");
    assert_eq!(serve.post(&body, Some(&signature(&body))).await.0, 202);
    // The dry run narrates as a real escalation does: the plan, who is called, each step, the end.
    let until = std::time::Instant::now() + Duration::from_secs(120);
    let cards = loop {
        let received = slack.received_requests().await.unwrap();
        let cards: Vec<String> = received
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).to_string())
            .collect();
        // Every card, not just the last: posts are paced, not ordered, so "Nobody answered"
        // can arrive before a step's "No answer from …".
        let done = cards.iter().any(|c| c.contains("Nobody answered"))
            && cards.iter().any(|c| c.contains("No answer from …"));
        if done || std::time::Instant::now() > until {
            break cards;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let count = |what: &str| cards.iter().filter(|c| c.contains(what)).count();
    assert_eq!(count("Dry run: would call +"), 1, "{cards:?}");
    assert_eq!(count("Calling "), 1, "{cards:?}");
    assert_eq!(count("— reply `ack "), 1, "{cards:?}");
    assert_eq!(count("Nobody answered"), 1, "{cards:?}");
    assert!(count("No answer from …") >= 1, "{cards:?}");
    assert_eq!(
        cards.len(),
        3 + count("No answer from …"),
        "nothing else: {cards:?}"
    );
    assert!(cards.iter().all(|c| c.contains("FailingJob")), "{cards:?}");
}

/// Each predecessor's own files and environment: `opsbell check` says what every setting became
/// and exits 0, naming what does not carry over as a warning.
#[test]
fn check_prints_what_each_predecessors_files_and_environment_became() {
    let out = Command::new(bin())
        .arg("check")
        .arg(repo("samplejson/predecessor-config.json"))
        .arg(repo("samplejson/kamonohashi-slackbot-config.json"))
        .arg(repo("samplejson/kamonohashi-slackbot-secure.json"))
        .arg(repo("samplejson/lambda-connect-mapping.json"))
        .arg(repo("samplejson/lambda-connect-rotation-new-format.json"))
        .env("PHONE_NUMBER_BUCKET", "rotations")
        .env("MAPPING_JSON_FILE", "mapping.json")
        .env("CONNECT_INSTANCE_ID", "inst-1")
        .env("CONNECT_CONTACT_FLOW_ID", "flow-1")
        .env("CONNECT_SOURCE_PHONE_NUMBER", "+815000000000")
        .env("CONNECT_EXTRA_DESTINATION_PHONE_NUMBER", "+815099999999")
        .env("CONNECT_ALARM_MSG", "XXシステムで障害が発生しました。")
        .env_remove("timezone")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for needle in [
        "time zone: Asia/Tokyo (the default: the file sets no \"timezone\")",
        "channel slack (slack): faulted, not_started, successful, stopped, alarm, ok",
        "source orchestrator (Orchestrator, password login as admin)",
        "poll orchestrator every 10 min for slack, google_chat, chatwork, backlog; job-poller event: schedule {rate: rate(10 minutes), input: {\"destinations\":[\"slack\",\"google_chat\",\"chatwork\",\"backlog\"],\"sources\":[\"orchestrator\"]}}",
        "watch Saturday: not watched",
        "tenant 1: mentions <@U0123ABCD>",
        "warning: tenant 2: \"yamada\" is not a Slack member id",
        "SlackURI: a Slack channel <source>-slack that hears this source",
        "lambda-connect-mapping.json: ok (mapping)",
        "mapping mode: mapping.json picks each SNS topic's rotation and message",
        "spoken: \"XXシステムで障害が発生しました。\"",
        "extra number +815099999999: called when no group covers the day, and last",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

/// 500 faulted jobs posted at once into `opsbell serve`, Slack taking one message a second: the
/// first five are posted, the rest held for one digest per window, posts paced so Slack never
/// has to refuse, and every job is posted or counted exactly once.
#[tokio::test]
async fn a_flood_of_500_faults_is_paced_digested_and_counted_in_serve() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let slack: &'static support::flood::OnePerSecond = Box::leak(Box::default());
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(slack)
        .mount(&server)
        .await;
    let config = dir.path().join("config.json");
    let text = json!({
        "webhook": { "orchestrator": { "secret": SECRET } },
        "channels": { "ops-slack": { "type": "slack", "webhook_url": format!("{}/hook", server.uri()),
            "flood": {"window": "5s"} } }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let serve = Serve::start(&config, &dir.path().join("f.db")).await;
    let faulted = sample("faulted");
    let mut posts = tokio::task::JoinSet::new();
    for n in 0..500 {
        let body = support::flood::faulted_job(&faulted, n);
        let (http, url) = (
            serve.http.clone(),
            format!("{}/webhook/orchestrator", serve.base),
        );
        posts.spawn(async move {
            let sig = signature(&body);
            let sent = http
                .post(url)
                .header("X-UiPath-Signature", sig)
                .body(body)
                .send();
            sent.await.unwrap().status().as_u16()
        });
    }
    while let Some(status) = posts.join_next().await {
        assert_eq!(status.unwrap(), 202);
    }
    // Bounded only against a hang: a loaded machine may take long.
    let until = std::time::Instant::now() + Duration::from_secs(300);
    while slack.jobs() < 500 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(slack.jobs(), 500, "every job posted or counted, once");
    assert_eq!(
        slack.throttled.load(Ordering::SeqCst),
        0,
        "paced: Slack never refused"
    );
    assert!(slack.digests() >= 1);
    assert!(
        slack.messages() <= 6 * slack.digests() + 5,
        "{} messages for {} digests",
        slack.messages(),
        slack.digests()
    );
    assert_eq!(
        serve.health().await["outbox"],
        json!({"dead": 0, "pending": 0})
    );
}

/// `opsbell silence add|list|expire` against `opsbell serve`'s database file.
#[test]
fn silences_are_added_listed_and_expired_on_the_local_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("silence")
            .args(args)
            .arg("--db")
            .arg(&db)
            .env("USER", "ana")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let (code, added) = run(&[
        "add",
        "process=Invoice*",
        "folder=12",
        "--for",
        "2h",
        "--comment",
        "deploying",
    ]);
    assert_eq!(code, Some(0), "{added}");
    assert!(
        added.starts_with("silenced ")
            && added.contains(" active until ")
            && added.contains(": process=Invoice* folder=12 (by ana: deploying)"),
        "{added}"
    );
    let id = added.split_whitespace().nth(1).unwrap().to_string();
    let (code, listed) = run(&["list"]);
    assert_eq!(code, Some(0));
    assert!(
        listed.starts_with(&format!("{id} active until ")),
        "{listed}"
    );
    let (code, expired) = run(&["expire", &id]);
    assert_eq!(code, Some(0), "{expired}");
    assert!(
        expired.starts_with(&format!("expired {id} ended ")),
        "{expired}"
    );
    assert_eq!(run(&["expire", &id]).0, Some(1), "already ended");
    assert!(
        run(&["list"]).1.starts_with(&format!("{id} ended ")),
        "kept for 7 days"
    );
    let (code, refused) = run(&["add", "colour=red", "--for", "2h"]);
    assert_eq!(code, Some(2));
    assert!(refused.contains("unknown matcher \"colour\""), "{refused}");
}

#[tokio::test]
async fn a_dead_event_makes_healthz_degraded_until_opsbell_dead_redrives_it() {
    let dir = tempfile::tempdir().unwrap();
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let config = write_config(dir.path(), &slack);
    let db = dir.path().join("opsbell.db");
    // An event serve gave up on, as after its last attempt.
    {
        use opsbell_core::event::{Event, Source, State};
        use opsbell_core::ports::Queue;
        let local = opsbell_local::Db::open(&db).unwrap();
        let outbox = opsbell_local::SqliteOutbox::new(&local).unwrap();
        let now = chrono::Utc::now();
        let event = Event::new(Source::Uipath, "", "k-1", State::Faulted, "FailingJob", now);
        outbox.enqueue(&[event]).await.unwrap();
        let due = outbox
            .due(now + chrono::Duration::seconds(1), 1)
            .await
            .unwrap();
        outbox
            .bury(due[0].id, "HTTP 404: no_service".into())
            .await
            .unwrap();
        outbox.close();
    }
    let serve = Serve::start(&config, &db).await;
    let health = serve.health().await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["outbox"]["dead"], 1);

    let cli = |args: &[&str]| {
        let out = Command::new(bin())
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = cli(&["dead", "list"]);
    assert!(
        listed.contains("uipath::k-1:faulted") && listed.contains("HTTP 404: no_service"),
        "{listed}"
    );
    assert_eq!(
        cli(&["dead", "redrive", "--all"]).trim(),
        "redriven: 1 event(s)"
    );
    wait_for_requests(&slack, 1, Duration::from_secs(30)).await;
    // Posted is not yet done: the outbox row is completed after the delivery is recorded.
    let done = json!({ "status": "ok", "outbox": { "pending": 0, "dead": 0 } });
    for _ in 0..50 {
        if serve.health().await == done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(serve.health().await, done);
    assert_eq!(cli(&["dead", "list"]).trim(), "no dead events");
}

#[test]
fn oncall_takes_lambda_connects_environment_as_its_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rotation.json"),
        r#"[{"start_day": 1, "end_day": 9, "phone_number": ["+815011111111"]},
            {"start_day": 10, "end_day": 19, "phone_number": ["+815022222222"]}]"#,
    )
    .unwrap();
    let oncall = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("oncall")
            .args(args)
            .env("ONCALL_FILES_DIR", dir.path())
            .env("PHONE_NUMBER_JSON_FILE", "rotation.json")
            .env("CALL_REPEAT_COUNT", "2")
            .env("CALL_REPEAT_GROUP", "True")
            .env("CONNECT_EXTRA_DESTINATION_PHONE_NUMBER", "+815099999999")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
    };
    let (plan, warnings) = oncall(&["plan", "--at", "2026-11-15T10:00:00+09:00"]);
    assert_eq!(
        plan.lines().map(str::trim).collect::<Vec<_>>(),
        [
            "1. +815022222222 (#2, round 1)",
            "2. +815022222222 (#2, round 2)",
            "3. +815099999999 (fallback, fallback)"
        ],
        "the group twice (CALL_REPEAT_GROUP, CALL_REPEAT_COUNT), then the extra number"
    );
    assert!(
        warnings.contains(
            "days 20-31 are covered by no group (the extra number +815099999999 is called)"
        ),
        "{warnings}"
    );
    let (who, _) = oncall(&["who", "--at", "2026-11-25T10:00:00+09:00"]);
    assert!(
        who.contains("day 25: no group covers it; the extra number +815099999999 is called"),
        "{who}"
    );
}

/// Teams and the standard signed webhook in `opsbell serve`: every job end reaches both once,
/// exactly as rendered; the cards pass the Adaptive Card schema and the signatures the
/// Standard Webhooks reference library; `send --dry-run` and `check` know both kinds and show
/// neither secret.
#[tokio::test]
#[ignore = "needs the vendors' references: run scripts/test.sh"]
async fn teams_and_a_signed_webhook_hear_every_job_end_in_serve() {
    use opsbell_core::testing::references;
    const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let dir = tempfile::tempdir().unwrap();
    let (teams, hook) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&teams)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let config = dir.path().join("config.json");
    let text = json!({
        "webhook": { "orchestrator": { "secret": SECRET } },
        "channels": {
            "ops-teams": { "type": "teams", "webhook_url": format!("{}/workflows/1?sig=teams-secret-sig", teams.uri()) },
            "ops-hook": { "type": "webhook", "url": format!("{}/hooks", hook.uri()), "secret": HOOK_SECRET }
        }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let loaded = opsbell_core::config::Config::load(&text.to_string(), &[]).unwrap();
    let serve = Serve::start(&config, &dir.path().join("t.db")).await;
    let mut heard = Vec::new();
    for name in SAMPLES {
        let body = sample(name);
        let (status, _) = serve.post(&body, Some(&signature(&body))).await;
        assert_eq!(status, 202);
        let ctx = opsbell_core::source::uipath::UipathContext::default();
        let Ok(opsbell_core::source::Inbound::Events(events)) =
            opsbell_core::source::uipath::parse_webhook(&body, &ctx)
        else {
            panic!("{name}")
        };
        heard.extend(events.into_iter().filter(|e| {
            use opsbell_core::event::State::*;
            matches!(e.state, Faulted | Successful | Stopped)
        }));
    }
    let cards = wait_for_requests(&teams, 3, Duration::from_secs(30)).await;
    let hooks = wait_for_requests(&hook, 3, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sorted = |mut v: Vec<Value>| {
        v.sort_by_key(|v| v.to_string());
        v
    };
    let body = |r: &wiremock::Request| serde_json::from_slice::<Value>(&r.body).unwrap();
    let opts = loaded.render_options();
    let cards = sorted(cards.iter().map(body).collect());
    let expected = sorted(
        heard
            .iter()
            .map(|e| opsbell_core::render::teams::render(e, opts))
            .collect(),
    );
    assert_eq!(cards, expected, "Teams");
    let events: Vec<Value> = sorted(hooks.iter().map(|r| body(r)["data"].clone()).collect());
    let expected = sorted(
        heard
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect(),
    );
    let keys = |v: &[Value]| v.iter().map(|e| e["key"].clone()).collect::<Vec<_>>();
    assert_eq!(keys(&events), keys(&expected), "the signed webhook");
    assert_eq!(teams.received_requests().await.unwrap().len(), 3);
    assert_eq!(hook.received_requests().await.unwrap().len(), 3);
    references::vendor_check("teams", &cards);
    let requests: Vec<references::Received> = (hooks.iter())
        .map(|r| references::received(&r.headers, &r.body))
        .collect();
    references::verify_standard_webhooks(HOOK_SECRET, &requests);

    for args in [vec!["check"], vec!["send", "--dry-run", "--config"]] {
        let mut command = Command::new(bin());
        command.args(&args);
        if args[0] == "check" {
            command.arg(&config);
        } else {
            command
                .arg(&config)
                .arg(repo("samplejson/uipath-webhook-job-faulted.json"));
        }
        let out = command.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {text}");
        assert!(
            text.contains("ops-teams") && text.contains("ops-hook"),
            "{text}"
        );
        assert!(
            !text.contains("teams-secret-sig")
                && !text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "{text}"
        );
        if args[0] == "send" {
            assert!(
                text.contains("AdaptiveCard") && text.contains("opsbell.event.v1"),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn a_heartbeat_that_stops_goes_late_then_down_and_recovers_on_the_next_ping_in_serve() {
    const KEY: &str = "0b8f6a4e-2c1d-4e7f-9a3b-5c6d7e8f9a0b";
    let dir = tempfile::tempdir().unwrap();
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let config = dir.path().join("config.json");
    let text = json!({
        "webhook": { "orchestrator": { "secret": SECRET } },
        "channels": { "ops-hook": { "type": "webhook", "url": format!("{}/hooks", hook.uri()), "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } },
        "heartbeats": [{ "name": "nightly-batch", "key": KEY, "period": "2s", "grace": "2s" }]
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let db = dir.path().join("t.db");
    let serve = Serve::start(&config, &db).await;
    let ping = |path: String, body: &'static str| {
        let http = serve.http.clone();
        let url = format!("{}/ping/{path}", serve.base);
        async move {
            let r = http.post(url).body(body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(ping("no-such-check-key-0000".into(), "").await.0, 404);
    assert_eq!(ping(format!("{KEY}/explode"), "").await.0, 400);
    // The first ping (a GET, as `curl -fsS` in a crontab sends) makes it up; then it stops.
    let first = serve
        .http
        .get(format!("{}/ping/{KEY}", serve.base))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let heard = wait_for_requests(&hook, 2, Duration::from_secs(30)).await;
    let states = |requests: &[wiremock::Request]| -> Vec<String> {
        (requests.iter())
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .map(|b| {
                format!(
                    "{} {}",
                    b["data"]["source"].as_str().unwrap(),
                    b["data"]["state"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(states(&heard), ["heartbeat late", "heartbeat down"]);
    // Down stays down, said once, until the next ping, whose body (a log tail) comes along.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(hook.received_requests().await.unwrap().len(), 2);
    let (status, body) = ping(KEY.into(), "exported 1,204 rows").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("up")));
    let heard = wait_for_requests(&hook, 3, Duration::from_secs(30)).await;
    assert_eq!(states(&heard)[2], "heartbeat up");
    let up: Value = serde_json::from_slice(&heard[2].body).unwrap();
    assert_eq!(up["data"]["info"], "exported 1,204 rows");
    let log = std::fs::read_to_string(db.with_extension("serve.log")).unwrap();
    assert!(!log.contains(KEY), "the key is a secret:\n{log}");
}

/// The hung-job watch in serve: the same poll as the job-poller's, on the local database. A job
/// Running past its process's `max_running` is told once, as `hung`.
#[tokio::test]
async fn a_job_running_past_its_limit_is_told_once_as_hung_in_serve() {
    let dir = tempfile::tempdir().unwrap();
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let orchestrator = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"result": "t", "success": true})),
        )
        .mount(&orchestrator)
        .await;
    let jobs = std::fs::read(repo("samplejson/uipath-odata-jobs.json")).unwrap();
    let jobs: Value = serde_json::from_slice(&jobs).unwrap();
    let mut running = jobs["value"][0].clone();
    running["State"] = json!("Running");
    running["EndTime"] = Value::Null;
    running["StartTime"] = json!((chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339());
    running["Release"] = json!({"ProcessKey": "InvoiceBot"});
    Mock::given(method("GET"))
        .and(wiremock::matchers::query_param_contains(
            "$filter",
            "State eq 'Running'",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"@odata.count": 1, "value": [running]})),
        )
        .mount(&orchestrator)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"@odata.count": 0, "value": []})),
        )
        .mount(&orchestrator)
        .await;
    let config = dir.path().join("config.json");
    let text = json!({
        "webhook": { "orchestrator": { "secret": SECRET } },
        "sources": { "orchestrator": [{ "name": "prod", "url": orchestrator.uri(), "folders": [1], "interval_seconds": 2,
            "auth": { "type": "password", "tenancy_name": "default", "username": "poller", "password": "orchestrator-secret-password" },
            "hung": { "max_running": { "InvoiceBot": "2h" } } }] },
        "channels": { "ops-hook": { "type": "webhook", "url": format!("{}/hooks", hook.uri()), "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let db = dir.path().join("t.db");
    let _serve = Serve::start(&config, &db).await;
    let heard = wait_for_requests(&hook, 1, Duration::from_secs(30)).await;
    assert_eq!(heard.len(), 1, "told once");
    let body: Value = serde_json::from_slice(&heard[0].body).unwrap();
    assert_eq!(
        (
            body["data"]["state"].as_str(),
            body["data"]["process"].as_str()
        ),
        (Some("hung"), Some("InvoiceBot"))
    );
    // Further cycles say nothing more of it.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(hook.received_requests().await.unwrap().len(), 1);
    let log = std::fs::read_to_string(db.with_extension("serve.log")).unwrap();
    assert!(!log.contains("orchestrator-secret-password"), "{log}");
}

/// The console's session cookie and the CSRF token of its forms, from a first page.
async fn console_session(serve: &Serve) -> (String, String) {
    let first = serve
        .http
        .get(format!("{}/", serve.base))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let cookie = first.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = serve
        .http
        .get(format!("{}/silences", serve.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap();
    (cookie, csrf.split('"').next().unwrap().to_string())
}

async fn console_page(serve: &Serve, path: &str) -> String {
    let response = serve
        .http
        .get(format!("{}{path}", serve.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_console_shows_a_fault_and_a_silence_saved_there_withholds_the_next_one_in_serve() {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &slack);
    let serve = Serve::start(&config, &dir.path().join("opsbell.db")).await;
    let body = sample("faulted");
    assert_eq!(serve.post(&body, Some(&signature(&body))).await.0, 202);
    assert_eq!(
        wait_for_requests(&slack, 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );
    let mut now = String::new();
    for _ in 0..50 {
        now = console_page(&serve, "/").await;
        if now.contains("FailingJob") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        now.contains("FailingJob") && now.contains("ops-slack: delivered"),
        "{now}"
    );

    let (cookie, csrf) = console_session(&serve).await;
    let post = |path: &str, form: Vec<(&str, &str)>| {
        serve
            .http
            .post(format!("{}{path}", serve.base))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };
    let text = "process=FailingJob for 1h deploying";
    let preview = post(
        "/silences",
        vec![("csrf", &csrf), ("text", text), ("preview", "1")],
    );
    let preview = preview.await.unwrap().text().await.unwrap();
    let held = preview
        .split("Recent events it would have held")
        .nth(1)
        .unwrap();
    assert!(
        held.contains("FailingJob</a>"),
        "the preview lists the fault: {preview}"
    );
    let forged = post("/silences", vec![("text", text), ("save", "1")])
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "a POST without the CSRF token");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let saved = no_redirects
        .post(format!("{}/silences", serve.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("text", text), ("save", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let user = std::env::var("USER").unwrap_or_else(|_| "local".into());
    let listed = console_page(&serve, "/silences").await;
    assert!(
        listed.contains(&format!("{user}@localhost: deploying")),
        "{listed}"
    );

    // The next fault of the process is withheld, and History says so.
    let next = String::from_utf8(body)
        .unwrap()
        .replace("9cc6c2e4", "1111c2e4");
    let next = next.into_bytes();
    assert_eq!(serve.post(&next, Some(&signature(&next))).await.0, 202);
    let mut history = String::new();
    for _ in 0..50 {
        history = console_page(&serve, "/history?fate=withheld").await;
        if history.contains("FailingJob") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(history.contains("ops-slack: withheld"), "{history}");
    assert_eq!(
        slack.received_requests().await.unwrap().len(),
        1,
        "nothing more posted"
    );
}

#[test]
fn serve_on_an_address_other_than_loopback_refuses_to_start_with_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["serve", "--listen", "0.0.0.0:0", "--db"])
        .arg(dir.path().join("opsbell.db"))
        .arg("--config")
        .arg(repo("config.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("lets nobody in by accident") && said.contains("--no-console"),
        "{said}"
    );
}
