//! Behaviour every implementation of a port must have, as functions the implementations' own
//! tests call (DynamoDB against moto, SQLite on a temp file), so both stores are held to one
//! definition.

use chrono::{DateTime, Duration, Utc};

use crate::event::{EventKey, Source, State};
use crate::ports::{Claim, DeliveryLog, DeliveryOutcome, Records};

/// The delivery-log contract. Uses keys derived from `subject`, so tests sharing a store stay
/// apart. Returns the instant of the last claim (for TTL checks).
pub async fn delivery_log(store: &dyn DeliveryLog, subject: &str) -> (EventKey, DateTime<Utc>) {
    let key = EventKey::new(Source::Uipath, "", subject, State::Faulted);
    let now = Utc::now();
    let lease = now + Duration::minutes(5);
    let claim = |target: &'static str, at: DateTime<Utc>| {
        let key = key.clone();
        async move {
            store
                .claim_delivery(&key, target, at, at + Duration::minutes(5))
                .await
                .unwrap()
        }
    };
    let finish = |target: &'static str, outcome: DeliveryOutcome| {
        let key = key.clone();
        async move {
            store
                .finish_delivery(&key, target, &outcome, now)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("slack", now).await, Claim::Acquired { attempt: 1 });
    assert_eq!(
        claim("slack", now).await,
        Claim::Busy,
        "an unexpired lease is exclusive"
    );
    assert_eq!(
        claim("chatwork", now).await,
        Claim::Acquired { attempt: 1 },
        "targets are independent"
    );
    let later = lease + Duration::seconds(1);
    assert_eq!(
        claim("slack", later).await,
        Claim::Acquired { attempt: 2 },
        "an expired lease is taken over"
    );

    finish(
        "chatwork",
        DeliveryOutcome::Failed {
            error: "HTTP 500".into(),
            permanent: false,
        },
    )
    .await;
    assert_eq!(
        claim("chatwork", now).await,
        Claim::Acquired { attempt: 2 },
        "a failure can be retried"
    );

    finish(
        "slack",
        DeliveryOutcome::Delivered {
            detail: "ok".into(),
        },
    )
    .await;
    assert_eq!(claim("slack", later).await, Claim::AlreadyDelivered);

    finish(
        "chatwork",
        DeliveryOutcome::Failed {
            error: "HTTP 404".into(),
            permanent: true,
        },
    )
    .await;
    assert_eq!(
        claim("chatwork", later).await,
        Claim::Acquired { attempt: 3 },
        "a refusal posted nothing, so a later delivery (a DLQ redrive after a fix) may try again"
    );
    finish(
        "chatwork",
        DeliveryOutcome::Delivered {
            detail: "fixed".into(),
        },
    )
    .await;
    assert_eq!(claim("chatwork", later).await, Claim::AlreadyDelivered);

    let withhold = |target: &'static str, at: DateTime<Utc>| {
        let key = key.clone();
        async move {
            store
                .withhold_delivery(&key, target, "muted by time interval nights", at)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        withhold("backlog", now).await,
        Claim::Acquired { attempt: 1 },
        "withheld in one write, with no claim before it"
    );
    assert_eq!(
        claim("backlog", later).await,
        Claim::AlreadyDelivered,
        "a withheld delivery is done: never sent later"
    );
    assert_eq!(withhold("backlog", later).await, Claim::AlreadyDelivered);
    assert_eq!(
        withhold("slack", later).await,
        Claim::AlreadyDelivered,
        "a delivered event is not withheld afterwards"
    );
    assert_eq!(
        claim("google-chat", now).await,
        Claim::Acquired { attempt: 1 }
    );
    assert_eq!(
        withhold("google-chat", now).await,
        Claim::Busy,
        "a delivery in flight is not withheld under it"
    );
    assert_eq!(
        withhold("google-chat", later).await,
        Claim::Acquired { attempt: 2 },
        "an expired lease is withheld over"
    );
    assert_eq!(claim("google-chat", later).await, Claim::AlreadyDelivered);
    let all = ["slack", "chatwork", "backlog", "google-chat"].map(String::from);
    assert!(
        store.delivered_everywhere(&key, &all).await.unwrap(),
        "delivered or withheld at every target"
    );
    let one_more = ["slack", "chatwork", "teams"].map(String::from);
    assert!(
        !store.delivered_everywhere(&key, &one_more).await.unwrap(),
        "a target the copy is routed to but has no record of is not done"
    );
    assert!(
        !store.delivered_everywhere(&key, &[]).await.unwrap(),
        "routed nowhere is not \"delivered\": the fan-out says so"
    );
    let never = EventKey::new(
        Source::Uipath,
        "",
        &format!("{subject}-never"),
        State::Faulted,
    );
    assert!(
        !store.delivered_everywhere(&never, &all).await.unwrap(),
        "an event no target has a record of is not delivered"
    );
    let other = EventKey::new(Source::Uipath, "", &format!("{subject}-b"), State::Faulted);
    let lease = later + Duration::minutes(5);
    store
        .claim_delivery(&other, "slack", later, lease)
        .await
        .unwrap();
    let delivered = DeliveryOutcome::Delivered {
        detail: "ok".into(),
    };
    let finish = |target: &'static str, outcome: DeliveryOutcome| {
        let other = other.clone();
        async move {
            store
                .finish_delivery(&other, target, &outcome, later)
                .await
                .unwrap()
        }
    };
    finish("slack", delivered).await;
    store
        .claim_delivery(&other, "teams", later, lease)
        .await
        .unwrap();
    assert!(
        !store
            .delivered_everywhere(&other, &["slack".into(), "teams".into()])
            .await
            .unwrap(),
        "a delivery still in flight is not done"
    );
    let failed = DeliveryOutcome::Failed {
        error: "HTTP 503".into(),
        permanent: false,
    };
    finish("teams", failed).await;
    assert!(
        !store
            .delivered_everywhere(&other, &["slack".into(), "teams".into()])
            .await
            .unwrap(),
        "a failed delivery has work left: a later copy tries again"
    );
    (key, later)
}

