//! The state machine with in-memory ports.

use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::testing::{MemoryChecks, MemoryQueue, MemoryRecords};

/// Answers on the call whose number is `answer_on`; records every dial.
#[derive(Default)]
struct FakeDialer {
    dials: Mutex<Vec<(String, String)>>,
    answer_on: Option<String>,
}

#[async_trait]
impl Dialer for FakeDialer {
    async fn dial(
        &self,
        number: &str,
        _message: &str,
        token: &str,
    ) -> Result<String, EscalationError> {
        if number == "+10000000000" {
            return Err(EscalationError::Dial(
                "DestinationNotAllowedException".into(),
            ));
        }
        self.dials
            .lock()
            .unwrap()
            .push((number.into(), token.into()));
        Ok(format!("contact-{number}"))
    }

    async fn answered(&self, contact: &str) -> Result<bool, EscalationError> {
        Ok(self
            .answer_on
            .as_ref()
            .is_some_and(|n| contact == format!("contact-{n}")))
    }
}

fn calls(numbers: &[&str]) -> Vec<Call> {
    numbers
        .iter()
        .map(|n| Call {
            round: 1,
            group: "#1".into(),
            number: n.to_string(),
        })
        .collect()
}

struct World {
    records: MemoryRecords,
    dialer: FakeDialer,
    checks: MemoryChecks,
    events: MemoryQueue,
}

impl World {
    fn new(answer_on: Option<&str>) -> World {
        World {
            records: MemoryRecords::default(),
            dialer: FakeDialer {
                answer_on: answer_on.map(String::from),
                ..FakeDialer::default()
            },
            checks: MemoryChecks::default(),
            events: MemoryQueue::default(),
        }
    }

    fn escalation(&self, dry_run: bool) -> Escalation<'_> {
        Escalation {
            records: &self.records,
            dialer: &self.dialer,
            checks: &self.checks,
            events: &self.events,
            interval: Duration::from_secs(60),
            dry_run,
        }
    }

    /// Delivers every scheduled check until none is left, like the check queue would.
    async fn run_checks(&self, e: &Escalation<'_>) -> Vec<Outcome> {
        let mut out = Vec::new();
        loop {
            let next = { self.checks.0.lock().unwrap().drain(..).next() };
            let Some((check, _)) = next else { return out };
            out.push(e.check(&check, Utc::now()).await.unwrap());
        }
    }

    fn dialed(&self) -> Vec<String> {
        self.dialer
            .dials
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }
}

#[tokio::test]
async fn calls_in_order_until_someone_answers() {
    let w = World::new(Some("+815000000003"));
    let e = w.escalation(false);
    let plan = calls(&[
        "+815000000001",
        "+815000000002",
        "+815000000003",
        "+815000000004",
    ]);
    let first = e
        .start("msg-1", "DB down", "DB down", plan, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        first,
        Outcome::Called {
            step: 0,
            number: "+815000000001".into()
        }
    );
    assert_eq!(
        w.checks.0.lock().unwrap()[0].1,
        Duration::from_secs(60),
        "the check waits the interval"
    );
    let outcomes = w.run_checks(&e).await;
    assert_eq!(
        outcomes.last().unwrap(),
        &Outcome::Answered {
            number: "+815000000003".into()
        }
    );
    assert_eq!(
        w.dialed(),
        ["+815000000001", "+815000000002", "+815000000003"]
    );
    let tokens: Vec<String> = w
        .dialer
        .dials
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(tokens[1], client_token("msg-1", 1));
    let short = short_id("msg-1");
    assert_eq!(
        told(&w),
        [
            (
                "msg-1#start".to_string(),
                format!(
                    "Calling #1 (…0001, …0002, …0003, …0004) for DB down — reply `ack {short}` to stop."
                )
            ),
            (
                "msg-1#step0".into(),
                "No answer from …0001; calling …0002 (#1).".into()
            ),
            (
                "msg-1#step1".into(),
                "No answer from …0002; calling …0003 (#1).".into()
            ),
            (
                "msg-1#answered".into(),
                "Answered by …0003 — the escalation ends.".into()
            ),
        ],
        "chat hears each step, in order"
    );
}

