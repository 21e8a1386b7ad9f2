use super::*;
use crate::event::Via;
use secrecy::ExposeSecret;

fn file(name: &str) -> String {
    let path = format!("{}/../../{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::load(text, &[])
}

#[test]
fn predecessor_config_loads_unchanged() {
    let config = load(&file("samplejson/predecessor-config.json")).unwrap();
    assert_eq!(config.language, Language::Ja);
    assert_eq!(config.orchestrator.secrets.len(), 1);
    let kinds: Vec<_> = config
        .channels
        .iter()
        .map(|(n, c)| (n.as_str(), c.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("backlog", "backlog"),
            ("chatwork", "chatwork"),
            ("google_chat", "google_chat"),
            ("slack", "slack")
        ]
    );
    let Channel::Backlog(backlog) = &config.channels["backlog"] else {
        panic!()
    };
    assert_eq!(backlog.base().unwrap(), "https://example.backlog.jp");
    assert_eq!(backlog.priority_id, "3");
    let backlog_route = config
        .routes
        .iter()
        .find(|r| r.channels == ["backlog"])
        .unwrap();
    // Alarms open Backlog issues only when a route says so.
    assert_eq!(
        backlog_route.matchers.states,
        [
            State::Faulted,
            State::NotStarted,
            State::Stopped,
            State::Down,
            State::Hung
        ]
    );
    let [poll] = &config.orchestrators[..] else {
        panic!("{:?}", config.orchestrators)
    };
    assert_eq!(poll.url, "https://orchestrator.example.com");
    assert_eq!(poll.interval, std::time::Duration::from_secs(600));
    assert!(
        matches!(&poll.auth, OrchestratorAuth::Password { tenancy_name, .. } if tenancy_name == "default")
    );
}

#[test]
fn committed_example_config_is_valid() {
    load(&file("config.json")).unwrap();
}

#[test]
fn unknown_channel_in_route_names_both() {
    let err = load(
        r#"{"channels":{"ops":{"type":"console"}},
        "routes":[{"name":"faults","channels":["ops","teams"],"states":["faulted"]}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    let p = &err.problems[0];
    assert_eq!(p.path, "routes[0].channels[1]");
    assert!(
        p.message.contains("\"faults\"") && p.message.contains("\"teams\""),
        "{p}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = load(
        r#"{"language":"fr","timezone":"Mars/Olympus",
        "channels":{"a":{"type":"slack","webhook_url":"ftp://x"},"b":{"type":"pager"},
                    "c":{"type":"chatwork","api_token":"","room_id":1}},
        "routes":[{"channels":[],"states":["exploded"]}]}"#,
    )
    .unwrap_err();
    let paths: Vec<_> = err.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "language",
            "timezone",
            "channels.a.webhook_url",
            "channels.b.type",
            "channels.c.api_token",
            "routes[0].states[0]"
        ],
        "{err}"
    );
}

#[test]
fn secrets_never_appear_in_problems_or_debug() {
    let text = r#"{"channels":{"s":{"type":"slack","webhook_url":"hooks.slack.com/SECRET-PATH"}},
        "webhook":{"orchestrator":{"secret":"TOPSECRET"}}}"#;
    let err = load(text).unwrap_err();
    assert!(!err.to_string().contains("SECRET-PATH"), "{err}");
    let config = load(
        r#"{"webhook":{"orchestrator":{"secret":"TOPSECRET"},
        "slack":{"incomming_webhook_url":"https://hooks.slack.com/SECRET-PATH"}}}"#,
    )
    .unwrap();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("TOPSECRET") && !debug.contains("SECRET-PATH"),
        "{debug}"
    );
}

