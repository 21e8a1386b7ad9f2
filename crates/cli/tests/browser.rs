//! The console in a real browser: Debian's Chromium driven over WebDriver (chromium-driver,
//! `fantoccini`), signing in at a real OpenID Connect provider (`oidc-provider` from npm, run by
//! `scripts/oidc/provider.mjs`), against the built `opsbell serve`. `scripts/test.sh` installs
//! all three; without them these tests are ignored (`cargo test -- --include-ignored` runs
//! them). Each page is saved as a screenshot in `target/console-screenshots/` (en and ja).

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

mod support {
    pub mod browser;
    pub mod serve;
}

use support::browser::{
    CLIENT_SECRET, Provider, browser, click_and_load, provider, shot, sign_in, text,
    until_page_says,
};
use support::serve::{SECRET, Serve, repo, sample, signature, wait_for_requests};

struct World {
    _provider: Provider,
    slack: MockServer,
    serve: Serve,
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

/// `opsbell serve` with a login at the provider: ana is a responder, anyone @example.com a
/// viewer; faults go to Slack and to a dry-run escalation whose steps are `interval` apart.
async fn world(interval: u64) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let provider = provider(&dir);
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    // The redirect URL names the console's port, so serve gets a port found free (and another,
    // should something take it first), and the provider's client is registered for it.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = write_world_config(&dir, &provider, &slack, port);
        let env = [
            ("ONCALL_FILES_DIR", repo("samplejson").display().to_string()),
            (
                "PHONE_NUMBER_JSON_FILE",
                "lambda-connect-rotation-new-format.json".to_string(),
            ),
            ("CALL_REPEAT_COUNT", "1".to_string()),
            ("CALL_STATE_CHECK_INTERVAL_SECONDS", interval.to_string()),
        ];
        let listen = format!("127.0.0.1:{port}");
        match Serve::start_on(&config, &dir.join("opsbell.db"), &listen, &env).await {
            Ok(serve) => {
                return World {
                    _provider: provider,
                    slack,
                    serve,
                    _dir: tmp,
                    dir,
                };
            }
            Err(log) if log.contains("Address already in use") => continue,
            Err(log) => panic!("opsbell serve did not start:\n{log}"),
        }
    }
    panic!("no free port for the console");
}

fn write_world_config(dir: &Path, provider: &Provider, slack: &MockServer, port: u16) -> PathBuf {
    let redirect = format!("http://127.0.0.1:{port}/auth/callback");
    let clients = json!([{ "client_id": "opsbell-console", "client_secret": CLIENT_SECRET,
        "redirect_uris": [redirect], "grant_types": ["authorization_code"], "response_types": ["code"] }]);
    std::fs::write(&provider.clients, clients.to_string()).unwrap();
    let config = dir.join("config.json");
    let text = json!({
        "timezone": "Asia/Tokyo",
        "webhook": { "orchestrator": { "secret": SECRET } },
        "channels": {
            "pager": { "type": "oncall" },
            "ops-slack": { "type": "slack", "webhook_url": format!("{}/hook", slack.uri()) }
        },
        "routes": [
            { "name": "wake-someone", "channels": ["pager"], "states": ["faulted"], "processes": ["Nightly*"] },
            { "name": "tell-chat", "channels": ["ops-slack"], "states": ["faulted", "successful"] },
            { "name": "escalation-news", "channels": ["ops-slack"], "sources": ["oncall"] }
        ],
        "access": { "responders": ["ana@example.com"], "viewers": ["@example.com"] },
        "console": { "login": { "issuer": provider.issuer, "client_id": "opsbell-console",
            "client_secret": CLIENT_SECRET, "redirect_url": redirect } }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    config
}

impl Drop for World {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log =
                std::fs::read_to_string(self.dir.join("opsbell.serve.log")).unwrap_or_default();
            eprintln!("opsbell serve's log:\n{log}");
        }
    }
}

