//! CloudWatch alarms arriving by SNS. The Lambda SNS record's `Message` is the alarm as a JSON
//! string: `AlarmName`, `NewStateValue` (ALARM | OK | INSUFFICIENT_DATA), `NewStateReason`,
//! `StateChangeTime` (`+0000`, no colon), `AlarmArn` (the region *code*; `Region` is a display
//! name), and a `Trigger` with a metric — or `Metrics[]` for metric-math alarms, or nothing for
//! composite alarms. The iPF Google Chat bot's documented custom alarm (`AlarmName`,
//! `StateChangeTime`, `NewStateReason`, `Trigger{Namespace, MetricName, Unit, Statistic,
//! Dimensions[{name}]}`, and no `NewStateValue`) is an alarm too: anything with an `AlarmName`
//! and no `NewStateValue` counts as ALARM. A single metric's trigger is shown as facts. Any other
//! message (a custom JSON, plain text) is still delivered, as an alarm named by the SNS subject.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::sns::SnsMessage;
use super::{Inbound, ParseError};
use crate::event::truncate;
use crate::event::{Event, INFO_MAX_CHARS, Source, State};
use crate::http::percent_encode;
use crate::time::parse_utc;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Alarm {
    alarm_name: String,
    #[serde(default)]
    alarm_description: Option<String>,
    #[serde(rename = "AWSAccountId", default)]
    account: Option<String>,
    /// Absent in the iPF bot's custom alarms: ALARM.
    #[serde(default)]
    new_state_value: Option<String>,
    #[serde(default)]
    old_state_value: Option<String>,
    #[serde(default)]
    new_state_reason: Option<String>,
    #[serde(default)]
    state_change_time: Option<String>,
    #[serde(default)]
    alarm_arn: Option<String>,
    #[serde(default)]
    trigger: Option<Value>,
    #[serde(default)]
    alarm_rule: Option<String>,
}

/// One SNS record (the `Sns` object of a Lambda SNS event, as JSON) as an event: for payloads
/// read from a file (`opsbell send`).
pub fn parse_sns(sns: &Value, received_at: DateTime<Utc>) -> Result<Inbound, ParseError> {
    let record: SnsMessage = serde_path_to_error::deserialize(sns)
        .map_err(|e| ParseError::new(format!("Sns.{}", e.path()), e.into_inner().to_string()))?;
    sns_events(&record, received_at)
}

/// A typed SNS notification as an event: a CloudWatch alarm, or any other message as an alarm
/// named by its subject.
pub fn sns_events(record: &SnsMessage, received_at: DateTime<Utc>) -> Result<Inbound, ParseError> {
    let message = record.message.clone().unwrap_or_default();
    let at = record
        .timestamp
        .as_deref()
        .and_then(parse_utc)
        .unwrap_or(received_at);
    let event = match serde_json::from_str::<Alarm>(&message) {
        Ok(alarm) => alarm_event(alarm, at)?,
        Err(_) => plain_event(record, &message, at),
    };
    let mut event = event;
    event.origin_id = record.message_id.clone();
    Ok(Inbound::Events(vec![event]))
}