#[test]
fn environment_overrides_any_value() {
    let env = vec![
        ("OPSBELL__LANGUAGE".to_string(), "ja".to_string()),
        (
            "OPSBELL__CHANNELS__OPS_CHAT__WEBHOOK_URL".to_string(),
            "https://example.test/hook".to_string(),
        ),
        (
            "OPSBELL__WEBHOOK__CHATWORK__ROOM_ID".to_string(),
            "42".to_string(),
        ),
        (
            "OPSBELL__WEBHOOK__CHATWORK__API_TOKEN".to_string(),
            "12345".to_string(),
        ),
        ("orchestrator_secret".to_string(), "from-env".to_string()),
    ];
    let text = r#"{"channels":{"ops-chat":{"type":"slack","webhook_url":"https://old.test"}}}"#;
    let config = Config::load(text, &env).unwrap();
    assert_eq!(config.language, Language::Ja);
    assert_eq!(config.orchestrator.secrets.len(), 1);
    let Channel::Chatwork(chatwork) = &config.channels["chatwork"] else {
        panic!()
    };
    assert_eq!(chatwork.room_id, "42");
    let Channel::Slack(slack) = &config.channels["ops-chat"] else {
        panic!()
    };
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&slack.webhook_url),
        "https://example.test/hook"
    );
}

#[test]
fn a_teams_section_in_the_predecessors_layout_is_a_teams_channel() {
    let config = load(
        r#"{"webhook":{"teams":{"incomming_webhook_url":"https://prod.logic.azure.com/workflows/1?sig=x",
        "available_state":"Faulted"}}}"#,
    )
    .unwrap();
    assert_eq!(config.channels["teams"].kind(), "teams");
    assert_eq!(config.routes[0].matchers.states, [State::Faulted]);
}

#[test]
fn available_state_limits_a_legacy_channel() {
    let config = load(
        r#"{"webhook":{"slack":{"incomming_webhook_url":"https://h.test/x",
        "available_state":"Faulted, Stopped"}}}"#,
    )
    .unwrap();
    assert_eq!(
        config.routes[0].matchers.states,
        [State::Faulted, State::Stopped]
    );
}

#[test]
fn the_predecessors_schedule_is_upgraded_into_a_source_and_checked_like_one() {
    let scheduled = serde_json::json!({
        "orchestrator": {"url": "https://orch.example.com/", "tenancy_name": "Default",
                         "username": "admin", "password": "pw", "api_key": "k-1",
                         "ntlm_authentication": "False"},
        "slack": {"incomming_webhook_url": "https://hooks.slack.test/s", "interval": 10,
                  "schedule": "rate(10 minutes)"},
        "chatwork": {"api_token": "t", "room_id": 42, "interval": 30, "schedule": ""},
        "backlog": {"api_key": "", "space_key": "", "project_id": "", "issue_type_id": "",
                    "priority_id": "", "interval": 0, "schedule": ""},
        "jira": {"url": "", "username": "", "password": "", "interval": 0, "schedule": ""}
    });
    let config = load(&serde_json::json!({ "scheduled": scheduled }).to_string()).unwrap();
    let [o] = &config.orchestrators[..] else {
        panic!()
    };
    assert_eq!(
        (o.name.as_str(), o.url.as_str()),
        ("orchestrator", "https://orch.example.com")
    );
    assert_eq!(
        o.api_key.as_ref().map(|k| k.expose_secret().to_string()),
        Some("k-1".into())
    );
    // A scheduled-only file: each filled target is a channel hearing the poll, on its own
    // schedule; the empty template sections (backlog, jira) are nothing.
    let names: Vec<&str> = config.channels.keys().map(String::as_str).collect();
    assert_eq!(names, ["chatwork", "slack"]);
    let every = |m: u64| std::time::Duration::from_secs(m * 60);
    let schedules: Vec<(Vec<String>, _, &str)> = o
        .schedules
        .iter()
        .map(|s| (s.channels.clone(), s.every, s.expression.as_str()))
        .collect();
    assert_eq!(
        schedules,
        [
            (vec!["slack".to_string()], every(10), "rate(10 minutes)"),
            (vec!["chatwork".to_string()], every(30), "rate(30 minutes)"),
        ]
    );
    assert_eq!(o.interval, every(10));
    assert_eq!(o.initial_lookback, every(60));
    for route in &config.routes {
        assert_eq!(route.matchers.via, [Via::Poll], "{route:?}");
    }
    // Two sources of one name would share their watermarks.
    let both = serde_json::json!({ "scheduled": scheduled, "sources": { "orchestrator": [{
        "name": "orchestrator", "url": "https://other.example.com",
        "auth": {"type": "ntlm", "username": "CORP\\u", "password": "p"}
    }]}});
    let err = load(&both.to_string()).unwrap_err();
    assert_eq!(err.problems[0].path, "scheduled.orchestrator.name", "{err}");
    // Windows authentication names its domain, in either form.
    let mut bare = scheduled.clone();
    bare["orchestrator"]["ntlm_authentication"] = "True".into();
    let err = load(&serde_json::json!({ "scheduled": bare }).to_string()).unwrap_err();
    assert_eq!(
        err.problems[0].path, "scheduled.orchestrator.username",
        "{err}"
    );
    for name in ["CORP\\admin", "admin@corp.example.com"] {
        bare["orchestrator"]["username"] = name.into();
        load(&serde_json::json!({ "scheduled": bare }).to_string()).unwrap();
    }
}

