//! Each predecessor's own documented files, unchanged, through opsbell on the emulator: what
//! its users relied on reaches the same places.

use std::sync::Arc;

use crate::support::*;
use lambda_runtime::Context;
use opsbell_core::config::Config;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// uipath-job-status-listener-on-aws in its scheduled-only mode (an Orchestrator that cannot
/// reach AWS): its HEAD template with `scheduled.slack` and `scheduled.chatwork` filled in, an
/// `api_key`, and every other target left empty. The default schedule polls; each target hears
/// the job once, and every Orchestrator request carried the `api_key`.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn a_scheduled_only_predecessor_config_polls_and_reaches_its_scheduled_targets() {
    captured_logs();
    let (orchestrator, slack, chatwork) = (
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
    );
    let empty = json!({"available_state": "Faulted,Stopped", "url": "", "username": "",
        "password": "", "project": "", "issue_type": "", "interval": 0, "schedule": ""});
    let file = json!({
        "language": "en",
        "timezone": "Asia/Tokyo",
        "webhook": {
            "orchestrator": {"secret": ""},
            "slack": {"available_state": "Successful,Faulted,Stopped", "incomming_webhook_url": ""},
            "jira": empty
        },
        "scheduled": {
            "orchestrator": {"url": orchestrator.uri(), "tenancy_name": "Default",
                "username": "admin", "password": "orchestrator-secret-password",
                "api_key": "orchestrator-secret-api-key", "ntlm_authentication": "False"},
            "slack": {"available_state": "Successful,Faulted,Stopped",
                "incomming_webhook_url": format!("{}{SLACK_PATH}", slack.uri()),
                "interval": 10, "schedule": "rate(10 minutes)"},
            "chatwork": {"available_state": "Faulted,Stopped", "api_token": CHATWORK_TOKEN,
                "room_id": "42", "api_base": chatwork.uri(), "interval": 30,
                "schedule": "rate(30 minutes)"},
            "backlog": {"available_state": "Faulted,Stopped", "api_key": "", "space_key": "",
                "project_id": "", "issue_type_id": "", "priority_id": "", "interval": 0,
                "schedule": ""},
            "jira": empty
        }
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();

    Mock::given(method("POST"))
        .and(path("/api/Account/Authenticate"))
        .and(query_param("api_key", "orchestrator-secret-api-key"))
        .and(body_json(
            json!({"TenancyName": "Default", "UsernameOrEmailAddress": "admin",
            "Password": "orchestrator-secret-password"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": "orch-token"})))
        .mount(&orchestrator)
        .await;
    Mock::given(method("GET"))
        .and(path("/odata/Folders"))
        .and(query_param("api_key", "orchestrator-secret-api-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"Id": 7}]})))
        .mount(&orchestrator)
        .await;
    Mock::given(method("GET"))
        .and(path("/odata/Jobs"))
        .and(query_param("api_key", "orchestrator-secret-api-key"))
        .and(header("authorization", "Bearer orch-token"))
        .and(header("x-uipath-organizationunitid", "7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.count": 2,
            "value": [{
                "Id": 148671, "Key": "9cc6c2e4-237d-42f6-8cb8-43010652fb22", "State": "Faulted",
                "StartTime": "2026-12-01T01:00:00Z", "EndTime": "2026-12-01T01:00:05.25Z",
                "ReleaseName": "InvoiceRobot", "HostMachineName": "PC-01",
                "Info": "Could not open the ledger"
            }, {
                "Id": 148672, "Key": "0dd6c2e4-237d-42f6-8cb8-43010652fb23", "State": "Successful",
                "StartTime": "2026-12-01T01:01:00Z", "EndTime": "2026-12-01T01:01:05Z",
                "ReleaseName": "InvoiceRobot", "HostMachineName": "PC-01", "Info": "Done"
            }]
        })))
        .mount(&orchestrator)
        .await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/rooms/42/messages"))
        .and(header("x-chatworktoken", CHATWORK_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"message_id": "1"})))
        .mount(&chatwork)
        .await;

    let world = Deployment::start().await;
    let store = world.store.clone();
    let pollers = world.pollers(&config);

    // The deployment's one default schedule: every target's poll, each with its own watermark.
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
    let polled = job_poller::handle(lambda_event(json!({}), context), &pollers).await;
    let polled = answer_json(polled.unwrap());
    assert_eq!(polled["polled"].as_array().unwrap().len(), 2, "{polled}");
    for scope in ["orchestrator>slack", "orchestrator>chatwork"] {
        let mark = opsbell_core::ports::Records::get_record(
            store.as_ref(),
            &format!("WATERMARK#uipath:{scope}"),
            "7",
        )
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no watermark for {scope}"));
        assert_eq!(mark["id"], 148672, "{scope}");
    }
    // slack: both jobs; chatwork: both polled, restricted to it, the success filtered out.
    assert_eq!(world.fan_out(&config).await, 4);

    let slack_bodies = json_bodies(&slack).await;
    assert_eq!(slack_bodies.len(), 2, "{slack_bodies:#?}");
    let slack_body = |title: &str,
                      color: &str,
                      times: [&str; 2],
                      id: u32,
                      key: &str,
                      info: &str| {
        let job = key.split(':').nth(2).unwrap();
        let link = format!(
            "{}/orchestrator_/jobs(sidepanel:sidepanel/jobs/{job}/details)?fid=7",
            orchestrator.uri()
        );
        json!({
            "text": title,
            "attachments": [{
                "color": color,
                "fallback": title,
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{title}*")}},
                    {"type": "section", "fields": [
                        {"type": "mrkdwn", "text": "*Machine*\nPC-01"},
                        {"type": "mrkdwn", "text": format!("*Started*\n{} JST", times[0])},
                        {"type": "mrkdwn", "text": format!("*Ended*\n{} JST", times[1])},
                        {"type": "mrkdwn", "text": "*Folder*\n7"},
                        {"type": "mrkdwn", "text": format!("*Job ID*\n{id}")}
                    ]},
                    {"type": "section", "text": {"type": "mrkdwn", "text": format!("```{info}```")}},
                    {"type": "actions", "elements": [{"type": "button",
                        "text": {"type": "plain_text", "text": "Open job"}, "url": link}]},
                    {"type": "context", "elements": [{"type": "mrkdwn",
                        "text": format!("opsbell · uipath · `{key}`")}]}
                ]
            }]
        })
    };
    assert_eq!(
        slack_bodies,
        [
            slack_body(
                "✅ InvoiceRobot completed successfully",
                "#2EB67D",
                ["2026-12-01 10:01:00", "2026-12-01 10:01:05"],
                148672,
                "uipath::0dd6c2e4-237d-42f6-8cb8-43010652fb23:successful",
                "Done"
            ),
            slack_body(
                "🔴 InvoiceRobot faulted",
                "#E01E5A",
                ["2026-12-01 10:00:00", "2026-12-01 10:00:05"],
                148671,
                "uipath::9cc6c2e4-237d-42f6-8cb8-43010652fb22:faulted",
                "Could not open the ledger"
            ),
        ]
    );
    let chatwork_bodies = form_bodies(&chatwork).await;
    let link = format!(
        "{}/orchestrator_/jobs(sidepanel:sidepanel/jobs/9cc6c2e4-237d-42f6-8cb8-43010652fb22/details)?fid=7",
        orchestrator.uri()
    );
    let body = format!(
        "[info][title]🔴 InvoiceRobot faulted[/title]Could not open the ledger\n\nMachine: PC-01\n\
         Started: 2026-12-01 10:00:00 JST\nEnded: 2026-12-01 10:00:05 JST\nFolder: 7\n\
         Job ID: 148671\nOpen job: {link}[/info]"
    );
    assert_eq!(
        chatwork_bodies,
        [[
            ("body".to_string(), body),
            ("self_unread".into(), "0".into())
        ]]
    );
    for request in orchestrator.received_requests().await.unwrap() {
        let query = request.url.query().unwrap_or_default();
        assert!(
            query.contains("api_key=orchestrator-secret-api-key"),
            "{}",
            request.url.path()
        );
    }
    assert_no_secret_logged();
}

/// A fake KAMONOHASHI 2: one login, a token per tenant, each tenant's training list as the test
/// sets it (no inference jobs).
/// Per tenant id, its training jobs as (id, status).
type KqiJobs = std::collections::BTreeMap<i64, Vec<(i64, &'static str)>>;

struct Kqi(Arc<std::sync::Mutex<KqiJobs>>);

impl wiremock::Respond for Kqi {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let path = req.url.path();
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        match path {
            "/api/v2/account/login" => {
                ResponseTemplate::new(200).set_body_json(json!({"token": "login", "tenantId": 1}))
            }
            "/api/v2/account" => ResponseTemplate::new(200).set_body_json(json!({"tenants": [
                {"id": 1, "name": "t1", "displayName": "Vision"},
                {"id": 2, "name": "t2", "displayName": "Speech"},
                {"id": 3, "name": "t3", "displayName": "Weekend"}
            ]})),
            "/api/v2/inferences" => ResponseTemplate::new(200)
                .insert_header("X-Total-Count", "0")
                .set_body_json(json!([])),
            "/api/v2/training" => {
                let tenant: i64 = auth.trim_start_matches("Bearer tenant-").parse().unwrap();
                let jobs = self
                    .0
                    .lock()
                    .unwrap()
                    .get(&tenant)
                    .cloned()
                    .unwrap_or_default();
                let items: Vec<_> = jobs
                    .iter()
                    .map(|(id, s)| json!({"id": id, "name": format!("train-{id}"), "status": s}))
                    .collect();
                ResponseTemplate::new(200)
                    .insert_header("X-Total-Count", items.len().to_string())
                    .set_body_json(items)
            }
            other => match other
                .strip_prefix("/api/v2/account/tenants/")
                .and_then(|t| t.strip_suffix("/token"))
            {
                Some(t) => ResponseTemplate::new(200)
                    .set_body_json(json!({"token": format!("tenant-{t}")})),
                None => ResponseTemplate::new(404),
            },
        }
    }
}

/// kamonohashi-slackbot's own three files (config with a Saturday `Tenant` override and
/// per-tenant mentions, secure with its SlackURI, message with its phrases): polled on a
/// Saturday and a Monday, queued on SQS, fanned out to the SlackURI channel.
#[tokio::test]
#[ignore = "needs the AWS emulator: run scripts/test.sh"]
async fn the_slackbots_files_watch_each_days_tenants_and_mention_for_real() {
    captured_logs();
    let (kqi, slack) = (MockServer::start().await, MockServer::start().await);
    let jobs = Arc::new(std::sync::Mutex::new(KqiJobs::from([
        (1, vec![(11, "Running")]),
        (2, vec![(21, "Running")]),
        (3, vec![(31, "Running")]),
    ])));
    Mock::given(wiremock::matchers::any())
        .respond_with(Kqi(jobs.clone()))
        .mount(&kqi)
        .await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: serde_json::Value| {
        let file = dir.path().join(name);
        std::fs::write(&file, v.to_string()).unwrap();
        file.display().to_string()
    };
    let config_file = write(
        "config.json",
        json!({
            "Watch": {
                "Default": {"Active": true, "Tenant": [1, 2], "Enter": 9, "Leave": 18},
                "Saturday": {"Active": true, "Tenant": [3], "Enter": 10, "Leave": 12}
            },
            "Tenant": {"1": {"ByName": ["U0123ABCD"]}, "3": {"ByName": ["U0999WXYZ"]}},
            "Polling": 60
        }),
    );
    let secure_file = write(
        "secure.json",
        json!({
            "KAMONOHASHI": {"Server": format!("{}/#/", kqi.uri()),
                "Application": {"Username": "watch_only_user", "Password": "kqi-secret-password"}},
            "SlackURI": format!("{}{SLACK_PATH}", slack.uri())
        }),
    );
    let message_file = write(
        "message.json",
        json!({"Message": {"Completed": ["完了カモ"], "Killed": ["失敗カモ..."],
            "Unknown": ["よくわからないカモ..."]}}),
    );
    let file = json!({
        "timezone": "Asia/Tokyo",
        "sources": {"kamonohashi": [{"name": "kqi", "config_file": config_file,
            "secure_file": secure_file, "message_file": message_file}]}
    });
    let config = Config::load(&file.to_string(), &[]).unwrap();

    let world = Deployment::start().await;
    let pollers = world.pollers(&config);
    let tokyo = chrono_tz::Asia::Tokyo;
    // 2026-11-28 is a Saturday; 2026-11-30 a Monday.
    let at = |d: u32, h: u32| {
        chrono::TimeZone::with_ymd_and_hms(&tokyo, 2026, 11, d, h, 0, 0)
            .unwrap()
            .to_utc()
    };
    let deadline = || tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    // First sightings, stored silently: Saturday sees tenant 3 only, Monday tenants 1 and 2.
    for (d, h) in [(28, 10), (30, 10)] {
        for r in pollers.run(&[], &[], at(d, h), deadline()).await {
            r.unwrap();
        }
    }
    *jobs.lock().unwrap() = KqiJobs::from([
        (1, vec![(11, "Completed")]),
        (2, vec![(21, "Killed")]),
        (3, vec![(31, "Completed")]),
    ]);
    let saturday = pollers.run(&[], &[], at(28, 11), deadline()).await;
    assert_eq!(
        saturday[0].as_ref().unwrap().folders,
        1,
        "Saturday: tenant 3 only"
    );
    let monday = pollers.run(&[], &[], at(30, 11), deadline()).await;
    assert_eq!(
        monday[0].as_ref().unwrap().folders,
        2,
        "Monday: tenants 1 and 2"
    );

    assert_eq!(world.fan_out(&config).await, 3);
    let texts: Vec<String> = json_bodies(&slack)
        .await
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sorted(texts),
        [
            "<@U0123ABCD> ✅ Visionテナントのジョブ(11)は完了カモ",
            "<@U0999WXYZ> ✅ Weekendテナントのジョブ(31)は完了カモ",
            "🟠 Speechテナントのジョブ(21)は失敗カモ...",
        ]
    );
    let bodies = json_bodies(&slack).await;
    let weekend = bodies
        .iter()
        .find(|b| b["text"].as_str().unwrap().contains("Weekend"))
        .unwrap();
    let title = "✅ Weekendテナントのジョブ(31)は完了カモ";
    assert_eq!(
        weekend,
        &json!({
            "text": format!("<@U0999WXYZ> {title}"),
            "attachments": [{
                "color": "#2EB67D",
                "fallback": format!("<@U0999WXYZ> {title}"),
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn",
                        "text": format!("<@U0999WXYZ> *{title}*")}},
                    {"type": "section", "fields": [
                        {"type": "mrkdwn", "text": "*Job ID*\n31"}
                    ]},
                    {"type": "section", "text": {"type": "mrkdwn",
                        "text": "```training 31: Running → Completed```"}},
                    {"type": "actions", "elements": [{"type": "button",
                        "text": {"type": "plain_text", "text": "Open job"},
                        "url": format!("{}/#/training/31?tenantId=3", kqi.uri())}]},
                    {"type": "context", "elements": [{"type": "mrkdwn",
                        "text": "opsbell · kamonohashi · `kamonohashi:kqi/3:training-31:successful`"}]}
                ]
            }]
        })
    );
    assert_no_secret_logged();
}
