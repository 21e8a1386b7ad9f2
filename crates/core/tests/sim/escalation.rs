//! The escalation under the simulation: the real [`Escalation`] (start, checks, acks) over the
//! simulated state table, with an Amazon Connect that throttles, answers 5xx, times out after it
//! placed the call, refuses opsbell's configuration for a while, and callees who are
//! unreachable or do not answer. Its invocations are SQS messages: one that fails or dies is
//! received again after the visibility time-out (the DLQ and a redrive are the same thing,
//! later). Connect places one call per `ClientToken`, as it documents (a token is good for
//! 7 days).
//!
//! The oracle, from the scenario alone: the phones that ring are the plan's reachable callees
//! in order, each once, up to the first who answers (or all of them, then "nobody answered");
//! an ack stops it, with at most the call already placed after it; a configuration error rings
//! nobody, skips nobody and is told in chat.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use opsbell_core::escalation::{Escalation, ack};
use opsbell_core::ports::Clock;
use opsbell_core::ports::{Check, CheckQueue, Dialer, EscalationError};
use opsbell_core::state::{Call, Incident, Status};
use opsbell_core::testing::{MemoryQueue, MemoryRecords};

use crate::world::{Faults, SimClock, SimRecords};

const VISIBILITY: Duration = Duration::from_secs(360);
const INCIDENT: &str = "alarm-1";

/// One callee of the plan.
#[derive(Debug, Clone, Copy)]
pub struct Callee {
    pub reachable: bool,
    pub answers: bool,
}

pub struct Plan {
    pub callees: Vec<Callee>,
    /// Connect refuses opsbell's configuration (access denied, a wrong flow) until then.
    pub misconfigured_until: Option<Duration>,
    /// Someone sends `ack` then.
    pub ack_at: Option<Duration>,
}

pub fn plan(rng: &mut fastrand::Rng) -> Plan {
    let callees = (0..rng.usize(1..6))
        .map(|_| Callee {
            reachable: rng.u8(0..7) != 0,
            answers: rng.u8(0..3) == 0,
        })
        .collect();
    Plan {
        callees,
        misconfigured_until: (rng.u8(0..3) == 0).then(|| Duration::from_secs(rng.u64(1..7200))),
        ack_at: (rng.u8(0..4) == 0).then(|| Duration::from_secs(rng.u64(0..3600))),
    }
}

fn number(step: usize) -> String {
    format!("+8190000000{step}")
}

/// Amazon Connect as the escalation sees it.
struct Connect<'a> {
    plan: &'a Plan,
    faults: &'static Faults,
    start: Instant,
    /// Number → step, for every step of the plan.
    steps: BTreeMap<String, usize>,
    /// The `ClientToken`s of the calls placed: a token seen before places no call.
    tokens: Mutex<BTreeSet<String>>,
    /// The steps whose phone rang, in order (one entry per placed call).
    rang: Mutex<Vec<usize>>,
    /// Config errors answered.
    refused: Mutex<usize>,
}

#[async_trait]
impl Dialer for Connect<'_> {
    async fn dial(&self, number: &str, _: &str, token: &str) -> Result<String, EscalationError> {
        let step = self.steps[number];
        let contact = format!("contact-{step}");
        if self
            .plan
            .misconfigured_until
            .is_some_and(|t| self.start.elapsed() < t)
        {
            *self.refused.lock().unwrap() += 1;
            return Err(EscalationError::Config("AccessDeniedException".into()));
        }
        if self.faults.chance(self.faults.vendor) {
            return Err(EscalationError::Unavailable("ThrottlingException".into()));
        }
        if !self.plan.callees[step].reachable {
            return Err(EscalationError::Dial(
                "DestinationNotAllowedException".into(),
            ));
        }
        let placed = !self.tokens.lock().unwrap().insert(token.to_string());
        if !placed {
            self.rang.lock().unwrap().push(step);
        }
        // The call is placed; its answer may still be lost (a time-out after Connect took it).
        if !placed && self.faults.chance(self.faults.vendor) {
            return Err(EscalationError::Unavailable("timed out".into()));
        }
        Ok(contact)
    }

    async fn answered(&self, contact: &str) -> Result<bool, EscalationError> {
        if self.faults.chance(self.faults.vendor) {
            return Err(EscalationError::Unavailable(
                "InternalServiceException".into(),
            ));
        }
        let step: usize = contact.trim_start_matches("contact-").parse().unwrap();
        Ok(self.plan.callees[step].answers)
    }
}

/// The caller's queue: checks due at a time, received again after a failure.
#[derive(Default)]
struct Checks(Mutex<Vec<(Instant, Option<Check>)>>);

#[async_trait]
impl CheckQueue for Checks {
    async fn schedule(&self, check: &Check, delay: Duration) -> Result<(), EscalationError> {
        let mut due = self.0.lock().unwrap();
        due.push((Instant::now() + delay, Some(check.clone())));
        Ok(())
    }
}

/// One scenario of the escalation, seeded; `Err` says which promise broke.
pub fn run(seed: u64) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0xca11);
        let plan = plan(&mut rng);
        let clock: &'static SimClock = crate::leak(SimClock {
            base: "2026-12-01T03:00:00Z".parse().unwrap(),
            start: Instant::now(),
        });
        let faults: &'static Faults = crate::leak(Faults {
            rng: Mutex::new(fastrand::Rng::with_seed(seed.wrapping_mul(37))),
            on: AtomicBool::new(true),
            store: [0.0, 0.05, 0.2][rng.usize(0..3)],
            crash: [0.0, 0.05, 0.2][rng.usize(0..3)],
            vendor: [0.0, 0.1, 0.4][rng.usize(0..3)],
            misconfigured: AtomicBool::new(false),
            ambiguous: Mutex::default(),
            unrecorded: Mutex::default(),
        });
        let records: &'static SimRecords<'static> = crate::leak(SimRecords {
            inner: MemoryRecords::default(),
            expires: Mutex::default(),
            clock,
            faults,
        });
        simulate(&plan, faults, records, clock, &mut rng).await
    })
}