#[test]
fn a_webhook_and_a_scheduled_target_naming_one_destination_are_one_channel() {
    let orchestrator = serde_json::json!({"url": "https://orch.example.com", "tenancy_name": "D",
        "username": "u", "password": "p"});
    let config = load(
        &serde_json::json!({
            "webhook": {
                "slack": {"incomming_webhook_url": "https://hooks.slack.test/same"},
                "chatwork": {"api_token": "t", "room_id": "1"}
            },
            "scheduled": {
                "orchestrator": orchestrator,
                "slack": {"incomming_webhook_url": "https://hooks.slack.test/same", "interval": 5},
                "chatwork": {"api_token": "t", "room_id": "2", "interval": 15,
                             "available_state": "Faulted"}
            }
        })
        .to_string(),
    )
    .unwrap();
    let names: Vec<&str> = config.channels.keys().map(String::as_str).collect();
    assert_eq!(names, ["chatwork", "chatwork_scheduled", "slack"]);
    let routes: Vec<(&str, &[Via], &[State])> = config
        .routes
        .iter()
        .map(|r| {
            (
                r.channels[0].as_str(),
                &r.matchers.via[..],
                &r.matchers.states[..],
            )
        })
        .collect();
    let chat = &config.channels["slack"].default_states();
    assert_eq!(
        routes,
        [
            ("slack", &[Via::Webhook][..], &chat[..]),
            ("chatwork", &[Via::Webhook][..], &chat[..]),
            ("slack", &[Via::Poll][..], &chat[..]),
            (
                "chatwork_scheduled",
                &[Via::Poll][..],
                &[State::Faulted][..]
            ),
        ]
    );
    let mut event = crate::event::Event::new(
        crate::event::Source::Uipath,
        "",
        "k",
        State::Faulted,
        "P",
        chrono::DateTime::UNIX_EPOCH,
    );
    event.via = Some(Via::Poll);
    assert_eq!(
        crate::route::targets(&config.routes, &event),
        ["slack", "chatwork_scheduled"]
    );
    event.via = Some(Via::Webhook);
    assert_eq!(
        crate::route::targets(&config.routes, &event),
        ["slack", "chatwork"]
    );
}

