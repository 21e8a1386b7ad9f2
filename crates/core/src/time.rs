//! Lenient timestamp parsing for vendor payloads, and the one default time zone.

use chrono::{DateTime, NaiveDateTime, Utc};

/// The time zone of messages, watch hours and the on-call rotation when nothing sets one
/// (`timezone` in the configuration or the environment; `ONCALL_TIMEZONE` for the rotation).
/// Every predecessor ran on Japan time: lambda-connect's rotation was fixed to JST, and the
/// others' users set `Asia/Tokyo`. One default everywhere means a rotation day and the time in a
/// message never disagree.
pub const DEFAULT_TIMEZONE: chrono_tz::Tz = chrono_tz::Asia::Tokyo;

/// Parses the timestamps our sources send: RFC 3339 with 0–9 fractional digits (UiPath sends 7,
/// which many parsers reject), CloudWatch's `+0000` offsets without a colon, and zone-less values
/// (OData, KAMONOHASHI), which are taken as UTC.
pub fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

/// A span written as people write it (`30m`, `24h`, `2h 30m`, `7d`), for settings such as a
/// Backlog channel's `reopen_within` and a silence's length.
pub fn parse_span(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a span like \"30m\", \"24h\" or \"7d\" ({e})"))
}

/// A span as people write it and [`parse_span`] reads it back, in its largest whole unit:
/// `90d`, `12h`, `45m`, `30s`.
pub fn span_text(span: chrono::Duration) -> String {
    let s = span.num_seconds();
    match s {
        _ if s % 86_400 == 0 => format!("{}d", s / 86_400),
        _ if s % 3_600 == 0 => format!("{}h", s / 3_600),
        _ if s % 60 == 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// Serde: an optional [`parse_span`] string.
pub fn de_opt_span<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::time::Duration>, D::Error> {
    use serde::Deserialize;
    let text = String::deserialize(d)?;
    parse_span(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_shape_we_receive() {
        let seven = parse_utc("2018-11-26T14:14:26.2529616Z").unwrap();
        assert_eq!(seven.timestamp_subsec_nanos(), 252_961_600);
        assert!(parse_utc("2018-11-26T14:14:25.637Z").is_some());
        assert!(parse_utc("2018-11-26T14:14:25Z").is_some());
        assert_eq!(
            parse_utc("2022-02-10T14:51:32.839+0000"),
            parse_utc("2022-02-10T14:51:32.839Z")
        );
        assert_eq!(
            parse_utc("2019-07-01 10:00:00"),
            parse_utc("2019-07-01T10:00:00Z")
        );
        assert_eq!(parse_utc("yesterday"), None);
    }

    #[test]
    fn spans() {
        assert_eq!(parse_span("24h").unwrap().as_secs(), 86_400);
        assert_eq!(parse_span("2h 30m").unwrap().as_secs(), 9_000);
        assert_eq!(parse_span("7d").unwrap().as_secs(), 604_800);
        assert!(parse_span("soon").unwrap_err().contains("\"soon\""));
        for text in ["90d", "12h", "45m", "30s", "25h"] {
            let span = chrono::Duration::from_std(parse_span(text).unwrap()).unwrap();
            assert_eq!(span_text(span), text);
        }
    }
}
