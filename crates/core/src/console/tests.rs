//! The console over in-memory ports: who may read and act, CSRF, what Now, History, the
//! silence preview and On call show, and that no secret or full number reaches a page.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::session::{Login, Role, Sessions};
use super::*;
use crate::event::{Event, Source, State};
use crate::ports::Records;
use crate::state::{Call, Fate, History, Incident, RecentIncident, Status, Told};
use crate::testing::{ManualClock, MemoryRecords};

const SLACK_URL: &str = "https://hooks.slack.com/services/T000/B000/very-secret-token";

fn at() -> DateTime<Utc> {
    "2026-12-06T03:00:00Z".parse().unwrap()
}

struct Fixture {
    console: Console,
    records: Arc<MemoryRecords>,
}

fn fixture(login: Login, oncall: Option<Oncall>) -> Fixture {
    let config = serde_json::json!({
        "language": "en",
        "timezone": "Asia/Tokyo",
        "channels": {
            "ops": { "type": "console" },
            "ops-slack": { "type": "slack", "webhook_url": SLACK_URL }
        },
        "routes": [ { "channels": ["ops", "ops-slack"], "states": ["faulted", "successful"] } ]
    });
    let config = Config::from_value(config).unwrap();
    let records = Arc::new(MemoryRecords::default());
    let console = Console {
        config: Arc::new(config),
        records: records.clone(),
        clock: Arc::new(ManualClock::at(at())),
        oncall,
        dead: None,
        base: String::new(),
        sessions: Sessions::new(vec![9; 32], login, false),
        oidc: None,
        silence_max: Duration::days(30),
    };
    Fixture { console, records }
}

fn event(process: &str, job: &str, state: State, occurred: DateTime<Utc>) -> Event {
    let mut e = Event::new(Source::Uipath, "1/7", job, state, process, occurred);
    e.folder = Some("7".into());
    e
}

async fn note(records: &dyn Records, e: &Event, fate: Fate) {
    let told = [(
        "ops".to_string(),
        Told {
            fate,
            detail: "printed".into(),
            at: e.occurred_at,
        },
    )];
    History::note(records, e, &told, e.occurred_at)
        .await
        .unwrap();
}

impl Fixture {
    fn cookie(&self, who: &str, role: Role) -> (String, String) {
        let s = self.console.sessions.issue(who, role, at());
        let cookie = self.console.sessions.cookie(&s);
        let cookie = cookie.split(';').next().unwrap().to_string();
        (cookie, self.console.sessions.csrf(&s))
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let request = Request {
            path: path.into(),
            query: query.into(),
            cookie: cookie.map(str::to_string),
            ..Request::default()
        };
        self.console.handle(&request).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
        let request = Request {
            post: true,
            path: path.into(),
            body: serde_urlencoded::to_string(form).unwrap(),
            cookie: Some(cookie.into()),
            ..Request::default()
        };
        self.console.handle(&request).await
    }
}

#[tokio::test]
async fn an_outsider_without_a_valid_session_is_refused_every_page() {
    let f = fixture(Login::Required, None);
    for path in [
        "/",
        "/history",
        "/silences",
        "/routes",
        "/health",
        "/oncall",
    ] {
        assert_eq!(f.get(path, None).await.status, 401, "{path}");
    }
    let other = Sessions::new(vec![1; 32], Login::Required, false).issue(
        "eve@evil.test",
        Role::Responder,
        at(),
    );
    let forged = Sessions::new(vec![1; 32], Login::Required, false).cookie(&other);
    assert_eq!(
        f.get("/", Some(&forged)).await.status,
        401,
        "signed with another key"
    );
}