/// A faulted job of `process`, a new job each time.
async fn fault(w: &World, process: &str, job: &str) {
    let body = String::from_utf8(sample("faulted")).unwrap();
    let body = body
        .replace("FailingJob", process)
        .replace("9cc6c2e4-237d-42f6-8cb8-43010652fb22", job);
    let body = body.into_bytes();
    assert_eq!(w.serve.post(&body, Some(&signature(&body))).await.0, 202);
}

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and the OIDC provider (scripts/test.sh)"]
async fn a_responder_signs_in_sees_a_fault_silences_it_with_a_preview_and_expires_it() {
    let w = world(60).await;
    let base = w.serve.base.clone();
    fault(&w, "InvoiceBot", "11111111-0000-0000-0000-000000000001").await;
    wait_for_requests(&w.slack, 1, Duration::from_secs(10)).await;
    let (_driver, b) = browser(&w.dir, "en").await;
    sign_in(&b, &base, "ana@example.com").await;
    let now = until_page_says(&b, &format!("{base}/"), "InvoiceBot").await;
    assert!(now.contains("ana@example.com (responder)"), "{now}");
    assert!(now.contains("ops-slack: delivered"), "{now}");
    shot(&b, "now-en").await;

    b.goto(&format!("{base}/history")).await.unwrap();
    shot(&b, "history-en").await;
    click_and_load(&b, "td a").await;
    let event = text(&b).await;
    assert!(
        event.contains("ops-slack") && event.contains("delivered"),
        "{event}"
    );
    shot(&b, "event-en").await;

    // A silence, previewed first: the fault just told is what it would have held.
    b.goto(&format!("{base}/silences")).await.unwrap();
    let field = b.find(Locator::Css("input[name=text]")).await.unwrap();
    field
        .send_keys("process=Invoice* for 2h deploying v2")
        .await
        .unwrap();
    click_and_load(&b, "button[name=preview]").await;
    let preview = text(&b).await;
    let held = preview
        .split("Recent events it would have held")
        .nth(1)
        .unwrap_or_default();
    let held = held.split("Silences").next().unwrap_or_default();
    assert!(
        held.contains("\nInvoiceBot") || held.contains(" InvoiceBot "),
        "{preview}"
    );
    shot(&b, "silences-preview-en").await;
    click_and_load(&b, "button[name=save]").await;
    let listed = text(&b).await;
    assert!(
        listed.contains("active") && listed.contains("ana@example.com: deploying v2"),
        "{listed}"
    );
    shot(&b, "silences-en").await;

    // The next fault of the process is withheld at Slack; History says so.
    fault(&w, "InvoiceBot", "11111111-0000-0000-0000-000000000002").await;
    until_page_says(
        &b,
        &format!("{base}/history?fate=withheld"),
        "ops-slack: withheld",
    )
    .await;
    assert_eq!(
        w.slack.received_requests().await.unwrap().len(),
        1,
        "nothing more posted"
    );

    // Expired, the silence holds nothing: the next fault is told.
    b.goto(&format!("{base}/silences")).await.unwrap();
    click_and_load(&b, "form[action='/silences/expire'] button").await;
    let after = text(&b).await;
    assert!(
        after.contains("ended") && !after.contains("Expire"),
        "{after}"
    );
    fault(&w, "InvoiceBot", "11111111-0000-0000-0000-000000000003").await;
    assert_eq!(
        wait_for_requests(&w.slack, 2, Duration::from_secs(10))
            .await
            .len(),
        2
    );

    for (page, name) in [
        ("/routes", "routes"),
        ("/health", "health"),
        ("/oncall", "oncall"),
    ] {
        b.goto(&format!("{base}{page}")).await.unwrap();
        shot(&b, &format!("{name}-en")).await;
    }
    let calendar = text(&b).await;
    assert!(
        calendar.contains("This month") && calendar.contains("…1111"),
        "{calendar}"
    );
    assert!(!calendar.contains("+11111111111"), "numbers are masked");
    assert!(
        b.find_all(Locator::Css(".cal div")).await.unwrap().len() >= 28,
        "a month of days"
    );

    // A forged POST: the form without its CSRF token.
    b.goto(&format!("{base}/silences")).await.unwrap();
    b.execute(
        "document.querySelector('form[action=\"/silences\"] input[name=csrf]').remove()",
        vec![],
    )
    .await
    .unwrap();
    let field = b.find(Locator::Css("input[name=text]")).await.unwrap();
    field.send_keys("process=x for 1h").await.unwrap();
    click_and_load(&b, "button[name=save]").await;
    let refused = text(&b).await;
    assert!(
        refused.contains("security token is missing or wrong"),
        "{refused}"
    );
    b.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and the OIDC provider (scripts/test.sh)"]
async fn an_ack_in_the_browser_stops_a_running_dry_run_escalation() {
    let interval = 20;
    let w = world(interval).await;
    let base = w.serve.base.clone();
    fault(&w, "NightlyBilling", "22222222-0000-0000-0000-000000000001").await;
    let (_driver, b) = browser(&w.dir, "en").await;
    sign_in(&b, &base, "ana@example.com").await;
    let now = until_page_says(&b, &format!("{base}/"), "NightlyBilling").await;
    assert!(
        now.contains("1 / 6") && now.contains("#1 …1111"),
        "at its first step: {now}"
    );
    shot(&b, "now-escalation-en").await;
    click_and_load(&b, "form[action='/ack'] button").await;
    let after = text(&b).await;
    assert!(after.contains("Nobody is being called"), "{after}");
    // Past the next check, no later step was placed: no second call, no "Nobody answered".
    tokio::time::sleep(Duration::from_secs(interval + 5)).await;
    let cards: Vec<String> = (w.slack.received_requests().await.unwrap().iter())
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .collect();
    assert_eq!(
        cards.iter().filter(|c| c.contains("Calling ")).count(),
        1,
        "{cards:?}"
    );
    assert!(
        !cards.iter().any(|c| c.contains("Nobody answered")),
        "{cards:?}"
    );
    assert!(
        !cards.iter().any(|c| c.contains("No answer from")),
        "{cards:?}"
    );
    b.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium, chromium-driver and the OIDC provider (scripts/test.sh)"]
async fn a_viewer_is_refused_an_action_and_an_outsider_the_pages() {
    let w = world(60).await;
    let base = w.serve.base.clone();
    fault(&w, "InvoiceBot", "33333333-0000-0000-0000-000000000001").await;
    let (_driver, b) = browser(&w.dir, "ja").await;
    sign_in(&b, &base, "vic@example.com").await;
    let now = until_page_says(&b, &format!("{base}/"), "InvoiceBot").await;
    assert!(
        now.contains("vic@example.com (viewer)") && now.contains("未解決の問題"),
        "{now}"
    );
    shot(&b, "now-ja").await;
    for (page, name) in [
        ("/history", "history"),
        ("/oncall", "oncall"),
        ("/routes", "routes"),
        ("/health", "health"),
    ] {
        b.goto(&format!("{base}{page}")).await.unwrap();
        shot(&b, &format!("{name}-ja")).await;
    }
    b.goto(&format!("{base}/silences")).await.unwrap();
    let field = b.find(Locator::Css("input[name=text]")).await.unwrap();
    field.send_keys("process=Invoice* for 1h").await.unwrap();
    click_and_load(&b, "button[name=preview]").await;
    shot(&b, "silences-preview-ja").await;
    click_and_load(&b, "button[name=save]").await;
    let refused = text(&b).await;
    assert!(
        refused.contains("対応者のみ"),
        "a viewer may not silence: {refused}"
    );
    b.close().await.unwrap();

    let (_driver, b) = browser(&w.dir, "en").await;
    sign_in(&b, &base, "eve@evil.test").await;
    let page = text(&b).await;
    assert!(
        page.contains("eve@evil.test may not see this console"),
        "{page}"
    );
    assert!(!page.contains("InvoiceBot"));
    b.goto(&format!("{base}/history")).await.unwrap();
    assert!(
        !text(&b).await.contains("InvoiceBot"),
        "no page without a session"
    );
    b.close().await.unwrap();
}
