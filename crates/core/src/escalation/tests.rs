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
    assert!(w.events.take().is_empty(), "answered: nothing to tell");
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
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].source, events[0].state),
        (Source::Oncall, State::Alarm)
    );
    assert!(
        events[0]
            .info
            .as_deref()
            .unwrap()
            .starts_with("Nobody answered. Called 3 time(s)")
    );
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