#[tokio::test]
async fn a_viewer_reads_and_previews_but_may_not_act() {
    let f = fixture(Login::Required, None);
    let (cookie, csrf) = f.cookie("vic@example.com", Role::Viewer);
    let now = f.get("/", Some(&cookie)).await;
    assert_eq!(now.status, 200);
    assert!(now.body.contains("vic@example.com (viewer)"));
    let preview = f
        .post(
            "/silences",
            &cookie,
            &[
                ("csrf", &csrf),
                ("text", "process=Invoice* for 2h"),
                ("preview", "1"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200, "a preview changes nothing");
    for (path, form) in [
        (
            "/silences",
            vec![
                ("csrf", csrf.as_str()),
                ("text", "process=Invoice* for 2h"),
                ("save", "1"),
            ],
        ),
        ("/ack", vec![("csrf", csrf.as_str()), ("incident", "x")]),
        (
            "/silences/expire",
            vec![("csrf", csrf.as_str()), ("id", "x")],
        ),
        ("/redrive", vec![("csrf", csrf.as_str())]),
    ] {
        let reply = f.post(path, &cookie, &form).await;
        assert_eq!(reply.status, 403, "{path}");
        assert!(reply.body.contains("only responders"), "{}", reply.body);
    }
    assert!(
        f.records
            .list_records("SILENCE#ALL")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_post_without_its_sessions_csrf_token_is_refused() {
    let f = fixture(Login::Required, None);
    let (cookie, csrf) = f.cookie("ana@example.com", Role::Responder);
    let (_, others) = f.cookie("bob@example.com", Role::Responder);
    let save = |token: &'static str| {
        vec![
            ("csrf", token),
            ("text", "process=Invoice* for 2h deploy"),
            ("save", "1"),
        ]
    };
    assert_eq!(
        f.post("/silences", &cookie, &save("")[1..]).await.status,
        403,
        "no token"
    );
    let forged = f
        .post(
            "/silences",
            &cookie,
            &[
                ("csrf", &others),
                ("text", "process=x for 1h"),
                ("save", "1"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "another session's token");
    assert!(
        f.records
            .list_records("SILENCE#ALL")
            .await
            .unwrap()
            .is_empty()
    );

    let saved = f
        .post(
            "/silences",
            &cookie,
            &[
                ("csrf", &csrf),
                ("text", "process=Invoice* for 2h deploy"),
                ("save", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let stored = crate::silence::Silence::all(f.records.as_ref(), at())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].created_by.as_str(), stored[0].comment.as_str()),
        ("ana@example.com", "deploy")
    );
    assert_eq!(stored[0].ends_at - stored[0].starts_at, Duration::hours(2));
    let too_long = f
        .post(
            "/silences",
            &cookie,
            &[
                ("csrf", &csrf),
                ("text", "process=x for 60d"),
                ("save", "1"),
            ],
        )
        .await;
    assert_eq!(too_long.status, 400, "the same maximum as chat");
    assert!(too_long.body.contains("longer than a silence may be"));

    let expired = f
        .post(
            "/silences/expire",
            &cookie,
            &[("csrf", &csrf), ("id", &stored[0].id)],
        )
        .await;
    assert_eq!(expired.status, 303);
    let stored = crate::silence::Silence::all(f.records.as_ref(), at())
        .await
        .unwrap();
    assert!(!stored[0].is_active(at()));
}

#[tokio::test]
async fn now_lists_a_problem_until_its_recovery_and_history_pages_through_days() {
    let f = fixture(
        Login::Loopback {
            who: "me@localhost".into(),
        },
        None,
    );
    let records = f.records.as_ref();
    note(
        records,
        &event(
            "InvoiceBot",
            "j1",
            State::Faulted,
            at() - Duration::hours(3),
        ),
        Fate::Delivered,
    )
    .await;
    note(
        records,
        &event(
            "<b>Payroll</b>",
            "j2",
            State::Faulted,
            at() - Duration::hours(2),
        ),
        Fate::Retrying,
    )
    .await;
    note(
        records,
        &event(
            "InvoiceBot",
            "j3",
            State::Successful,
            at() - Duration::hours(1),
        ),
        Fate::Delivered,
    )
    .await;
    let now = f.get("/", None).await;
    assert!(
        now.body.contains("&lt;b&gt;Payroll&lt;/b&gt;"),
        "text from robots is escaped"
    );
    assert!(
        !now.body.contains("InvoiceBot"),
        "recovered by its later success"
    );

    // 3 days × 70 events, every third faulted.
    let mut faulted = 0;
    for n in 0..210 {
        let state = if n % 3 == 0 {
            State::Faulted
        } else {
            State::Successful
        };
        faulted += usize::from(state == State::Faulted);
        let e = event(
            &format!("P{n}"),
            &format!("k{n}"),
            state,
            at() - Duration::minutes(n * 30),
        );
        note(records, &e, Fate::Delivered).await;
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut next = Some("/history?state=faulted&process=P".to_string());
    let mut pages = 0;
    while let Some(path) = next.take() {
        let page = f.get(&path, None).await;
        assert_eq!(page.status, 200);
        pages += 1;
        for name in page.body.split("\">P").skip(1) {
            let name = name.split('<').next().unwrap().to_string();
            assert!(seen.insert(name.clone()), "P{name} shown twice");
        }
        next = page
            .body
            .split("href=\"")
            .find(|s| s.starts_with("/history?"))
            .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"));
    }
    assert_eq!(
        seen.len(),
        faulted,
        "every faulted event once, over {pages} pages"
    );
    assert!(pages >= 2);
}

#[tokio::test]
async fn the_silence_preview_shows_the_events_it_would_have_held() {
    let f = fixture(
        Login::Loopback {
            who: "me@localhost".into(),
        },
        None,
    );
    let records = f.records.as_ref();
    note(
        records,
        &event(
            "InvoiceBot",
            "j1",
            State::Faulted,
            at() - Duration::hours(3),
        ),
        Fate::Delivered,
    )
    .await;
    note(
        records,
        &event("Payroll", "j2", State::Faulted, at() - Duration::hours(2)),
        Fate::Delivered,
    )
    .await;
    let (cookie, csrf) = f.cookie("me@localhost", Role::Responder);
    let preview = f
        .post(
            "/silences",
            &cookie,
            &[
                ("csrf", &csrf),
                ("text", "process=Invoice* for 2h"),
                ("preview", "1"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200);
    assert!(
        preview.body.contains("InvoiceBot") && !preview.body.contains("Payroll"),
        "{}",
        preview.body
    );
    assert!(
        f.records
            .list_records("SILENCE#ALL")
            .await
            .unwrap()
            .is_empty(),
        "a preview saves nothing"
    );
}

#[tokio::test]
async fn an_ack_from_the_console_stops_the_escalation_and_says_who() {
    let f = fixture(
        Login::Loopback {
            who: "me@localhost".into(),
        },
        None,
    );
    let records = f.records.as_ref();
    let call = |n: &str| Call {
        round: 1,
        group: "group1".into(),
        number: n.into(),
    };
    let incident = Incident {
        id: "uipath::j1:faulted".into(),
        created_at: at() - Duration::minutes(1),
        message: "m".into(),
        title: "InvoiceBot".into(),
        calls: vec![call("+81312345678"), call("+81398765432")],
        step: 0,
        contacts: vec![],
        status: Status::Calling,
        dry_run: true,
    };
    incident.save(records, at()).await.unwrap();
    RecentIncident {
        at: at(),
        id: incident.id.clone(),
        title: "InvoiceBot".into(),
    }
    .save(records)
    .await
    .unwrap();
    let now = f.get("/", None).await;
    assert!(now.body.contains("group1 …5678"), "masked: {}", now.body);
    assert!(!now.body.contains("+81312345678"));
    let (cookie, csrf) = f.cookie("ana@example.com", Role::Responder);
    let acked = f
        .post(
            "/ack",
            &cookie,
            &[("csrf", &csrf), ("incident", &incident.id)],
        )
        .await;
    assert_eq!(acked.status, 303);
    let stored = Incident::load(records, &incident.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        Status::Acked {
            by: "ana@example.com".into()
        }
    );
    assert!(
        f.get("/", None)
            .await
            .body
            .contains("Nobody is being called")
    );
}

#[tokio::test]
async fn no_page_shows_a_secret_or_a_whole_number() {
    let dir = tempfile::tempdir().unwrap();
    let rotation = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samplejson/lambda-connect-rotation-new-format.json"
    ))
    .unwrap();
    std::fs::write(dir.path().join("phoneNumber.json"), rotation).unwrap();
    let env = vec![(
        "ONCALL_FILES_DIR".to_string(),
        dir.path().display().to_string(),
    )];
    let settings = crate::oncall::settings::OncallSettings::from_env(&env).unwrap();
    let files = Arc::new(crate::escalation::trigger::DirFiles(dir.path().into()));
    let f = fixture(
        Login::Loopback {
            who: "me@localhost".into(),
        },
        Some(Oncall { settings, files }),
    );
    let e = event(
        "InvoiceBot",
        "j1",
        State::Faulted,
        at() - Duration::hours(1),
    );
    note(f.records.as_ref(), &e, Fate::Delivered).await;
    let id = super::history::encode(&History::id(&e, at()));
    let mut pages = String::new();
    for path in [
        "/",
        "/history",
        "/routes",
        "/health",
        "/silences",
        "/oncall",
        &format!("/event?id={id}"),
    ] {
        let reply = f.get(path, None).await;
        assert_eq!(reply.status, 200, "{path}");
        pages.push_str(&reply.body);
    }
    assert!(
        pages.contains("What the channel got"),
        "the event page renders each channel's message"
    );
    assert!(!pages.contains("very-secret-token") && !pages.contains("hooks.slack.com"));
    assert!(
        pages.contains("…1111") && !pages.contains("+11111111111"),
        "numbers are masked"
    );
    let oncall = f.get("/oncall", Some("x")).await.body;
    assert!(
        oncall.contains("group") || oncall.contains("#1"),
        "{oncall}"
    );
}

#[tokio::test]
async fn pages_speak_the_browsers_language() {
    let f = fixture(
        Login::Loopback {
            who: "me@localhost".into(),
        },
        None,
    );
    let request = Request {
        path: "/".into(),
        accept_language: Some("ja,en;q=0.8".into()),
        ..Request::default()
    };
    let page = f.console.handle(&request).await.body;
    assert!(
        page.contains("lang=\"ja\"") && page.contains("未解決の問題"),
        "{page}"
    );
}