#[test]
fn a_target_opsbell_cannot_deliver_to_is_named_not_dropped() {
    let err = load(r#"{"scheduled":{"jira":{"url":"https://jira.example.com","interval":5}}}"#)
        .unwrap_err();
    assert_eq!(err.problems[0].path, "scheduled.jira", "{err}");
    let err = load(r#"{"scheduled":{"slack":{"incomming_webhook_url":"https://h.test/x"}}}"#)
        .unwrap_err();
    assert_eq!(err.problems[0].path, "scheduled.orchestrator", "{err}");
}

#[test]
fn validation_reads_no_file_the_loader_did() {
    let named = |n: &str| format!("/nowhere/{n}");
    let value = serde_json::json!({ "sources": { "kamonohashi": [{
        "name": "kqi", "config_file": named("config.json"), "secure_file": named("secure.json")
    }]}});
    let mut files = super::deploy::NamedFiles::new();
    for (n, sample) in [
        ("config.json", "kamonohashi-slackbot-config.json"),
        ("secure.json", "kamonohashi-slackbot-secure.json"),
    ] {
        files.insert(named(n), Ok(file(&format!("samplejson/{sample}"))));
    }
    let config = Config::validate(value.clone(), &files).unwrap();
    assert_eq!(
        config.kamonohashi[0].server,
        "http://kamonohashi.example.com"
    );
    // The loader could not read one: its problem, with the others.
    files.insert(named("secure.json"), Err("permission denied".into()));
    let err = Config::validate(value, &files).unwrap_err();
    assert_eq!(
        err.problems[0].to_string(),
        "sources.kamonohashi[0].secure_file: /nowhere/secure.json: permission denied"
    );
}

#[test]
fn kamonohashi_slackbot_files_load_as_they_are() {
    let dir = format!("{}/../../samplejson", env!("CARGO_MANIFEST_DIR"));
    let text = serde_json::json!({
        "timezone": "Asia/Tokyo",
        "sources": { "kamonohashi": [{
            "name": "kqi",
            "config_file": format!("{dir}/kamonohashi-slackbot-config.json"),
            "secure_file": format!("{dir}/kamonohashi-slackbot-secure.json")
        }]}
    });
    let config = load(&text.to_string()).unwrap();
    let [k] = &config.kamonohashi[..] else {
        panic!()
    };
    assert_eq!(k.server, "http://kamonohashi.example.com");
    assert_eq!(k.tenants, [1, 2]);
    assert_eq!(k.mentions[&1], ["U0123ABCD"]);
    assert_eq!(k.interval, std::time::Duration::from_secs(60));
    assert_eq!(
        k.watch.default,
        WatchDay {
            active: true,
            enter: 9,
            leave: 18
        }
    );
    assert!(!k.watch.day(chrono::Weekday::Sat).active);
    assert_eq!(k.watch.day(chrono::Weekday::Fri).leave, 15);
    assert_eq!(
        k.watch.day(chrono::Weekday::Mon).leave,
        18,
        "overrides do not leak into other days"
    );
    assert_eq!(config.channels["kqi-slack"].kind(), "slack");
    let route = config
        .routes
        .iter()
        .find(|r| r.name == "kqi-slack")
        .unwrap();
    assert_eq!(route.matchers.sources, [Source::Kamonohashi]);
    assert!(!format!("{config:?}").contains("slackbot-password"));
}

#[tokio::test]
async fn the_deploy_example_is_valid_once_its_secrets_resolve() {
    struct Fake;
    #[async_trait::async_trait]
    impl secrets::Resolver for Fake {
        async fn resolve(&self, r: &secrets::Reference) -> Result<String, String> {
            Ok(match r {
                secrets::Reference::Ssm(p) if p.ends_with("url") => {
                    "https://hooks.slack.test/x".into()
                }
                secrets::Reference::Ssm(p) if p.ends_with("service-account-key") => {
                    crate::testing::service_account_key("https://oauth2.googleapis.com/token")
                }
                _ => "resolved".into(),
            })
        }
    }
    let text = file("deploy/config.json");
    assert!(
        Config::load(&text, &[]).is_err(),
        "references must be resolved first"
    );
    let mut value = Config::raw(&text, &[]).unwrap();
    assert_eq!(secrets::resolve(&mut value, &Fake).await.unwrap(), 3);
    let config = Config::from_value(value).unwrap();
    assert_eq!(config.channels["pager"].kind(), "oncall");
    assert_eq!(config.channels["ops-bot"].kind(), "google_chat_bot");
}

#[test]
fn a_chat_bot_channel_checks_its_key_without_quoting_it() {
    let key = crate::testing::service_account_key("https://oauth2.googleapis.com/token");
    let good = serde_json::json!({ "channels": { "bot": {
        "type": "google_chat_bot", "service_account_key": key } } });
    let config = load(&good.to_string()).unwrap();
    let Channel::GoogleChatBot(bot) = &config.channels["bot"] else {
        panic!()
    };
    assert_eq!((bot.bot.as_str(), bot.concurrency), ("opsbell", 8));
    assert_eq!(bot.api_base, "https://chat.googleapis.com");
    assert_eq!(
        config.routes[0].matchers.states,
        Channel::GoogleChatBot(bot.clone()).default_states()
    );

    let bad = serde_json::json!({ "channels": { "bot": {
        "type": "google_chat_bot", "service_account_key": "{\"private_key\": \"top-secret\"}",
        "concurrency": 0 } } });
    let err = load(&bad.to_string()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("channels.bot.service_account_key"), "{text}");
    assert!(
        text.contains("channels.bot.concurrency: must be at least 1"),
        "{text}"
    );
    assert!(!text.contains("top-secret"), "{text}");
}

#[test]
fn time_intervals_routes_and_backlog_lifecycles_are_checked_and_described() {
    let text = serde_json::json!({
        "timezone": "Asia/Tokyo",
        "channels": {
            "ops": {"type": "console"},
            "tickets": {"type": "backlog", "api_key": "k", "space_key": "acme", "project_id": 1,
                "issue_type_id": 2, "close_on_recovery": true, "reopen_within": "12h"}
        },
        "time_intervals": [{"name": "nights", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "07:00"}]}]}],
        "routes": [
            {"name": "night shift", "channels": ["ops", "tickets"], "states": ["faulted"], "folders": ["12"],
             "mute_time_intervals": ["nights"]}
        ]
    });
    let config = load(&text.to_string()).unwrap();
    let described = config.describe().join("\n");
    assert!(
        described.contains("channel ops (console): faulted where folder=12 (muted nights)"),
        "{described}"
    );
    assert!(
        described.contains("channel tickets keeps an issue per process"),
        "{described}"
    );
    // The Backlog channel hears the recoveries of what its route sends it.
    let twin = config
        .routes
        .iter()
        .find(|r| r.name == "recovery:night shift:tickets")
        .unwrap();
    assert_eq!(twin.matchers.states, [State::Successful]);
    assert_eq!(twin.matchers.folders, ["12"]);
    assert_eq!(twin.mute_time_intervals, ["nights"]);
    // A period without a location is in the file's time zone: 01:00 JST is night.
    let night = chrono::DateTime::parse_from_rfc3339("2026-12-01T16:00:00Z").unwrap();
    assert!(config.time_intervals["nights"].contains(night.with_timezone(&chrono::Utc)));

    let bad = serde_json::json!({
        "channels": {"ops": {"type": "console"}},
        "time_intervals": [{"name": "x", "time_intervals": [{"weekdays": ["someday"]}]}],
        "routes": [{"channels": ["ops"], "active_time_intervals": ["office"]}]
    });
    let problems: Vec<String> = load(&bad.to_string())
        .unwrap_err()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("time_intervals[0]") && p.contains("someday")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("routes[0].active_time_intervals[0]") && p.contains("\"office\"")),
        "{problems:?}"
    );
}

