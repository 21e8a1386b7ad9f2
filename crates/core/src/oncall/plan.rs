//! The ordered call plan, reproducing lambda-connect's documented orders: with the matched group
//! `m` of `n` and `repeat` rounds, simple mode calls groups `(m + i) mod n` for `i` in
//! `0..n × repeat`; repeat-group mode calls group `m` `repeat` times. When no group covers the
//! day, the extra number (`CONNECT_EXTRA_DESTINATION_PHONE_NUMBER`) is called `repeat` times, as
//! lambda-connect's README says (its code called group 1; without an extra number, so do we).
//! Within a round every number of the group, in file order. After a matched plan, the extra
//! number once more. Unlike the predecessor, the escalation stops at the first answer, not at
//! the end of a round.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use super::rotation::{Rotation, is_e164};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    pub repeat_count: u32,
    pub repeat_group: bool,
    pub fallback: Option<String>,
    pub timezone: Tz,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            repeat_count: 3,
            repeat_group: false,
            fallback: None,
            timezone: chrono_tz::Asia::Tokyo,
        }
    }
}

pub use crate::state::Call;

/// The day of month `at` falls on in `tz`.
pub fn day_of_month(at: DateTime<Utc>, tz: Tz) -> u32 {
    at.with_timezone(&tz).day()
}

/// Every call, in order, for an alarm at `at`. Numbers that are not E.164 are left out (the
/// rotation's validation reports them); the fallback is always last.
pub fn plan(rotation: Option<&Rotation>, at: DateTime<Utc>, opts: &PlanOptions) -> Vec<Call> {
    let mut calls = Vec::new();
    if let (Some(extra), Some(_)) = (&opts.fallback, gap(rotation, at, opts)) {
        for round in 1..=opts.repeat_count.max(1) {
            calls.push(Call {
                round,
                group: "extra".into(),
                number: extra.clone(),
            });
        }
        return calls;
    }
    if let Some(r) = rotation.filter(|r| !r.groups.is_empty()) {
        let n = r.groups.len();
        let matched = r.group_on(day_of_month(at, opts.timezone));
        let order: Vec<usize> = match matched {
            None => vec![0; opts.repeat_count as usize],
            Some(m) if opts.repeat_group => vec![m; opts.repeat_count as usize],
            Some(m) => (0..n * opts.repeat_count as usize)
                .map(|i| (m + i) % n)
                .collect(),
        };
        for (round, g) in order.into_iter().enumerate() {
            let group = &r.groups[g];
            for number in group.numbers.iter().filter(|n| is_e164(n)) {
                let round = u32::try_from(round + 1).unwrap_or(u32::MAX);
                calls.push(Call {
                    round,
                    group: group.label.clone(),
                    number: number.clone(),
                });
            }
        }
    }
    if let Some(f) = &opts.fallback {
        calls.push(Call {
            round: 0,
            group: "fallback".into(),
            number: f.clone(),
        });
    }
    calls
}

/// The day of month no group of a (non-empty) rotation covers at `at`, if it is one.
pub fn gap(rotation: Option<&Rotation>, at: DateTime<Utc>, opts: &PlanOptions) -> Option<u32> {
    let r = rotation.filter(|r| !r.groups.is_empty())?;
    let day = day_of_month(at, opts.timezone);
    r.group_on(day).is_none().then_some(day)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn rotation() -> Rotation {
        let path = format!(
            "{}/../../samplejson/lambda-connect-rotation-new-format.json",
            env!("CARGO_MANIFEST_DIR")
        );
        Rotation::parse("r.json", &std::fs::read(path).unwrap()).unwrap()
    }

    /// 2026-11-15 10:00 JST: the middle group (days 10–19) is on call.
    fn mid_month() -> DateTime<Utc> {
        chrono_tz::Asia::Tokyo
            .with_ymd_and_hms(2026, 11, 15, 10, 0, 0)
            .unwrap()
            .to_utc()
    }

    fn groups(calls: &[Call]) -> Vec<&str> {
        let mut out: Vec<&str> = calls.iter().map(|c| c.group.as_str()).collect();
        out.dedup();
        out
    }

    #[test]
    fn simple_mode_cycles_from_the_matched_group_as_the_predecessor_documents() {
        let opts = PlanOptions {
            repeat_count: 2,
            ..PlanOptions::default()
        };
        let calls = plan(Some(&rotation()), mid_month(), &opts);
        assert_eq!(groups(&calls), ["#2", "#3", "#1", "#2", "#3", "#1"]);
        assert_eq!(calls.len(), 12);
        assert_eq!(calls[0].number, "+33333333333");
        assert_eq!(calls[1].number, "+44444444444");
    }

    #[test]
    fn repeat_group_mode_calls_the_matched_group_repeatedly() {
        let opts = PlanOptions {
            repeat_count: 2,
            repeat_group: true,
            ..PlanOptions::default()
        };
        let calls = plan(Some(&rotation()), mid_month(), &opts);
        assert_eq!(
            calls.iter().map(|c| c.group.as_str()).collect::<Vec<_>>(),
            ["#2", "#2", "#2", "#2"]
        );
        assert_eq!(
            calls.iter().map(|c| c.round).collect::<Vec<_>>(),
            [1, 1, 2, 2]
        );
    }

    #[test]
    fn the_day_is_read_in_the_time_zone_and_the_fallback_comes_last() {
        // 2026-11-09 20:00 UTC is already the 10th in Tokyo.
        let at = Utc.with_ymd_and_hms(2026, 11, 9, 20, 0, 0).unwrap();
        let opts = PlanOptions {
            repeat_count: 1,
            fallback: Some("+815099999999".into()),
            ..PlanOptions::default()
        };
        let calls = plan(Some(&rotation()), at, &opts);
        assert_eq!(calls[0].group, "#2");
        assert_eq!(
            calls.last().unwrap(),
            &Call {
                round: 0,
                group: "fallback".into(),
                number: "+815099999999".into()
            }
        );
        // No rotation at all (unreadable file): the fallback is still called.
        assert_eq!(plan(None, at, &opts).len(), 1);
    }

    #[test]
    fn no_matching_group_calls_the_extra_number_as_the_predecessor_documents() {
        let mut r = rotation();
        r.groups.remove(1);
        let mut opts = PlanOptions {
            repeat_count: 3,
            fallback: Some("+815099999999".into()),
            ..PlanOptions::default()
        };
        assert_eq!(gap(Some(&r), mid_month(), &opts), Some(15));
        let calls = plan(Some(&r), mid_month(), &opts);
        let got: Vec<(u32, &str, &str)> = calls
            .iter()
            .map(|c| (c.round, c.group.as_str(), c.number.as_str()))
            .collect();
        let extra = "+815099999999";
        assert_eq!(
            got,
            [
                (1, "extra", extra),
                (2, "extra", extra),
                (3, "extra", extra)
            ]
        );
        // Without an extra number, the first group, as the predecessor's code did.
        opts.fallback = None;
        assert_eq!(groups(&plan(Some(&r), mid_month(), &opts)), ["#1"]);
        assert_eq!(plan(Some(&r), mid_month(), &opts).len(), 6);
        assert_eq!(gap(Some(&rotation()), mid_month(), &opts), None);
    }
}
