use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::problem::Problems;
use crate::testing::{MemoryQueue, MemoryRecords};

const KEY: &str = "3f0c1a52-7d4e-4b8a-9c61-2d5e8f7a9b10";

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn checks(value: serde_json::Value) -> Result<Vec<Heartbeat>, Vec<String>> {
    let mut p = Problems::default();
    let checks = read(Some(value), chrono_tz::Asia::Tokyo, &mut p);
    match p.0.is_empty() {
        true => Ok(checks),
        false => Err(p.0.iter().map(|p| p.to_string()).collect()),
    }
}

fn hourly() -> Heartbeat {
    let c = json!([{ "name": "nightly", "key": KEY, "period": "1h", "grace": "30m" }]);
    checks(c).unwrap().remove(0)
}

fn states(events: &[Event]) -> Vec<State> {
    events.iter().map(|e| e.state).collect()
}

#[test]
fn a_check_goes_late_then_down_once_each_and_recovers_on_the_next_ping() {
    let c = hourly();
    // New: never pinged, never judged.
    let (row, events) = on_tick(&c, &Row::default(), t(600));
    assert_eq!((row.status, events.len()), (Status::New, 0));
    let (row, event) = on_ping(&c, &row, Ping::Success, "", t(0));
    assert_eq!((row.status, event), (Status::Up, None));
    assert!(on_tick(&c, &row, t(59)).1.is_empty());
    let (row, events) = on_tick(&c, &row, t(60));
    assert_eq!(
        (row.status, states(&events)),
        (Status::Late, vec![State::Late])
    );
    assert_eq!(on_tick(&c, &row, t(89)).1, vec![], "late is said once");
    let (row, events) = on_tick(&c, &row, t(90));
    assert_eq!(
        (row.status, states(&events)),
        (Status::Down, vec![State::Down])
    );
    assert!(on_tick(&c, &row, t(900)).1.is_empty(), "down is said once");
    let (row, event) = on_ping(&c, &row, Ping::Success, "done", t(901));
    let event = event.expect("a recovery");
    assert_eq!((row.status, event.state), (Status::Up, State::Up));
    assert_eq!(event.info.as_deref(), Some("done"));
    assert_eq!(event.source, Source::Heartbeat);
    assert_eq!(event.process, "nightly");
    // Unseen until long after: late and down at once, each keyed by the expected time.
    let (_, events) = on_tick(&c, &row, t(2000));
    assert_eq!(states(&events), [State::Late, State::Down]);
    assert_ne!(events[0].key, events[1].key);
    let expected = events[0].details.iter().find(|(k, _)| k == "Expected");
    assert_eq!(expected.unwrap().1, "2026-12-08 01:01:00 JST");
}

#[test]
fn a_failure_ping_is_down_at_once_and_an_exit_code_says_which() {
    let c = hourly();
    let up = on_ping(&c, &Row::default(), Ping::Success, "", t(0)).0;
    let (row, event) = on_ping(&c, &up, Ping::Exit(3), "Traceback: boom", t(5));
    let event = event.unwrap();
    assert_eq!((row.status, event.state), (Status::Down, State::Down));
    assert!(
        event
            .details
            .contains(&("Reported".into(), "exit code 3".into()))
    );
    assert_eq!(event.info.as_deref(), Some("Traceback: boom"));
    let (_, fail) = on_ping(&c, &up, Ping::Fail, "", t(5));
    assert!(
        fail.unwrap()
            .details
            .contains(&("Reported".into(), "failure".into()))
    );
    // Exit 0 is a success; the next success after a failure recovers.
    let (row, event) = on_ping(&c, &row, Ping::Exit(0), "", t(6));
    assert_eq!(
        (row.status, event.map(|e| e.state)),
        (Status::Up, Some(State::Up))
    );
    assert_eq!(on_ping(&c, &row, Ping::Success, "", t(7)).1, None);
}

#[test]
fn a_start_without_an_end_within_the_grace_ran_too_long_once() {
    let c = hourly();
    let up = on_ping(&c, &Row::default(), Ping::Success, "", t(0)).0;
    let (row, none) = on_ping(&c, &up, Ping::Start, "", t(10));
    assert_eq!(
        (row.status, none, row.started),
        (Status::Up, None, Some(t(10)))
    );
    assert!(on_tick(&c, &row, t(39)).1.is_empty());
    let (row, events) = on_tick(&c, &row, t(40));
    assert_eq!(states(&events), [State::Late]);
    assert!(events[0].details.iter().any(|(k, _)| k == "Running since"));
    assert_eq!(row.status, Status::Up, "running long is not overdue");
    assert!(on_tick(&c, &row, t(41)).1.is_empty(), "said once");
    // Its end clears it.
    let (row, _) = on_ping(&c, &row, Ping::Success, "", t(45));
    assert_eq!((row.started, row.long_reported), (None, None));
}