#[tokio::test]
async fn duplicate_deliveries_and_stale_checks_never_dial_twice() {
    let w = World::new(None);
    let e = w.escalation(false);
    e.start(
        "msg-2",
        "t",
        "m",
        calls(&["+815000000001", "+815000000002"]),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(
        e.start(
            "msg-2",
            "t",
            "m",
            calls(&["+815000000001"]),
            None,
            Utc::now()
        )
        .await
        .unwrap(),
        Outcome::Ignored
    );
    let check = w.checks.0.lock().unwrap()[0].0.clone();
    e.check(&check, Utc::now()).await.unwrap();
    assert_eq!(
        e.check(&check, Utc::now()).await.unwrap(),
        Outcome::Ignored,
        "a redelivered check"
    );
    assert_eq!(w.dialed(), ["+815000000001", "+815000000002"]);
}

#[tokio::test]
async fn an_ack_between_steps_stops_the_escalation() {
    let w = World::new(None);
    let e = w.escalation(false);
    e.start(
        "msg-3",
        "t",
        "m",
        calls(&["+815000000001", "+815000000002"]),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(e.ack("msg-3", "users/42", Utc::now()).await.unwrap());
    assert_eq!(w.run_checks(&e).await, [Outcome::Ignored]);
    assert_eq!(w.dialed(), ["+815000000001"]);
    assert!(
        !e.ack("msg-3", "users/42", Utc::now()).await.unwrap(),
        "acked once"
    );
}

#[tokio::test]
async fn nobody_answering_reaches_the_fallback_then_chat() {
    let w = World::new(None);
    let e = w.escalation(false);
    let mut plan = calls(&["+815000000001", "+10000000000"]);
    plan.push(Call {
        round: 0,
        group: "fallback".into(),
        number: "+815099999999".into(),
    });
    e.start(
        "msg-4",
        "Disk full",
        "Disk full on db-1",
        plan,
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    let outcomes = w.run_checks(&e).await;
    assert_eq!(outcomes.last().unwrap(), &Outcome::Exhausted);
    assert_eq!(
        w.dialed(),
        ["+815000000001", "+815099999999"],
        "a number that cannot be dialled is skipped"
    );
    let events = w.events.take();
    assert!(
        events
            .iter()
            .all(|e| e.source == Source::Oncall && e.origin_id.as_deref() == Some("msg-4"))
    );
    let told: Vec<(String, State, String)> = events
        .iter()
        .map(|e| (e.key.to_string(), e.state, e.info.clone().unwrap()))
        .collect();
    let short = short_id("msg-4");
    assert_eq!(
        told,
        [
            (
                "oncall::msg-4#start:alarm".into(),
                State::Alarm,
                format!("Calling #1 (…0001, …0000) for Disk full — reply `ack {short}` to stop.")
            ),
            (
                "oncall::msg-4#step0:alarm".into(),
                State::Alarm,
                "No answer from …0001; calling …0000 (#1).".into()
            ),
            (
                "oncall::msg-4#step1:alarm".into(),
                State::Alarm,
                "Could not call …0000; nobody answered, calling the fallback …9999.".into()
            ),
            (
                "oncall::msg-4:alarm".into(),
                State::Alarm,
                "Nobody answered. Called 3 time(s): …0001, …0000, …9999\nDisk full on db-1".into()
            ),
        ]
    );
}

/// (event subject, what chat is told) of every message so far.
fn told(w: &World) -> Vec<(String, String)> {
    w.events
        .take()
        .iter()
        .map(|e| {
            let subject = e.key.as_str().trim_start_matches("oncall::");
            let subject = subject.rsplit_once(':').unwrap().0.to_string();
            (subject, e.info.clone().unwrap())
        })
        .collect()
}

/// Every way an ack can interleave with a check that is running: before it reads the incident,
/// between that read and the one right before its dial, between the dial and the save, after
/// it. The ack wins each time: the incident ends acknowledged, and no call is placed after the
/// ack was recorded.
#[tokio::test]
async fn an_ack_racing_a_check_always_wins() {
    for at in 0..4 {
        let w = World::new(None);
        let records = Racing {
            inner: &w.records,
            dials: &w.dialer.dials,
            ops: Mutex::new(usize::MAX),
            at,
            dials_at_ack: Mutex::new(None),
        };
        let e = Escalation {
            records: &records,
            ..w.escalation(false)
        };
        let plan = calls(&["+815000000001", "+815000000002", "+815000000003"]);
        e.start("race", "t", "m", plan, None, Utc::now())
            .await
            .unwrap();
        *records.ops.lock().unwrap() = 0;
        w.run_checks(&e).await;
        let at_ack = records.dials_at_ack.lock().unwrap().expect("the ack ran");
        let incident = Incident::load(&w.records, "race").await.unwrap().unwrap();
        assert_eq!(
            incident.status,
            Status::Acked {
                by: "users/1".into()
            },
            "interleaving {at}"
        );
        assert_eq!(
            w.dialed().len(),
            at_ack,
            "interleaving {at}: a dial after the ack"
        );
    }
}

/// Records that run an `ack` right before their `at`-th operation, as a chat reply landing at
/// that moment would, and note how many calls had been placed by then.
struct Racing<'a> {
    inner: &'a MemoryRecords,
    dials: &'a Mutex<Vec<(String, String)>>,
    ops: Mutex<usize>,
    at: usize,
    dials_at_ack: Mutex<Option<usize>>,
}

impl Racing<'_> {
    async fn before_op(&self) {
        let n = {
            let mut ops = self.ops.lock().unwrap();
            let n = *ops;
            *ops = ops.saturating_add(1);
            n
        };
        if n == self.at {
            *self.dials_at_ack.lock().unwrap() = Some(self.dials.lock().unwrap().len());
            assert!(
                ack(self.inner, "race", "users/1", Utc::now())
                    .await
                    .unwrap()
                    .is_some()
            );
        }
    }
}

#[async_trait]
impl Records for Racing<'_> {
    async fn get_record(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<serde_json::Value>, crate::ports::StoreError> {
        self.before_op().await;
        self.inner.get_record(pk, sk).await
    }
    async fn put_record(
        &self,
        pk: &str,
        sk: &str,
        body: &serde_json::Value,
        e: Option<DateTime<Utc>>,
    ) -> Result<(), crate::ports::StoreError> {
        self.before_op().await;
        self.inner.put_record(pk, sk, body, e).await
    }
    async fn swap_record(
        &self,
        pk: &str,
        sk: &str,
        expected: Option<&serde_json::Value>,
        body: &serde_json::Value,
        e: Option<DateTime<Utc>>,
    ) -> Result<bool, crate::ports::StoreError> {
        self.before_op().await;
        self.inner.swap_record(pk, sk, expected, body, e).await
    }
    async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), crate::ports::StoreError> {
        self.inner.delete_record(pk, sk).await
    }
    async fn list_records(
        &self,
        pk: &str,
    ) -> Result<Vec<(String, serde_json::Value)>, crate::ports::StoreError> {
        self.inner.list_records(pk).await
    }
}