fn alarm_event(alarm: Alarm, at: DateTime<Utc>) -> Result<Event, ParseError> {
    let new_state = alarm.new_state_value.as_deref().unwrap_or("ALARM");
    let state = match new_state {
        "ALARM" => State::Alarm,
        "OK" => State::Ok,
        "INSUFFICIENT_DATA" => State::InsufficientData,
        other => {
            return Err(ParseError::new(
                "Message.NewStateValue",
                format!("unknown state {other:?}"),
            ));
        }
    };
    let changed = alarm
        .state_change_time
        .as_deref()
        .and_then(parse_utc)
        .unwrap_or(at);
    // arn:aws:cloudwatch:<region>:<account>:alarm:<name>
    let arn: Vec<&str> = alarm
        .alarm_arn
        .as_deref()
        .unwrap_or_default()
        .split(':')
        .collect();
    let region = arn.get(3).map(|r| r.to_string()).filter(|r| !r.is_empty());
    let account = alarm
        .account
        .clone()
        .or_else(|| arn.get(4).map(|a| a.to_string()));
    let scope = format!(
        "{}/{}",
        account.as_deref().unwrap_or("-"),
        region.as_deref().unwrap_or("-")
    );
    // The same alarm change delivered twice (SNS is at-least-once) has the same key.
    let subject = format!("{}@{}", alarm.alarm_name, changed.timestamp_millis());
    let mut event = Event::new(
        Source::Cloudwatch,
        &scope,
        &subject,
        state,
        alarm.alarm_name.clone(),
        changed,
    );
    let mut info = Vec::new();
    if let Some(d) = alarm.alarm_description.filter(|d| !d.is_empty()) {
        info.push(d);
    }
    if let Some(r) = alarm.new_state_reason {
        info.push(r);
    }
    if let Some(old) = alarm.old_state_value {
        info.push(format!("{old} → {new_state}"));
    }
    let facts = alarm
        .trigger
        .as_ref()
        .map(trigger_facts)
        .unwrap_or_default();
    if !facts.is_empty() {
        event.details = facts;
    } else if let Some(metric) = alarm.trigger.as_ref().and_then(metric_math) {
        info.push(metric);
    } else if let Some(rule) = alarm.alarm_rule {
        info.push(format!("Composite: {rule}"));
    }
    event.info = Some(truncate(&info.join("\n"), INFO_MAX_CHARS));
    event.tenant = account;
    event.folder = region.clone();
    event.link = region.map(|r| {
        format!(
            "https://{r}.console.aws.amazon.com/cloudwatch/home?region={r}#alarmsV2:alarm/{}",
            percent_encode(&alarm.alarm_name)
        )
    });
    Ok(event)
}

/// A single metric's trigger as facts: namespace, metric, statistic, unit, and the dimensions
/// (`InstanceId=i-1`, or just their names, as the iPF bot's alarms give them).
fn trigger_facts(trigger: &Value) -> Vec<(String, String)> {
    if text(trigger, "MetricName").is_none() {
        return Vec::new();
    }
    let dims: Vec<String> = trigger
        .get("Dimensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let name = text(d, "name")?;
            Some(match text(d, "value") {
                Some(value) => format!("{name}={value}"),
                None => name,
            })
        })
        .collect();
    let dims = (!dims.is_empty()).then(|| dims.join(", "));
    let fields = [
        ("Namespace", text(trigger, "Namespace")),
        ("Metric", text(trigger, "MetricName")),
        (
            "Statistic",
            text(trigger, "Statistic").or(text(trigger, "ExtendedStatistic")),
        ),
        ("Unit", text(trigger, "Unit")),
        ("Dimensions", dims),
    ];
    fields
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect()
}

/// A string member, when it is there and not empty.
fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The metric-math expressions of a trigger without a single metric (`Metrics[]`).
fn metric_math(trigger: &Value) -> Option<String> {
    let metrics = trigger.get("Metrics")?.as_array()?;
    let parts: Vec<String> = metrics
        .iter()
        .filter_map(|m| {
            text(m, "Expression").or_else(|| {
                let stat = m.get("MetricStat")?;
                let metric = stat.get("Metric")?;
                Some(format!(
                    "{} {}",
                    text(metric, "Namespace")?,
                    text(metric, "MetricName")?
                ))
            })
        })
        .collect();
    (!parts.is_empty()).then(|| format!("Metrics: {}", parts.join("; ")))
}

