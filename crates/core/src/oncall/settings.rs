//! The caller's settings, from the environment. lambda-connect's names are accepted as they are
//! (`CALL_STATE_CHACK_INTERVAL_SECONDS` as spelled there, with a correctly spelled alias), and its
//! documented but unused `CONNECT_EXTRA_DESTINATION_PHONE_NUMBER` is now the fallback number.

use std::time::Duration;

use chrono_tz::Tz;

use super::plan::PlanOptions;
use super::rotation::is_e164;
use crate::problem::{EnvVars, Problem, Problems};

/// SQS delays a message at most 15 minutes.
pub const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(900);
/// lambda-connect's default message: "a failure has occurred".
pub const DEFAULT_MESSAGE: &str = "障害が発生しました。";

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectSettings {
    pub instance_id: String,
    pub contact_flow_id: String,
    pub source_phone_number: Option<String>,
    pub queue_id: Option<String>,
    /// The contact attribute the flow sets to "true" once the callee confirms.
    pub answer_attribute: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OncallSettings {
    /// S3 bucket holding the rotation and mapping files (`PHONE_NUMBER_BUCKET`)…
    pub bucket: Option<String>,
    /// …or a local folder (`ONCALL_FILES_DIR`).
    pub files_dir: Option<String>,
    pub rotation_file: String,
    pub mapping_file: Option<String>,
    /// `CONNECT_ALARM_MSG`: what a call says.
    pub message: String,
    /// `ONCALL_SPEAK_ALARM_DETAILS`: say the alarm's name and reason after the message.
    pub speak_details: bool,
    pub plan: PlanOptions,
    pub interval: Duration,
    pub dry_run: bool,
    /// `None`: no Connect configured, so only a dry run is possible.
    pub connect: Option<ConnectSettings>,
}

impl OncallSettings {
    /// The variables that say this deployment has on-call (any of them set).
    pub const VARIABLES: [&'static str; 6] = [
        "PHONE_NUMBER_BUCKET",
        "ONCALL_FILES_DIR",
        "PHONE_NUMBER_JSON_FILE",
        "MAPPING_JSON_FILE",
        "CONNECT_INSTANCE_ID",
        "CONNECT_CONTACT_FLOW_ID",
    ];

    /// The settings when the environment has on-call (see [`Self::VARIABLES`]); `None` when it
    /// has none; every problem when it has them wrong.
    pub fn optional(env: &[(String, String)]) -> Result<Option<OncallSettings>, Vec<Problem>> {
        if !EnvVars(env).any(&Self::VARIABLES) {
            return Ok(None);
        }
        Self::from_env(env).map(Some)
    }

    /// Reads the settings; returns every problem at once, each at its variable.
    pub fn from_env(env: &[(String, String)]) -> Result<OncallSettings, Vec<Problem>> {
        let vars = EnvVars(env);
        let get = |k: &str| vars.get(k);
        let flag = |k: &str| vars.flag(k);
        let mut p = Problems::default();
        let number = |k: &str, p: &mut Problems| vars.number(k, p);
        let repeat_count = number("CALL_REPEAT_COUNT", &mut p).unwrap_or(3);
        let interval_name = [
            "CALL_STATE_CHECK_INTERVAL_SECONDS",
            "CALL_STATE_CHACK_INTERVAL_SECONDS",
        ]
        .into_iter()
        .find(|k| get(k).is_some())
        .unwrap_or("CALL_STATE_CHECK_INTERVAL_SECONDS");
        let interval = number(interval_name, &mut p).unwrap_or(60);
        let interval = Duration::from_secs(interval);
        if interval > MAX_CHECK_INTERVAL {
            p.push(
                interval_name,
                format!(
                    "the check interval is at most {} s (an SQS delay)",
                    MAX_CHECK_INTERVAL.as_secs()
                ),
            );
        }
        // The rotation's own zone, else the one `timezone` of the deployment, else the default.
        let zone = ["ONCALL_TIMEZONE", "timezone", "OPSBELL__TIMEZONE"]
            .into_iter()
            .find_map(|name| get(name).map(|z| (name, z)));
        let timezone: Tz = match zone {
            None => crate::time::DEFAULT_TIMEZONE,
            Some((name, z)) => z.parse().unwrap_or_else(|_| {
                p.push(name, format!("{z:?} is not a time zone"));
                crate::time::DEFAULT_TIMEZONE
            }),
        };
        let fallback = get("CONNECT_EXTRA_DESTINATION_PHONE_NUMBER");
        if let Some(f) = fallback.as_deref().filter(|f| !is_e164(f)) {
            p.push(
                "CONNECT_EXTRA_DESTINATION_PHONE_NUMBER",
                format!("{f:?} is not an E.164 number"),
            );
        }
        let connect = match (get("CONNECT_INSTANCE_ID"), get("CONNECT_CONTACT_FLOW_ID")) {
            (Some(instance_id), Some(contact_flow_id)) => Some(ConnectSettings {
                instance_id,
                contact_flow_id,
                source_phone_number: get("CONNECT_SOURCE_PHONE_NUMBER"),
                queue_id: get("CONNECT_QUEUE_ID"),
                answer_attribute: get("CONNECT_ANSWER_ATTRIBUTE")
                    .unwrap_or_else(|| "isTalking".into()),
            }),
            _ => None,
        };
        let dry_run = flag("DRY_RUN") || connect.is_none();
        if let Some(c) = &connect
            && c.source_phone_number.is_none()
            && c.queue_id.is_none()
        {
            p.push(
                "CONNECT_SOURCE_PHONE_NUMBER",
                "set CONNECT_SOURCE_PHONE_NUMBER (or CONNECT_QUEUE_ID)",
            );
        }
        let (bucket, files_dir) = (get("PHONE_NUMBER_BUCKET"), get("ONCALL_FILES_DIR"));
        if bucket.is_none() && files_dir.is_none() {
            p.push(
                "PHONE_NUMBER_BUCKET",
                "set PHONE_NUMBER_BUCKET (S3) or ONCALL_FILES_DIR (a local folder)",
            );
        }
        if !p.0.is_empty() {
            return Err(p.0);
        }
        Ok(OncallSettings {
            bucket,
            files_dir,
            rotation_file: get("PHONE_NUMBER_JSON_FILE")
                .unwrap_or_else(|| "phoneNumber.json".into()),
            mapping_file: get("MAPPING_JSON_FILE"),
            message: get("CONNECT_ALARM_MSG").unwrap_or_else(|| DEFAULT_MESSAGE.into()),
            speak_details: flag("ONCALL_SPEAK_ALARM_DETAILS"),
            plan: PlanOptions {
                repeat_count: u32::try_from(repeat_count).unwrap_or(3),
                repeat_group: flag("CALL_REPEAT_GROUP"),
                fallback,
                timezone,
            },
            interval,
            dry_run,
            connect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn predecessor_names_and_defaults() {
        let s = OncallSettings::from_env(&env(&[
            ("PHONE_NUMBER_BUCKET", "rotations"),
            ("CONNECT_INSTANCE_ID", "i-1"),
            ("CONNECT_CONTACT_FLOW_ID", "f-1"),
            ("CONNECT_SOURCE_PHONE_NUMBER", "+815000000000"),
            ("CALL_REPEAT_GROUP", "True"),
            ("CALL_STATE_CHACK_INTERVAL_SECONDS", "30"),
            ("CONNECT_EXTRA_DESTINATION_PHONE_NUMBER", "+815099999999"),
        ]))
        .unwrap();
        assert_eq!(s.rotation_file, "phoneNumber.json");
        assert_eq!(s.interval, Duration::from_secs(30));
        assert!(s.plan.repeat_group && !s.dry_run);
        assert_eq!(s.plan.repeat_count, 3);
        assert_eq!(s.plan.fallback.as_deref(), Some("+815099999999"));
        assert_eq!(s.connect.unwrap().answer_attribute, "isTalking");
    }

    #[test]
    fn without_connect_it_is_a_dry_run_and_problems_are_listed() {
        let s = OncallSettings::from_env(&env(&[("ONCALL_FILES_DIR", "samplejson")])).unwrap();
        assert!(s.dry_run);
        let err = OncallSettings::from_env(&env(&[
            ("CALL_REPEAT_COUNT", "three"),
            ("CALL_STATE_CHECK_INTERVAL_SECONDS", "3600"),
        ]))
        .unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
    }
}
