//! Rotation files of lambda-connect: a JSON array of `{start_day, end_day, phone_number[]}`
//! (camelCase `startDay`/`endDay`/`phoneNumber` too, as its README documents), or the older object
//! `{"group1": {...}, "group2": {...}}` in file order (not sorted). Days are days of the month,
//! inclusive; the first matching group wins; no wrap-around.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{Finding, Severity};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `group2` for the object format, `#2` (1-based) for the array format.
    pub label: String,
    pub start_day: u32,
    pub end_day: u32,
    pub numbers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub file: String,
    pub groups: Vec<Group>,
}

#[derive(Deserialize)]
struct RawGroup {
    #[serde(alias = "startDay")]
    start_day: u32,
    #[serde(alias = "endDay")]
    end_day: u32,
    #[serde(alias = "phoneNumber")]
    phone_number: Vec<String>,
}

/// The object format's entries, in file order.
struct Ordered(Vec<(String, RawGroup)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of groups")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Rotation {
    /// Reads a rotation file; a structural error names the file and the failing field.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Rotation, Finding> {
        let error = |entry: String, message: String| Finding {
            severity: Severity::Error,
            file: file.into(),
            entry,
            message,
        };
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| error("(file)".into(), format!("not JSON: {e}")))?;
        let entries: Vec<(String, serde_json::Value)> = match value {
            serde_json::Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("#{}", i + 1), v))
                .collect(),
            serde_json::Value::Object(_) => {
                // Re-read for file order: serde_json's map is sorted.
                let Ordered(groups) = serde_json::from_slice(bytes)
                    .map_err(|e| error("(file)".into(), e.to_string()))?;
                return Ok(Rotation {
                    file: file.into(),
                    groups: groups.into_iter().map(|(k, g)| group(k, g)).collect(),
                });
            }
            _ => {
                return Err(error(
                    "(file)".into(),
                    "expected an array of groups or an object {\"group1\": …}".into(),
                ));
            }
        };
        let mut groups = Vec::new();
        for (label, v) in entries {
            let raw: RawGroup = serde_path_to_error::deserialize(v)
                .map_err(|e| error(label.clone(), format!("{}: {}", e.path(), e.inner())))?;
            groups.push(group(label, raw));
        }
        Ok(Rotation {
            file: file.into(),
            groups,
        })
    }

    /// The group on call on `day` (1–31): the first whose range holds it.
    pub fn group_on(&self, day: u32) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.start_day <= day && day <= g.end_day)
    }

    /// Every problem at once: bad numbers and ranges are errors; days nobody covers and days two
    /// groups cover are warnings (the first group wins, as in the predecessor).
    pub fn validate(&self) -> Vec<Finding> {
        self.validate_calling(None)
    }

    /// Who a day no group covers calls, as the plan does: the extra number
    /// (`CONNECT_EXTRA_DESTINATION_PHONE_NUMBER`) when there is one, else the first group.
    pub fn gap_callee(&self, fallback: Option<&str>) -> String {
        match (fallback, self.groups.first()) {
            (Some(extra), _) => format!("the extra number {extra}"),
            (None, Some(first)) => format!("{} (no extra number is set)", first.label),
            (None, None) => "nobody".into(),
        }
    }

    /// As [`Rotation::validate`], naming who a gap day really calls given the extra number.
    pub fn validate_calling(&self, fallback: Option<&str>) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut push = |severity, entry: &str, message: String| {
            out.push(Finding {
                severity,
                file: self.file.clone(),
                entry: entry.into(),
                message,
            });
        };
        if self.groups.is_empty() {
            push(Severity::Error, "(file)", "no groups".into());
        }
        for g in &self.groups {
            if !(1..=31).contains(&g.start_day) || !(1..=31).contains(&g.end_day) {
                push(
                    Severity::Error,
                    &g.label,
                    format!(
                        "days must be 1–31 (start_day {}, end_day {})",
                        g.start_day, g.end_day
                    ),
                );
            } else if g.start_day > g.end_day {
                push(
                    Severity::Error,
                    &g.label,
                    format!(
                        "start_day {} is after end_day {} (ranges do not wrap)",
                        g.start_day, g.end_day
                    ),
                );
            }
            if g.numbers.is_empty() {
                push(Severity::Error, &g.label, "no phone numbers".into());
            }
            for n in g.numbers.iter().filter(|n| !is_e164(n)) {
                push(
                    Severity::Error,
                    &g.label,
                    format!("{n:?} is not an E.164 number (+ and 2–15 digits)"),
                );
            }
        }
        let covering = |day: u32| {
            self.groups
                .iter()
                .filter(|g| g.start_day <= day && day <= g.end_day)
                .count()
        };
        let uncovered: Vec<u32> = (1..=31).filter(|d| covering(*d) == 0).collect();
        if !uncovered.is_empty() {
            push(
                Severity::Warning,
                "(file)",
                format!(
                    "days {} are covered by no group ({} is called)",
                    ranges(&uncovered),
                    self.gap_callee(fallback)
                ),
            );
        }
        let doubled: Vec<u32> = (1..=31).filter(|d| covering(*d) > 1).collect();
        if !doubled.is_empty() {
            push(
                Severity::Warning,
                "(file)",
                format!(
                    "days {} are covered by several groups (the first wins)",
                    ranges(&doubled)
                ),
            );
        }
        out
    }
}

