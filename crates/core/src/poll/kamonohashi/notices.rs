//! The kamonohashi-slackbot's Enter/Leave notices, when a source turns them on (`enter_leave`):
//! at the first poll inside the day's watch hours, an Enter notice (a `System.Enter` phrase);
//! at the first poll after the Leave hour, a Leave notice: `System.Leave.Silent` when no job was
//! notified that day, else `System.Leave.<Weekday>` when the file has one (Friday's), else
//! `System.Leave`. A day whose first poll comes after its Leave hour gets neither, as the
//! slackbot did. Days are local days in the configured time zone. Each notice is an event of the
//! source in state `started` (info), keyed by day, so a repeated poll sends it once.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

use crate::client::kamonohashi::config::{KamonohashiSource, WEEKDAYS};
use crate::event::{Event, Source, State};
use crate::ports::{Queue, Records};
use crate::state::WatchDayState;

use super::PollError;

/// Sends today's Enter or Leave notice when one is due.
pub async fn step(
    source: &KamonohashiSource,
    tz: Tz,
    records: &dyn Records,
    queue: &dyn Queue,
    now: DateTime<Utc>,
) -> Result<(), PollError> {
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    let mut day = WatchDayState::load(records, &source.name).await?;
    if day.day != Some(today) {
        day = WatchDayState {
            day: Some(today),
            ..WatchDayState::default()
        };
    }
    let hours = source.watch.day(local.weekday());
    let watching = source.watch.watching(now, tz);
    let mut notice = None;
    if watching && !day.entered {
        day.entered = true;
        notice = Some((
            "enter",
            phrase(
                source,
                &["System.Enter"],
                "KAMONOHASHI: watching from now on.",
            ),
        ));
    } else if !watching && day.entered && !day.left && local.hour() > hours.leave {
        day.left = true;
        let name = WEEKDAYS[local.weekday().num_days_from_monday() as usize];
        let weekday = format!("System.Leave.{name}");
        let keys: Vec<&str> = match day.sent {
            0 => vec!["System.Leave.Silent", "System.Leave"],
            _ => vec![weekday.as_str(), "System.Leave"],
        };
        notice = Some((
            "leave",
            phrase(source, &keys, "KAMONOHASHI: done watching for today."),
        ));
    }
    if let Some((which, text)) = notice {
        let subject = format!("notice-{which}-{today}");
        let mut event = Event::new(
            Source::Kamonohashi,
            &source.name,
            &subject,
            State::Started,
            "KAMONOHASHI",
            now,
        );
        event.headline = Some(text);
        queue.enqueue(&[event]).await?;
    }
    day.save(records, &source.name).await?;
    Ok(())
}

/// Counts job notices sent today (for the silent-day Leave).
pub async fn count(
    source: &KamonohashiSource,
    tz: Tz,
    records: &dyn Records,
    now: DateTime<Utc>,
    sent: usize,
) -> Result<(), PollError> {
    if sent == 0 {
        return Ok(());
    }
    let mut day = WatchDayState::load(records, &source.name).await?;
    if day.day == Some(now.with_timezone(&tz).date_naive()) {
        day.sent = day
            .sent
            .saturating_add(u32::try_from(sent).unwrap_or(u32::MAX));
        day.save(records, &source.name).await?;
    }
    Ok(())
}

/// A phrase from the first of `keys` the message file has, else `default`.
fn phrase(source: &KamonohashiSource, keys: &[&str], default: &str) -> String {
    source.phrase(keys).unwrap_or(default).to_string()
}
