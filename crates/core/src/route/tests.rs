use chrono::DateTime;

use serde_json::json;

use super::*;

fn event(state: State, process: &str) -> Event {
    Event::new(
        Source::Uipath,
        "",
        "k",
        state,
        process,
        DateTime::UNIX_EPOCH,
    )
}

#[test]
fn globs() {
    assert!(glob_match("Invoice*", "InvoiceDaily"));
    assert!(glob_match("*Daily", "InvoiceDaily"));
    assert!(glob_match("In*ce*ly", "InvoiceDaily"));
    assert!(glob_match("*", ""));
    assert!(glob_match("exact", "exact"));
    assert!(!glob_match("exact", "exactly"));
    assert!(!glob_match("a*a", "a"));
}

#[test]
fn targets_are_unique_and_filtered() {
    let routes = vec![
        Route::to("chat", vec![State::Faulted, State::Successful]),
        Route::to("tickets", vec![State::Faulted]),
        route(
            json!({"name": "billing", "channels": ["chat", "billing"], "sources": ["uipath"],
            "processes": ["Bill*"]}),
        ),
    ];
    assert_eq!(
        targets(&routes, &event(State::Faulted, "X")),
        ["chat", "tickets"]
    );
    assert_eq!(
        targets(&routes, &event(State::Successful, "Billing")),
        ["chat", "billing"]
    );
    assert!(targets(&routes, &event(State::Started, "X")).is_empty());
    let mut only = event(State::Faulted, "X");
    only.only_channels = vec!["tickets".into()];
    assert_eq!(targets(&routes, &only), ["tickets"]);
}

fn route(v: serde_json::Value) -> Route {
    serde_json::from_value(v).unwrap()
}

#[test]
fn folders_tenants_alarm_names_and_severity_match() {
    let mut job = event(State::Faulted, "Invoice");
    job.folder = Some("12".into());
    job.tenant = Some("Default".into());
    let mut alarm = event(State::Alarm, "Disk full on db-1");
    alarm.source = Source::Cloudwatch;
    alarm.folder = Some("ap-northeast-1".into());
    alarm.tenant = Some("123456789012".into());
    let finance = route(json!({"channels": ["f"], "folders": ["12", "13"]}));
    assert!(finance.matches(&job));
    assert!(
        !finance.matches(&event(State::Faulted, "Invoice")),
        "no folder: no match"
    );
    let tenant = route(json!({"channels": ["t"], "tenants": ["Def*"]}));
    assert!(tenant.matches(&job) && !tenant.matches(&alarm));
    let disks = route(json!({"channels": ["d"], "alarm_names": ["Disk full*"]}));
    assert!(disks.matches(&alarm));
    assert!(
        !disks.matches(&event(State::Faulted, "Disk full on db-1")),
        "a job is no alarm"
    );
    let critical = route(json!({"channels": ["c"], "severity": ["critical"]}));
    assert!(critical.matches(&job) && critical.matches(&alarm));
    assert!(!critical.matches(&event(State::Stopped, "X")));
    assert_eq!(
        route(json!({"channels": ["x"], "severity": ["critical"], "folders": ["12"], "alarm_names": ["Disk*"]})).matchers.describe(),
        "severity=critical folder=12 alarm=Disk*"
    );
    let unknown = serde_json::from_value::<Route>(json!({"channels": ["x"], "folder": ["12"]}));
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `folder`")
    );
}

#[test]
fn a_channel_is_muted_only_when_every_route_to_it_is() {
    let intervals: BTreeMap<String, TimeInterval> = serde_json::from_value::<Vec<intervals::NamedInterval>>(json!([
        {"name": "nights", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "07:00"}], "location": "Asia/Tokyo"}]},
        {"name": "holidays", "time_intervals": [{"jp_holidays": true, "location": "Asia/Tokyo"}]}
    ]))
    .unwrap()
    .into_iter()
    .map(|n| (n.name, TimeInterval { periods: n.time_intervals }))
    .collect();
    let routes = vec![
        route(json!({"channels": ["chat"], "mute_time_intervals": ["nights", "holidays"]})),
        route(
            json!({"channels": ["chat", "phone"], "states": ["alarm"], "active_time_intervals": ["nights"]}),
        ),
    ];
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let faulted = event(State::Faulted, "X");
    let night = at("2026-12-01T16:00:00Z"); // 01:00 JST on a Wednesday
    let day = at("2026-12-02T03:00:00Z"); // 12:00 JST
    let holiday = at("2026-09-22T03:00:00Z"); // 国民の休日, 12:00 JST
    assert_eq!(decide(&routes, &intervals, &faulted, day), [("chat", None)]);
    assert_eq!(
        decide(&routes, &intervals, &faulted, night),
        [("chat", Some("muted by time interval nights".to_string()))]
    );
    assert_eq!(
        decide(&routes, &intervals, &faulted, holiday),
        [("chat", Some("muted by time interval holidays".to_string()))]
    );
    let mut alarm = event(State::Alarm, "X");
    alarm.source = Source::Cloudwatch;
    assert_eq!(
        decide(&routes, &intervals, &alarm, night),
        [("chat", None), ("phone", None)],
        "a second route that is active at night sends"
    );
    assert_eq!(
        decide(&routes, &intervals, &alarm, day),
        [
            ("chat", None),
            (
                "phone",
                Some("outside active time interval nights".to_string())
            )
        ]
    );
}