#[tokio::test]
async fn a_retry_after_a_crash_mid_step_reuses_the_step_token() {
    let w = World::new(None);
    let e = w.escalation(false);
    e.start(
        "msg-5",
        "t",
        "m",
        calls(&["+815000000001", "+815000000002"]),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    // The check for step 0 runs, then the invocation dies before its check message is sent:
    // SQS redelivers step 0's check, and step 1 is dialled again with the same token.
    let check = w.checks.0.lock().unwrap().remove(0).0;
    e.check(&check, Utc::now()).await.unwrap();
    let crate::state::Key { pk, sk } = Incident::key("msg-5");
    let mut stored: Incident =
        serde_json::from_value(w.records.get_record(&pk, &sk).await.unwrap().unwrap()).unwrap();
    stored.step = 0;
    stored.contacts[1] = None;
    w.records
        .put_record(&pk, &sk, &serde_json::to_value(&stored).unwrap(), None)
        .await
        .unwrap();
    e.check(&check, Utc::now()).await.unwrap();
    let dials = w.dialer.dials.lock().unwrap().clone();
    assert_eq!(dials.len(), 3);
    assert_eq!(
        dials[1].1, dials[2].1,
        "same ClientToken: Connect returns the same call"
    );
}

#[tokio::test]
async fn a_dry_run_plans_and_tells_but_never_dials() {
    let w = World::new(None);
    let e = w.escalation(true);
    e.start(
        "msg-6",
        "t",
        "m",
        calls(&["+815000000001", "+815000000002"]),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(w.run_checks(&e).await.last().unwrap(), &Outcome::Exhausted);
    assert!(w.dialed().is_empty());
    let events = w.events.take();
    assert!(
        events[0]
            .info
            .as_deref()
            .unwrap()
            .starts_with("Dry run: would call +815000000001 (#1), +815000000002 (#1)")
    );
}

/// Connect refuses opsbell itself: nobody can be called by this configuration.
struct MisconfiguredDialer;

#[async_trait]
impl Dialer for MisconfiguredDialer {
    async fn dial(&self, _: &str, _: &str, _: &str) -> Result<String, EscalationError> {
        Err(EscalationError::Config(
            "ResourceNotFoundException: contact flow not found".into(),
        ))
    }

    async fn answered(&self, _: &str) -> Result<bool, EscalationError> {
        Ok(false)
    }
}

#[tokio::test]
async fn a_connect_configuration_error_stops_the_escalation_loudly_instead_of_burning_the_plan() {
    let w = World::new(None);
    let e = Escalation {
        dialer: &MisconfiguredDialer,
        ..w.escalation(false)
    };
    let plan = calls(&["+815000000001", "+815000000002", "+815000000003"]);
    let started = e
        .start("msg-9", "DB down", "DB down", plan, None, Utc::now())
        .await;
    assert!(
        matches!(started, Err(EscalationError::Config(_))),
        "{started:?}"
    );
    assert!(
        w.checks.0.lock().unwrap().is_empty(),
        "no step was skipped to the next number"
    );
    assert!(
        Incident::load(&w.records, "msg-9").await.unwrap().is_none(),
        "not saved: the alarm's retry starts the same step again"
    );
    let told = told(&w);
    assert!(
        told.iter().any(|(s, t)| s == "msg-9#config0"
            && t.contains("Cannot place phone calls")
            && t.contains("contact flow not found")),
        "{told:?}"
    );
}

/// The rotation file cannot be read now (S3 answered 503).
struct Unreadable;

#[async_trait]
impl crate::ports::Files for Unreadable {
    async fn read(&self, name: &str) -> Result<Vec<u8>, crate::ports::FileError> {
        Err(crate::ports::FileError::Unavailable(format!(
            "{name}: HTTP 503 SlowDown"
        )))
    }
}

#[tokio::test]
async fn a_failed_rotation_read_is_retried_not_planned_around() {
    let w = World::new(None);
    let e = w.escalation(false);
    let settings = crate::oncall::settings::OncallSettings {
        bucket: Some("rotations".into()),
        files_dir: None,
        rotation_file: "phone_number.json".into(),
        mapping_file: None,
        message: "Alarm".into(),
        speak_details: false,
        plan: crate::oncall::plan::PlanOptions {
            fallback: Some("+819099999999".into()),
            ..Default::default()
        },
        interval: Duration::from_secs(60),
        dry_run: false,
        connect: None,
    };
    let start = crate::ports::Start {
        id: "msg-10".into(),
        title: "DB down".into(),
        message: "DB down".into(),
        topic: None,
    };
    let outcome = e
        .start_for(&start, &settings, &Unreadable, Utc::now())
        .await;
    assert!(
        matches!(&outcome, Err(EscalationError::Files(e)) if e.contains("503")),
        "{outcome:?}"
    );
    assert!(w.dialed().is_empty(), "the fallback alone is not called");
    assert!(
        Incident::load(&w.records, "msg-10")
            .await
            .unwrap()
            .is_none()
    );
}