#[test]
fn planned_silences_are_read_checked_and_described() {
    let text = serde_json::json!({
        "channels": {"ops": {"type": "console"}},
        "silences": [{"name": "db-upgrade", "matchers": "process=Invoice* folder=12 channel=ops",
            "starts_at": "2099-12-05T22:00:00+09:00", "ends_at": "2099-12-06T02:00:00+09:00",
            "comment": "database upgrade"}]
    });
    let config = load(&text.to_string()).unwrap();
    let s = &config.silences[0];
    assert_eq!(
        (s.id.as_str(), s.created_by.as_str()),
        ("db-upgrade", "config")
    );
    assert_eq!(s.matchers.processes, ["Invoice*"]);
    assert_eq!(s.channels, ["ops"]);
    assert_eq!(s.starts_at.to_rfc3339(), "2099-12-05T13:00:00+00:00");
    let described = config.describe().join("\n");
    assert!(
        described.contains("planned silence db-upgrade from 2099-12-05 13:00 UTC until 2099-12-05 17:00 UTC: process=Invoice* folder=12 channel=ops (by config: database upgrade)"),
        "{described}"
    );
    let bad = serde_json::json!({
        "channels": {"ops": {"type": "console"}},
        "silences": [
            {"name": "a", "matchers": "colour=red", "starts_at": "2099-12-05T22:00:00Z", "ends_at": "2099-12-06T02:00:00Z"},
            {"name": "b", "matchers": "process=X", "starts_at": "2099-12-06T22:00:00Z", "ends_at": "2099-12-06T02:00:00Z"}
        ]
    });
    let problems: Vec<String> = load(&bad.to_string())
        .unwrap_err()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("silences[0].matchers") && p.contains("\"colour\"")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("silences[1].ends_at")),
        "{problems:?}"
    );
}