fn group(label: String, raw: RawGroup) -> Group {
    Group {
        label,
        start_day: raw.start_day,
        end_day: raw.end_day,
        numbers: raw.phone_number,
    }
}

/// `+` then 2–15 digits, the first not 0.
pub fn is_e164(n: &str) -> bool {
    let Some(digits) = n.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// `1-3, 7, 29-31`.
pub fn ranges(days: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let start = days[i];
        while i + 1 < days.len() && days[i + 1] == days[i] + 1 {
            i += 1;
        }
        out.push(if days[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", days[i])
        });
        i += 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../../samplejson/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn both_predecessor_formats_load_unchanged() {
        let new = Rotation::parse(
            "new.json",
            &sample("lambda-connect-rotation-new-format.json"),
        )
        .unwrap();
        assert_eq!(new.groups.len(), 3);
        assert_eq!((new.groups[1].start_day, new.groups[1].end_day), (10, 19));
        assert!(new.validate().is_empty(), "{:?}", new.validate());
        let old = Rotation::parse(
            "old.json",
            &sample("lambda-connect-rotation-old-format.json"),
        )
        .unwrap();
        assert_eq!(
            old.groups
                .iter()
                .map(|g| g.label.as_str())
                .collect::<Vec<_>>(),
            ["group1", "group2"]
        );
        // The sample's numbers are placeholders: loaded, but reported.
        let findings = old.validate();
        assert_eq!(
            findings.len(),
            4,
            "one per placeholder number: {findings:?}"
        );
        assert!(
            findings[0]
                .to_string()
                .starts_with("error: old.json group1: \"+81xxxxxxxxxx\""),
            "{}",
            findings[0]
        );
    }

    #[test]
    fn object_order_is_file_order_and_camel_case_is_accepted() {
        let text = br#"{"group10": {"startDay": 1, "endDay": 31, "phoneNumber": ["+15550000001"]},
                        "group2": {"start_day": 1, "end_day": 31, "phone_number": ["+15550000002"]}}"#;
        let r = Rotation::parse("r.json", text).unwrap();
        assert_eq!(r.groups[0].label, "group10");
        assert_eq!(r.group_on(5), Some(0), "first in file order wins");
    }

    #[test]
    fn findings_name_file_and_entry() {
        let text = br#"[{"start_day": 1, "end_day": 10, "phone_number": ["+815000000001"]},
                        {"start_day": 20, "end_day": 12, "phone_number": []},
                        {"start_day": 5, "end_day": 40, "phone_number": ["0312345678"]}]"#;
        let r = Rotation::parse("team.json", text).unwrap();
        let text: Vec<String> = r.validate().iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "error: team.json #2: start_day 20 is after end_day 12 (ranges do not wrap)",
                "error: team.json #2: no phone numbers",
                "error: team.json #3: days must be 1–31 (start_day 5, end_day 40)",
                "error: team.json #3: \"0312345678\" is not an E.164 number (+ and 2–15 digits)",
                "warning: team.json (file): days 5-10 are covered by several groups (the first wins)",
            ]
        );
        let err = Rotation::parse("bad.json", br#"[{"start_day": "one"}]"#).unwrap_err();
        assert_eq!((err.file.as_str(), err.entry.as_str()), ("bad.json", "#1"));
    }

    #[test]
    fn day_lookup_is_inclusive_without_wrap() {
        let r =
            Rotation::parse("n.json", &sample("lambda-connect-rotation-new-format.json")).unwrap();
        assert_eq!(
            [1, 9, 10, 19, 20, 31].map(|d| r.group_on(d)),
            [Some(0), Some(0), Some(1), Some(1), Some(2), Some(2)]
        );
        assert_eq!(r.group_on(0), None);
        assert!(is_e164("+815012345678") && !is_e164("+0123") && !is_e164("81501234"));
        assert_eq!(ranges(&[1, 2, 3, 7, 29, 30, 31]), "1-3, 7, 29-31");
    }
}
