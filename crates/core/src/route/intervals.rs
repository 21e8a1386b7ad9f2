//! Named time intervals in the shape of Alertmanager's `time_intervals`
//! (<https://prometheus.io/docs/alerting/latest/configuration/#time_interval>): each is a list
//! of periods, and an instant is in the interval when it is in any period. A period constrains
//! `times` (`[{"start_time": "09:00", "end_time": "18:00"}]`, end exclusive, `24:00` allowed),
//! `weekdays` (`"monday:friday"`), `days_of_month` (`"1:5"`, `"-1"` the last day), `months`
//! (`"january:march"`, `"12"`), `years` (`"2026:2030"`), each inclusive, in its `location`
//! (IANA; the configuration's `timezone` when unset). opsbell adds `jp_holidays`: `true` is
//! only Japanese public holidays (substitute and citizens' holidays included), `false` only
//! other days. Holidays come from the `jpholiday` crate (0.1.4; 0.2 needs a newer Rust than
//! ours), which computes them from the rules of the Act on National Holidays as the Cabinet
//! Office publishes them (<https://www8.cao.go.jp/chosei/shukujitsu/gaiyou.html>): fixed days,
//! Happy Mondays, the equinoxes by the standard formula, substitute and citizens' holidays. The
//! tests below check known dates through 2030.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// `{"name": "nights", "time_intervals": [ … ]}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedInterval {
    pub name: String,
    pub time_intervals: Vec<Period>,
}

/// The periods of one named interval.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeInterval {
    pub periods: Vec<Period>,
}