fn plain_event(record: &SnsMessage, message: &str, at: DateTime<Utc>) -> Event {
    let topic = record
        .topic_arn
        .as_deref()
        .and_then(|a| a.rsplit(':').next())
        .unwrap_or("sns");
    let title = record
        .subject
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| topic.to_string());
    let subject = record
        .message_id
        .clone()
        .unwrap_or_else(|| at.timestamp_millis().to_string());
    let mut event = Event::new(Source::Cloudwatch, topic, &subject, State::Alarm, title, at);
    event.info = Some(truncate(message, INFO_MAX_CHARS));
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        let path = format!(
            "{}/../../samplejson/sns-cloudwatch-alarm-single-metric-lambda-event.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        event["Records"][0]["Sns"].clone()
    }

    fn one(sns: &Value) -> Event {
        let Inbound::Events(mut events) = parse_sns(sns, DateTime::UNIX_EPOCH).unwrap() else {
            panic!()
        };
        events.remove(0)
    }

    #[test]
    fn the_sample_alarm() {
        let e = one(&sample());
        assert_eq!(
            (e.source, e.state, e.process.as_str()),
            (Source::Cloudwatch, State::Alarm, "EXAMPLE")
        );
        assert_eq!(
            e.key.as_str(),
            "cloudwatch:123456789012/REGION:example@1433353407123:alarm"
        );
        assert_eq!(
            e.occurred_at,
            parse_utc("2015-06-03T17:43:27.123Z").unwrap()
        );
        let info = e.info.unwrap();
        assert!(
            info.contains("Threshold Crossed") && info.contains("INSUFFICIENT_DATA → ALARM"),
            "{info}"
        );
        let facts: Vec<(&str, &str)> = e
            .details
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            facts,
            [
                ("Namespace", "AWS/EC2"),
                ("Metric", "NetworkOut"),
                ("Statistic", "AVERAGE"),
                ("Unit", "Bytes"),
                ("Dimensions", "InstanceId=TestInstance"),
            ]
        );
        assert_eq!(
            e.origin_id.as_deref(),
            Some("95df01b4-ee98-5cb9-9903-4c221d41eb5e")
        );
    }

    /// The iPF Google Chat bot's documented custom alarm message.
    #[test]
    fn the_ipf_custom_alarm_is_an_alarm_titled_by_its_name() {
        let mut sns = sample();
        let custom = serde_json::json!({
            "AlarmName": "ipf-prod-api 5xx",
            "StateChangeTime": "2026-12-01T03:04:05.678+0000",
            "NewStateReason": "5xx count 12 > 5",
            "Trigger": {"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count",
                        "Unit": "Count", "Statistic": "Sum",
                        "Dimensions": [{"name": "LoadBalancer"}, {"name": "TargetGroup"}]}
        });
        sns["Message"] = custom.to_string().into();
        sns["Subject"] = "ipf-aws-alarm-bot".into();
        let e = one(&sns);
        assert_eq!(
            (e.state, e.process.as_str(), e.info.as_deref()),
            (State::Alarm, "ipf-prod-api 5xx", Some("5xx count 12 > 5"))
        );
        assert_eq!(
            e.occurred_at,
            parse_utc("2026-12-01T03:04:05.678Z").unwrap()
        );
        let facts: Vec<(&str, &str)> = e
            .details
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            facts,
            [
                ("Namespace", "AWS/ApplicationELB"),
                ("Metric", "HTTPCode_Target_5XX_Count"),
                ("Statistic", "Sum"),
                ("Unit", "Count"),
                ("Dimensions", "LoadBalancer, TargetGroup"),
            ]
        );
    }

    #[test]
    fn metric_math_ok_and_plain_messages() {
        let mut sns = sample();
        let mut alarm: Value = serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
        alarm["NewStateValue"] = "OK".into();
        alarm["AlarmArn"] = "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:db cpu".into();
        alarm["AlarmName"] = "db cpu".into();
        alarm["Trigger"] = serde_json::json!({ "Metrics": [{ "Id": "e1", "Expression": "m1 / m2", "ReturnData": true }] });
        sns["Message"] = alarm.to_string().into();
        let e = one(&sns);
        assert_eq!(e.state, State::Ok);
        assert_eq!(e.folder.as_deref(), Some("ap-northeast-1"));
        assert!(e.info.as_deref().unwrap().contains("Metrics: m1 / m2"));
        assert!(e.link.unwrap().ends_with("#alarmsV2:alarm/db%20cpu"));

        sns["Message"] = "Disk almost full on db-1".into();
        sns["Subject"] = "db-1 disk".into();
        let e = one(&sns);
        assert_eq!((e.state, e.process.as_str()), (State::Alarm, "db-1 disk"));
        assert_eq!(e.info.as_deref(), Some("Disk almost full on db-1"));
    }
}