#[test]
fn a_cron_check_expects_its_next_time_in_its_zone_and_a_paused_one_is_not_judged() {
    let c = json!([
        { "name": "ml", "key": KEY, "cron": "30 2 * * *", "timezone": "Asia/Tokyo", "grace": "30m" },
        { "name": "off", "key": "aaaaaaaaaaaaaaaaaaaa", "period": "1m", "paused": true }
    ]);
    let [ml, off] = <[Heartbeat; 2]>::try_from(checks(c).unwrap()).unwrap();
    // 02:30 JST is 17:30 UTC the day before.
    let pinged = Utc.with_ymd_and_hms(2026, 12, 6, 17, 31, 0).unwrap();
    let next = ml.every.after(pinged).unwrap();
    assert_eq!(next, Utc.with_ymd_and_hms(2026, 12, 7, 17, 30, 0).unwrap());
    let up = on_ping(&ml, &Row::default(), Ping::Success, "", pinged).0;
    assert!(on_tick(&ml, &up, next - Duration::seconds(1)).1.is_empty());
    assert_eq!(states(&on_tick(&ml, &up, next).1), [State::Late]);
    let up = on_ping(&off, &Row::default(), Ping::Success, "", t(0)).0;
    assert!(on_tick(&off, &up, t(600)).1.is_empty());
}

#[test]
fn a_wrong_check_is_refused_at_its_path_and_never_with_its_key() {
    let short = "abc123";
    let problems = checks(json!([
        { "name": "a", "key": short, "period": "1h" },
        { "name": "b", "key": KEY },
        { "name": "c", "key": "bbbbbbbbbbbbbbbbbbbb", "cron": "61 * * * *" },
        { "name": "d", "key": "cccccccccccccccccccc", "period": "1h", "timezone": "Mars/Base" },
        { "name": "e", "key": "dddddddddddddddddddd", "period": "1h", "extra": 1 },
        { "name": "f", "key": KEY, "period": "1h" },
        { "name": "f", "key": "eeeeeeeeeeeeeeeeeeee", "period": "1h" },
        { "name": "g", "key": KEY, "period": "1h" }
    ]))
    .unwrap_err();
    let text = problems.join("\n");
    for at in [
        "heartbeats[0].key",
        "heartbeats[1]: needs one of period",
        "heartbeats[2].cron",
        "heartbeats[3].timezone",
        "heartbeats[4]",
        "heartbeats[6].name",
        "heartbeats[7].key: is another check's key",
    ] {
        assert!(text.contains(at), "{at} missing from:\n{text}");
    }
    assert!(!text.contains(short) && !text.contains(KEY), "{text}");
}

fn heartbeats(queue: Arc<MemoryQueue>) -> Heartbeats {
    let records = Arc::new(MemoryRecords::default());
    Heartbeats::new(vec![hourly()], records, queue)
}

#[tokio::test]
async fn a_ping_is_recorded_by_its_key_and_anything_else_is_refused_with_a_reason() {
    let queue = Arc::new(MemoryQueue::default());
    let hb = heartbeats(queue.clone());
    assert_eq!(hb.ping("not-a-key", b"", t(0)).await.status, 404);
    assert_eq!(
        hb.ping(&format!("{KEY}/explode"), b"", t(0)).await.status,
        400
    );
    assert_eq!(hb.ping(&format!("{KEY}/256"), b"", t(0)).await.status, 400);
    let ok = hb.ping(KEY, b"", t(0)).await;
    assert_eq!((ok.status, ok.body["status"].as_str()), (200, Some("up")));
    assert_eq!(hb.tick(t(61)).await.unwrap(), 1);
    assert_eq!(hb.tick(t(62)).await.unwrap(), 0);
    assert_eq!(hb.statuses().await[0].1, "late");
    // A long log: its tail is kept, the end where the error is.
    let log = format!("{}THE END", "x".repeat(20_000));
    let ok = hb.ping(&format!("{KEY}/1"), log.as_bytes(), t(63)).await;
    assert_eq!((ok.status, ok.body["status"].as_str()), (200, Some("down")));
    let events = queue.take();
    assert_eq!(states(&events), [State::Late, State::Down]);
    let info = events[1].info.as_deref().unwrap();
    assert!(
        info.ends_with("THE END") && info.len() == MAX_BODY,
        "{}",
        info.len()
    );
    // A queue that is down: the ping fails, so the pinger retries, and nothing is recorded.
    queue.set_down(true);
    assert_eq!(hb.ping(KEY, b"", t(64)).await.status, 503);
    assert_eq!(hb.statuses().await[0].1, "down");
    queue.set_down(false);
    assert_eq!(hb.ping(KEY, b"", t(65)).await.body["status"], "up");
    assert_eq!(states(&queue.take()), [State::Up]);
}
