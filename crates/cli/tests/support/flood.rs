//! A Slack incoming webhook at its documented rate (one message a second; 429 with
//! `Retry-After: 1` beyond), and 500 distinct faulted jobs as signed webhooks: shared by the
//! flood test and `scripts/bench-flood.sh`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::{Request, Respond, ResponseTemplate};

#[derive(Default)]
pub struct OnePerSecond {
    last: Mutex<Option<Instant>>,
    pub taken: Mutex<Vec<(Instant, Value)>>,
    pub throttled: AtomicUsize,
}

impl Respond for &'static OnePerSecond {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut last = self.last.lock().unwrap();
        let now = Instant::now();
        if last.is_some_and(|l| now - l < Duration::from_secs(1)) {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_string("rate_limited");
        }
        *last = Some(now);
        let body = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        self.taken.lock().unwrap().push((now, body));
        ResponseTemplate::new(200).set_body_string("ok")
    }
}

impl OnePerSecond {
    /// Jobs the messages so far stand for: one each, or a digest's held count.
    pub fn jobs(&self) -> usize {
        self.taken
            .lock()
            .unwrap()
            .iter()
            .map(|(_, m)| jobs_in(m))
            .sum()
    }

    pub fn messages(&self) -> usize {
        self.taken.lock().unwrap().len()
    }

    pub fn digests(&self) -> usize {
        let taken = self.taken.lock().unwrap();
        taken.iter().filter(|(_, m)| is_digest(m)).count()
    }

    pub fn last_at(&self) -> Option<Instant> {
        self.taken.lock().unwrap().last().map(|(at, _)| *at)
    }
}

fn is_digest(message: &Value) -> bool {
    message["text"]
        .as_str()
        .is_some_and(|t| t.contains(" more event(s) in "))
}

/// How many jobs a Slack message stands for.
pub fn jobs_in(message: &Value) -> usize {
    let text = message["text"].as_str().unwrap_or_default();
    match text.split_once(" more event(s) in ") {
        Some((head, _)) => head
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        None => 1,
    }
}

/// The faulted sample as job `n`: its own key and id, so each is a job of its own.
pub fn faulted_job(sample: &[u8], n: usize) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(sample).unwrap();
    body["Job"]["Key"] = Value::String(format!("00000000-0000-4000-8000-{n:012}"));
    body["Job"]["Id"] = Value::from(1_000_000 + n);
    body["EventId"] = Value::String(format!("flood-{n}"));
    body.to_string().into_bytes()
}
