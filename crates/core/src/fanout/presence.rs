//! Stage 0 for robot reports (`source/robot.rs`): whether a robot's absence or return is
//! news. A robot is announced **offline** only when its away report, which waited on the
//! queue for the grace period, finds no later sign of it; it is announced **online** only
//! when it was announced offline. So a reboot says nothing, a robot that stays away says so
//! once, and its return once. The robot's row (`ROBOT#<tenant>` / `<robot id>`) holds the last
//! time it was seen and the report that announced it away; every write is a compare-and-swap.
//!
//! A report that is news is delivered as any event (routes, silences, floods, the delivery
//! log); its redelivery finds the row naming it and is delivered again, which the delivery log
//! makes a no-op where it already arrived.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracing::info;

use super::Fanout;
use crate::event::{Event, Source, State};
use crate::ports::StoreError;
use crate::state::{Key, Stored, load_stored, swap};

/// What the row remembers of one robot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Robot {
    /// The latest time it was reported Available or Busy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seen_at: Option<DateTime<Utc>>,
    /// The away report that announced it offline, and when that was reported; cleared by the
    /// report that announced it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    announced: Option<(String, DateTime<Utc>)>,
    /// The report that announced it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    returned: Option<String>,
}

/// Rows of robots no report mentioned for this long go (DynamoDB TTL).
const KEPT_DAYS: i64 = 30;
const RACES: usize = 8;

/// A robot report: an away or here report of a UiPath robot.
pub(super) fn is_report(event: &Event) -> bool {
    event.source == Source::Uipath && matches!(event.state, State::Offline | State::Online)
}

impl Fanout {
    /// Whether `report` is news to deliver (`Ok(true)`), or nothing to say (`Ok(false)`).
    pub(super) async fn news(&self, report: &Event) -> Result<bool, StoreError> {
        let tenant = report.tenant.as_deref().unwrap_or("-");
        let robot = report.robot.as_deref().unwrap_or("-");
        let key = Key::new(format!("ROBOT#{tenant}"), robot);
        let at = report.occurred_at;
        let this = report.key.to_string();
        for _ in 0..RACES {
            let read: Option<Stored<Robot>> = load_stored(self.records.as_ref(), &key).await?;
            let row = read.as_ref().map(|r| r.row.clone()).unwrap_or_default();
            let (next, news, why) = match report.state {
                State::Offline => away(&row, &this, at),
                _ => here(&row, &this, at),
            };
            if next == row {
                if !news {
                    info!(key = %report.key, why, "Robot report: nothing to say.");
                }
                return Ok(news);
            }
            let expires = self.clock.now() + chrono::Duration::days(KEPT_DAYS);
            if swap(
                self.records.as_ref(),
                &key,
                read.as_ref(),
                &next,
                Some(expires),
            )
            .await?
            .is_some()
            {
                if !news {
                    info!(key = %report.key, why, "Robot report: nothing to say.");
                }
                return Ok(news);
            }
        }
        Err(StoreError("the robot's row kept changing".into()))
    }
}

/// An away report, after the grace period: news unless the robot was seen since, or is
/// already announced away by another report.
fn away(row: &Robot, this: &str, at: DateTime<Utc>) -> (Robot, bool, &'static str) {
    match &row.announced {
        Some((key, _)) if key == this => (row.clone(), true, ""),
        Some(_) => (row.clone(), false, "already announced offline"),
        None if row.seen_at.is_some_and(|seen| seen > at) => {
            (row.clone(), false, "back within the grace period")
        }
        None => {
            let next = Robot {
                announced: Some((this.to_string(), at)),
                returned: None,
                ..row.clone()
            };
            (next, true, "")
        }
    }
}

/// A here report: remembered; news when it ends an announced absence.
fn here(row: &Robot, this: &str, at: DateTime<Utc>) -> (Robot, bool, &'static str) {
    let seen_at = Some(row.seen_at.map_or(at, |seen| seen.max(at)));
    match &row.announced {
        _ if row.returned.as_deref() == Some(this) => (row.clone(), true, ""),
        Some((_, since)) if at > *since => {
            let next = Robot {
                seen_at,
                announced: None,
                returned: Some(this.to_string()),
            };
            (next, true, "")
        }
        _ => {
            let next = Robot {
                seen_at,
                ..row.clone()
            };
            (next, false, "not announced offline")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + chrono::Duration::minutes(minute)
    }

    #[test]
    fn a_reboot_says_nothing_an_absence_once_and_its_end_once() {
        // Away at 0, back at 2 (before the 5-minute grace ends): nothing at all.
        let row = Robot::default();
        let (row, news, _) = here(&row, "here-2", t(2));
        assert!(!news);
        let (row, news, why) = away(&row, "away-0", t(0));
        assert_eq!((news, why), (false, "back within the grace period"));
        // Away at 10 and still away when judged at 15: announced once.
        let (row, news, _) = away(&row, "away-10", t(10));
        assert!(news);
        let (row2, again, _) = away(&row, "away-10", t(10));
        assert!(
            again && row2 == row,
            "a redelivery is delivered again, changing nothing"
        );
        let (row, news, why) = away(&row, "away-12", t(12));
        assert_eq!((news, why), (false, "already announced offline"));
        // Back at 16: announced once; its redelivery again; a later here report says nothing.
        let (row, news, _) = here(&row, "here-16", t(16));
        assert!(news);
        assert!(here(&row, "here-16", t(16)).1);
        assert!(!here(&row, "here-17", t(17)).1);
        // A here report older than the absence does not end it.
        let (row, _, _) = away(&row, "away-20", t(20));
        assert!(!here(&row, "here-19", t(19)).1);
    }
}
