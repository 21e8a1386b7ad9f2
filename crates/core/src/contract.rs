//! Behaviour every implementation of a port must have, as functions the implementations' own
//! tests call (DynamoDB against moto, SQLite on a temp file), so both stores are held to one
//! definition.

use chrono::{DateTime, Duration, Utc};

use crate::event::{EventKey, Source, State};
use crate::ports::{Claim, DeliveryOutcome, Store};

/// The delivery-log contract. Uses keys derived from `subject`, so tests sharing a store stay
/// apart. Returns the instant of the last claim (for TTL checks).
pub async fn delivery_log(store: &dyn Store, subject: &str) -> (EventKey, DateTime<Utc>) {
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
        Claim::Rejected,
        "a permanent refusal is final"
    );
    (key, later)
}