/// The records contract: put replaces, get and list read back, delete removes; partitions are
/// independent. Uses partition keys derived from `prefix`.
pub async fn records(store: &dyn Records, prefix: &str) {
    let pk = format!("{prefix}#A");
    let other = format!("{prefix}#B");
    let body = |n: i64| serde_json::json!({ "n": n, "text": "ジョブ" });
    assert_eq!(store.get_record(&pk, "x").await.unwrap(), None);
    store.put_record(&pk, "b", &body(1), None).await.unwrap();
    store
        .put_record(&pk, "a", &body(2), Some(Utc::now() + Duration::days(30)))
        .await
        .unwrap();
    store.put_record(&pk, "b", &body(3), None).await.unwrap();
    store.put_record(&other, "a", &body(4), None).await.unwrap();
    assert_eq!(
        store.get_record(&pk, "b").await.unwrap(),
        Some(body(3)),
        "put replaces"
    );
    let listed = store.list_records(&pk).await.unwrap();
    assert_eq!(
        listed,
        vec![("a".to_string(), body(2)), ("b".to_string(), body(3))]
    );
    // A page of a partition: newest first, below a cursor, bounded, other partitions apart.
    let paged = format!("{prefix}#PAGE");
    for n in 1..=5 {
        store
            .put_record(&paged, &format!("2026-12-0{n}"), &body(n), None)
            .await
            .unwrap();
    }
    let sks = |page: Vec<(String, serde_json::Value)>| -> Vec<String> {
        page.into_iter().map(|(sk, _)| sk).collect()
    };
    let first = store.page_before(&paged, None, 2).await.unwrap();
    assert_eq!(first[0].1, body(5), "bodies come with their keys");
    assert_eq!(sks(first), ["2026-12-05", "2026-12-04"]);
    let next = store.page_before(&paged, Some("2026-12-04"), 2).await;
    assert_eq!(sks(next.unwrap()), ["2026-12-03", "2026-12-02"]);
    let last = store.page_before(&paged, Some("2026-12-02"), 10).await;
    assert_eq!(sks(last.unwrap()), ["2026-12-01"]);
    assert!(
        store
            .page_before(&other, Some("a"), 10)
            .await
            .unwrap()
            .is_empty()
    );

    store.delete_record(&pk, "a").await.unwrap();
    store.delete_record(&pk, "never-there").await.unwrap();
    assert_eq!(store.list_records(&pk).await.unwrap().len(), 1);
    assert_eq!(store.get_record(&other, "a").await.unwrap(), Some(body(4)));

    // Compare-and-swap: only the writer that saw the current body wins.
    let cas = format!("{prefix}#CAS");
    assert!(
        store
            .swap_record(&cas, "s", None, &body(1), None)
            .await
            .unwrap(),
        "absent: created"
    );
    assert!(
        !store
            .swap_record(&cas, "s", None, &body(2), None)
            .await
            .unwrap(),
        "present: refused"
    );
    assert!(
        !store
            .swap_record(&cas, "s", Some(&body(9)), &body(2), None)
            .await
            .unwrap(),
        "stale: refused"
    );
    assert!(
        store
            .swap_record(&cas, "s", Some(&body(1)), &body(2), None)
            .await
            .unwrap(),
        "current: swapped"
    );
    assert!(
        !store
            .swap_record(&cas, "s", Some(&body(1)), &body(3), None)
            .await
            .unwrap(),
        "a second swap from the same read loses"
    );
    assert_eq!(store.get_record(&cas, "s").await.unwrap(), Some(body(2)));
}