impl TimeInterval {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.periods.iter().any(|p| p.contains(at))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimesFile {
    start_time: String,
    end_time: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodFile {
    #[serde(default)]
    times: Vec<TimesFile>,
    #[serde(default)]
    weekdays: Vec<String>,
    #[serde(default)]
    days_of_month: Vec<String>,
    #[serde(default)]
    months: Vec<String>,
    #[serde(default)]
    years: Vec<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    jp_holidays: Option<bool>,
}

/// One period: every constraint given must hold.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "PeriodFile")]
pub struct Period {
    /// Minutes of the day, `[start, end)`.
    times: Vec<(u32, u32)>,
    /// 0 = Monday.
    weekdays: Vec<(u32, u32)>,
    days_of_month: Vec<(i32, i32)>,
    months: Vec<(u32, u32)>,
    years: Vec<(i32, i32)>,
    /// `None` until the configuration gives its time zone ([`Period::locate`]).
    location: Option<Tz>,
    jp_holidays: Option<bool>,
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `a:b` or `a`, each end read by `one`.
fn range<T: Copy>(text: &str, one: impl Fn(&str) -> Option<T>) -> Result<(T, T), String> {
    let (a, b) = text.split_once(':').unwrap_or((text, text));
    match (one(a.trim()), one(b.trim())) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(format!("{text:?} is not a value or a range like \"a:b\"")),
    }
}

fn named<'a>(names: &'a [&'a str], first: u32) -> impl Fn(&str) -> Option<u32> + 'a {
    move |s: &str| {
        let lower = s.to_ascii_lowercase();
        let by_name = names.iter().position(|n| *n == lower);
        let by_number = s
            .parse::<u32>()
            .ok()
            .filter(|n| (first..first + names.len() as u32).contains(n));
        by_name.map(|i| i as u32 + first).or(by_number)
    }
}

fn minutes(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

impl TryFrom<PeriodFile> for Period {
    type Error = String;

    fn try_from(f: PeriodFile) -> Result<Period, String> {
        let times = f
            .times
            .iter()
            .map(|t| match (minutes(&t.start_time), minutes(&t.end_time)) {
                (Some(a), Some(b)) if a < b => Ok((a, b)),
                _ => Err(format!(
                    "times {:?}–{:?}: use HH:MM, start before end (end at most 24:00)",
                    t.start_time, t.end_time
                )),
            })
            .collect::<Result<_, _>>()?;
        let weekdays = f
            .weekdays
            .iter()
            .map(|w| range(w, named(&WEEKDAYS, 0)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("weekdays: {e}"))?;
        let day = |s: &str| {
            s.parse::<i32>()
                .ok()
                .filter(|d| (1..=31).contains(d) || (-31..=-1).contains(d))
        };
        let days_of_month = f
            .days_of_month
            .iter()
            .map(|d| range(d, day))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("days_of_month: {e}"))?;
        let months = f
            .months
            .iter()
            .map(|m| range(m, named(&MONTHS, 1)))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("months: {e}"))?;
        let years = f
            .years
            .iter()
            .map(|y| range(y, |s| s.parse::<i32>().ok()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("years: {e}"))?;
        let location = match f.location {
            None => None,
            Some(l) => Some(
                l.parse::<Tz>()
                    .map_err(|_| format!("location {l:?} is not an IANA time zone"))?,
            ),
        };
        Ok(Period {
            times,
            weekdays,
            days_of_month,
            months,
            years,
            location,
            jp_holidays: f.jp_holidays,
        })
    }
}

fn days_in_month(date: NaiveDate) -> i32 {
    let (y, m) = (date.year(), date.month());
    let next = match m {
        12 => NaiveDate::from_ymd_opt(y + 1, 1, 1),
        _ => NaiveDate::from_ymd_opt(y, m + 1, 1),
    };
    next.and_then(|n| n.pred_opt())
        .map_or(31, |d| d.day() as i32)
}

/// Whether `date` is a Japanese public holiday.
pub fn is_jp_holiday(date: NaiveDate) -> bool {
    thread_local! {
        static CALENDAR: jpholiday::jpholiday::JPHoliday<'static> = jpholiday::jpholiday::JPHoliday::new();
    }
    CALENDAR.with(|c| c.is_holiday(&date))
}

impl Period {
    /// Gives a period without a `location` the configuration's time zone.
    pub fn locate(&mut self, zone: Tz) {
        self.location.get_or_insert(zone);
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.location.unwrap_or(chrono_tz::UTC));
        let date = local.date_naive();
        let minute = local.hour() * 60 + local.minute();
        let weekday = local.weekday().num_days_from_monday();
        let within = |ranges: &[(u32, u32)], v: u32| {
            ranges.is_empty() || ranges.iter().any(|(a, b)| (*a..=*b).contains(&v))
        };
        let last = days_in_month(date);
        let resolve = |d: i32| if d < 0 { last + 1 + d } else { d };
        let day = date.day() as i32;
        (self.times.is_empty() || self.times.iter().any(|(a, b)| (*a..*b).contains(&minute)))
            && within(&self.weekdays, weekday)
            && (self.days_of_month.is_empty()
                || self
                    .days_of_month
                    .iter()
                    .any(|(a, b)| (resolve(*a)..=resolve(*b)).contains(&day)))
            && within(&self.months, date.month())
            && (self.years.is_empty()
                || self
                    .years
                    .iter()
                    .any(|(a, b)| (*a..=*b).contains(&date.year())))
            && self.jp_holidays.is_none_or(|h| h == is_jp_holiday(date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn japanese_holidays_on_known_dates_through_2030() {
        for (y, m, d) in [
            (2026, 1, 1),  // 元日
            (2026, 1, 12), // 成人の日 (second Monday)
            (2026, 5, 6),  // 憲法記念日 (Sunday 5/3) の振替休日
            (2026, 9, 21), // 敬老の日
            (2026, 9, 22), // 国民の休日 (between 敬老の日 and 秋分の日)
            (2026, 9, 23), // 秋分の日
            (2027, 3, 22), // 春分の日 (Sunday 3/21) の振替休日
            (2029, 4, 30), // 昭和の日 (Sunday 4/29) の振替休日
            (2030, 1, 1),
            (2030, 2, 11), // 建国記念の日
            (2030, 9, 23), // 秋分の日
            (2030, 11, 4), // 文化の日 (Sunday 11/3) の振替休日
        ] {
            assert!(is_jp_holiday(date(y, m, d)), "{y}-{m}-{d} is a holiday");
        }
        for (y, m, d) in [(2026, 12, 1), (2026, 5, 7), (2029, 5, 1), (2030, 11, 5)] {
            assert!(
                !is_jp_holiday(date(y, m, d)),
                "{y}-{m}-{d} is a working day"
            );
        }
    }

    fn period(v: serde_json::Value) -> Result<Period, String> {
        serde_json::from_value::<Period>(v).map_err(|e| e.to_string())
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn periods_match_in_their_location() {
        let office = period(serde_json::json!({"weekdays": ["monday:friday"], "times": [{"start_time": "09:00", "end_time": "18:00"}],
            "location": "Asia/Tokyo", "jp_holidays": false})).unwrap();
        assert!(
            office.contains(at("2026-12-01T00:30:00Z")),
            "Tuesday 09:30 JST"
        );
        assert!(
            !office.contains(at("2026-12-01T09:00:00Z")),
            "18:00 JST is the end, exclusive"
        );
        assert!(!office.contains(at("2026-12-05T01:00:00Z")), "Saturday");
        assert!(
            !office.contains(at("2026-09-22T01:00:00Z")),
            "a citizens' holiday"
        );
        let holidays =
            period(serde_json::json!({"jp_holidays": true, "location": "Asia/Tokyo"})).unwrap();
        assert!(
            holidays.contains(at("2026-09-21T15:30:00Z")),
            "00:30 JST on 9/22"
        );
        assert!(!holidays.contains(at("2026-09-23T15:30:00Z")), "9/24 JST");
        let mut month_end = period(serde_json::json!({"days_of_month": ["-2:-1"], "months": ["february"], "years": ["2028"]})).unwrap();
        month_end.locate(chrono_tz::Asia::Tokyo);
        assert!(
            month_end.contains(at("2028-02-28T03:00:00Z"))
                && month_end.contains(at("2028-02-29T03:00:00Z"))
        );
        assert!(!month_end.contains(at("2028-02-27T03:00:00Z")));
        assert!(!month_end.contains(at("2029-02-28T03:00:00Z")));
    }

    #[test]
    fn bad_periods_say_what_is_wrong() {
        let e = period(serde_json::json!({"weekdays": ["funday"]})).unwrap_err();
        assert!(e.contains("weekdays") && e.contains("funday"), "{e}");
        let e =
            period(serde_json::json!({"times": [{"start_time": "18:00", "end_time": "09:00"}]}))
                .unwrap_err();
        assert!(e.contains("start before end"), "{e}");
        let e = period(serde_json::json!({"location": "Mars/Olympus"})).unwrap_err();
        assert!(e.contains("IANA"), "{e}");
        let e = period(serde_json::json!({"weekday": ["monday"]})).unwrap_err();
        assert!(e.contains("weekday"), "{e}");
    }
}