/// Runs one escalation to its end; `Err` says which promise broke.
async fn simulate(
    plan: &Plan,
    faults: &'static Faults,
    records: &'static SimRecords<'static>,
    clock: &'static SimClock,
    rng: &mut fastrand::Rng,
) -> Result<(), String> {
    let n = plan.callees.len();
    let connect = Connect {
        plan,
        faults,
        start: Instant::now(),
        steps: (0..n).map(|s| (number(s), s)).collect(),
        tokens: Mutex::default(),
        rang: Mutex::default(),
        refused: Mutex::default(),
    };
    let checks = Checks::default();
    let events = MemoryQueue::default();
    let escalation = Escalation {
        records,
        dialer: &connect,
        checks: &checks,
        events: &events,
        interval: Duration::from_secs(60),
        dry_run: false,
    };
    let calls: Vec<Call> = (0..n)
        .map(|i| Call {
            round: 1,
            group: format!("group{}", i + 1),
            number: number(i),
        })
        .collect();
    // `None` is the start message; `Some` a check.
    checks.0.lock().unwrap().push((Instant::now(), None));
    let mut ack_pending = plan.ack_at;
    let mut acked_at_rings = None;
    let mut ended = false;
    for _round in 0..5_000 {
        let now = Instant::now();
        if let Some(at) = ack_pending
            && connect.start + at <= now
        {
            let at = clock.now();
            let acked = std::panic::AssertUnwindSafe(ack(records, INCIDENT, "sim", at));
            let rings = connect.rang.lock().unwrap().len();
            match futures::FutureExt::catch_unwind(acked).await {
                Ok(Ok(done)) => {
                    ack_pending = None;
                    acked_at_rings = done.map(|_| rings);
                }
                // The crash comes after the ack's write: it landed.
                Err(_) => {
                    ack_pending = None;
                    acked_at_rings = Some(rings);
                }
                Ok(Err(_)) => {}
            }
        }
        let due: Vec<_> = {
            let mut all = checks.0.lock().unwrap();
            let (due, later) = std::mem::take(&mut *all)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            *all = later;
            due
        };
        if due.is_empty() {
            if checks.0.lock().unwrap().is_empty() && ack_pending.is_none() {
                ended = true;
                break;
            }
            tokio::time::advance(Duration::from_secs(rng.u64(1..60))).await;
            continue;
        }
        for (_, message) in due {
            let at = clock.now();
            let run = async {
                match &message {
                    None => {
                        let id = INCIDENT;
                        (escalation.start(id, "Disk full", "disk", calls.clone(), None, at)).await
                    }
                    Some(check) => escalation.check(check, at).await,
                }
            };
            let ok = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(run)).await;
            if !matches!(ok, Ok(Ok(_))) {
                let again = Instant::now() + VISIBILITY;
                checks.0.lock().unwrap().push((again, message));
            }
        }
        tokio::time::advance(Duration::from_secs(rng.u64(0..20))).await;
    }
    if !ended {
        return Err("the escalation never ended (checks kept coming back)".into());
    }
    faults.on.store(false, Ordering::SeqCst);
    let incident = Incident::load(records, INCIDENT).await.unwrap();
    let status = incident
        .map(|i| i.status)
        .ok_or("no incident was recorded")?;
    let rang = connect.rang.lock().unwrap().clone();
    let told: Vec<String> = (events.events.lock().unwrap().iter())
        .map(|e| e.key.to_string())
        .collect();
    oracle(
        plan,
        &status,
        &rang,
        acked_at_rings,
        &told,
        *connect.refused.lock().unwrap(),
    )
}

/// Checks what happened against what the plan says must.
fn oracle(
    plan: &Plan,
    status: &Status,
    rang: &[usize],
    acked_at_rings: Option<usize>,
    told: &[String],
    refused: usize,
) -> Result<(), String> {
    let mut expected = Vec::new();
    let mut answered = None;
    for (step, callee) in plan.callees.iter().enumerate() {
        if callee.reachable {
            expected.push(step);
            if callee.answers {
                answered = Some(step);
                break;
            }
        }
    }
    let told_of = |part: &str| told.iter().any(|k| k.contains(part));
    if refused > 0 && !told_of("#config") {
        return Err("Connect refused the configuration and chat was not told".into());
    }
    match (acked_at_rings, status) {
        (Some(at), Status::Acked { .. }) => {
            // Acks and checks take turns here, so not even one call may follow the ack.
            if !expected.starts_with(rang) || rang.len() != at {
                return Err(format!(
                    "acked after {at} call(s): rang steps {rang:?}, the plan allows {expected:?}"
                ));
            }
            return Ok(());
        }
        (Some(_), other) => return Err(format!("an accepted ack ended as {other:?}")),
        (None, _) => {}
    }
    if rang != expected {
        return Err(format!(
            "rang steps {rang:?}; the plan rings {expected:?} (a skipped or repeated call); ended {status:?}"
        ));
    }
    match (answered, status) {
        (Some(step), Status::Answered { step: s, .. }) if *s == step => Ok(()),
        (None, Status::Exhausted) if told.iter().any(|k| !k.contains('#')) => Ok(()),
        (None, Status::Exhausted) => Err("nobody answered and chat was not told".into()),
        _ => Err(format!(
            "ended as {status:?}; the plan ends with {answered:?} answering"
        )),
    }
}