#[test]
fn each_vendor_is_paced_at_its_documented_rate_unless_the_channel_says_otherwise() {
    let config = load(
        r#"{"channels": {
            "a": {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/x"},
            "b": {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/y", "spacing": "250ms"},
            "c": {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/z", "spacing": "0s"},
            "d": {"type": "console"}
        }}"#,
    )
    .unwrap();
    let gaps: Vec<(&str, u128)> = (config.spacing.iter())
        .map(|(n, g)| (n.as_str(), g.as_millis()))
        .collect();
    assert_eq!(gaps, [("a", 1000), ("b", 250)]);
    let err = load(
        r#"{"channels": {"a": {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/x", "spacing": 5}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("channels.a.spacing"), "{err}");
}

#[test]
fn absurd_intervals_and_rates_are_loaded_or_refused_without_a_panic() {
    // Found by the never-panic property test: a scheduled target's `interval` in minutes near
    // u64::MAX overflowed its conversion to seconds.
    let mut doc: serde_json::Value =
        serde_json::from_str(&file("samplejson/predecessor-config.json")).unwrap();
    for target in doc["scheduled"].as_object_mut().unwrap().values_mut() {
        if target.get("interval").is_some() {
            target["interval"] = serde_json::json!(u64::MAX / 3);
        }
    }
    let _ = load(&doc.to_string());
    assert_eq!(sources::rate(&format!("rate({} days)", u64::MAX / 2)), None);
}

#[test]
fn check_warns_of_what_a_feature_sends_that_no_route_hears() {
    let config = |routes: serde_json::Value| {
        Config::from_value(serde_json::json!({
            "channels": {
                "ops": { "type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/x" },
                "pager": { "type": "oncall" }
            },
            "routes": routes
        }))
        .unwrap()
    };
    let unheard = config(serde_json::json!([
        { "channels": ["pager"], "sources": ["uipath"], "states": ["faulted"] },
        { "channels": ["ops"], "sources": ["oncall"], "states": ["alarm"] }
    ]))
    .unheard();
    assert_eq!(unheard.len(), 2, "{unheard:?}");
    assert!(unheard[0].contains("no route hears oncall ok (who answered)"));
    assert!(unheard[1].contains("no route hears oncall started (a dry run's call plan)"));
    let heard = config(serde_json::json!([
        { "channels": ["pager"], "sources": ["uipath"], "states": ["faulted"] },
        { "channels": ["ops"], "sources": ["oncall"] }
    ]));
    assert!(heard.unheard().is_empty());
}

#[test]
fn check_says_what_is_watched_and_the_orchestrator_requests_per_cycle() {
    let config = Config::from_value(serde_json::json!({
        "channels": { "ops": { "type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/x" } },
        "sources": { "orchestrator": [{
            "name": "cloud", "url": "https://cloud.uipath.com/acme/DefaultTenant/orchestrator_",
            "folders": [1, 2, 3, 4, 5, 6], "triggers": { "grace": "10m" },
            "auth": { "type": "client_credentials", "token_url": "https://cloud.uipath.com/identity_/connect/token",
                      "client_id": "app", "client_secret": "s3cr3t-client" }
        }]},
        "heartbeats": [{ "name": "nightly-batch", "key": "0b8f6a4e-2c1d-4e7f-9a3b-5c6d7e8f9a0b", "period": "1d" }]
    }))
    .unwrap();
    let text = config.describe().join("\n");
    for line in [
        "Orchestrator requests per cycle: at most 14 (6 job pages, 6 triggered-jobs pages, 2 trigger reads; 6 trigger reads in the first cycle; Automation Cloud allows 100 a minute, 500 a cycle)",
        "watch cloud's triggers: runs missing 10m after their time, and triggers disabled (read every 15m; triggers on a calendar are skipped) → ops",
        "watch heartbeat nightly-batch: every 1d, grace 1h (ping /ping/<its key>) → ops",
    ] {
        assert!(text.contains(line), "{line}\nnot in:\n{text}");
    }
    assert!(
        !text.contains("0b8f6a4e") && !text.contains("s3cr3t"),
        "{text}"
    );
    let wrong = Config::from_value(serde_json::json!({
        "sources": { "orchestrator": [{
            "name": "cloud", "url": "https://x", "triggers": { "grace": "5s", "every": "1m" },
            "auth": { "type": "password", "tenancy_name": "d", "username": "u", "password": "p" }
        }]}
    }))
    .unwrap_err()
    .to_string();
    assert!(
        wrong.contains("sources.orchestrator[0].triggers"),
        "{wrong}"
    );
}

#[test]
fn check_says_when_a_job_is_hung_and_refuses_a_wrong_limit() {
    let with = |hung: serde_json::Value| {
        Config::from_value(serde_json::json!({
            "channels": { "ops": { "type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/x" },
                          "tickets": { "type": "backlog", "space_key": "acme", "api_key": "k",
                                       "project_id": 1, "issue_type_id": 2 } },
            "sources": { "orchestrator": [{
                "name": "cloud", "url": "https://x", "folders": [1, 2], "hung": hung,
                "auth": { "type": "password", "tenancy_name": "d", "username": "u", "password": "p" }
            }]}
        }))
    };
    let config =
        with(serde_json::json!({ "suspended": "off", "max_running": { "Nightly": "2h" } }))
            .unwrap();
    let text = config.describe().join("\n");
    for line in [
        "watch cloud's jobs hung: Running longer than 3 × the p95 of its last 20 successful runs (at least 15m) once 5 are known, until then 6h (max_running: Nightly 2h), Stopping longer than 30m → ops, tickets; Pending longer than 1h, Suspended longer than no limit → ops",
        "Orchestrator requests per cycle: 4 (2 job pages, 2 pages of jobs not ended; Automation Cloud allows 100 a minute, 500 a cycle)",
    ] {
        assert!(text.contains(line), "{line}\nnot in:\n{text}");
    }
    let plain = with(serde_json::json!({ "learn": false, "running": "off" })).unwrap();
    let text = plain.describe().join("\n");
    assert!(
        text.contains("Running longer than no limit, Stopping"),
        "{text}"
    );
    let wrong = with(serde_json::json!({ "pending": "soon", "learn": { "k": 0.5, "runs": 2 }, "max_running": { "A": "5s" }, "extra": 1 }))
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("sources.orchestrator[0]"), "{wrong}");
    let wrong = with(serde_json::json!({ "pending": "soon", "learn": { "k": 0.5, "runs": 2 }, "max_running": { "A": "5s" } }))
        .unwrap_err()
        .to_string();
    for at in [
        "hung.pending",
        "hung.learn.k",
        "hung.learn.runs",
        "hung.max_running.A",
    ] {
        assert!(
            wrong.contains(&format!("sources.orchestrator[0].{at}")),
            "{at}: {wrong}"
        );
    }
}

#[test]
fn check_says_how_long_kamonohashi_jobs_may_wait_and_refuses_a_wrong_limit() {
    let with = |long: serde_json::Value| {
        Config::from_value(serde_json::json!({
            "channels": { "ops": { "type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/x" } },
            "sources": { "kamonohashi": [{
                "name": "kqi", "server": "https://kqi.example", "username": "bot", "password": "pw",
                "long": long
            }]}
        }))
    };
    let config =
        with(serde_json::json!({ "running": "2d", "tenants": { "3": { "pending": "off" } } }))
            .unwrap();
    let text = config.describe().join("\n");
    let line = "watch kqi's jobs stuck: Pending longer than 6h, Running longer than 2d; tenant 3: Pending no limit, Running 2d → ops";
    assert!(text.contains(line), "{text}");
    let wrong = with(serde_json::json!({ "pending": "soon", "tenants": { "x": {} } }))
        .unwrap_err()
        .to_string();
    assert!(
        wrong.contains("sources.kamonohashi[0].long.pending")
            && wrong.contains("sources.kamonohashi[0].long.tenants.x"),
        "{wrong}"
    );
}
