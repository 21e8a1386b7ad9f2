//! The `oncall-caller` Lambda. Two triggers, one state machine ([`Escalation`]):
//! - SNS (an alarm topic, as lambda-connect was wired): the topic picks the rotation through the
//!   mapping file; the incident is keyed by the SNS `MessageId`, so a duplicated delivery or a
//!   retried invocation finds it and dials nobody twice. The first call is placed.
//! - SQS (the caller's queue): delayed checks, one per message, and starts sent by alarm-fanout's
//!   `oncall` route target (keyed by the event key), and SNS alarms redriven from the caller's
//!   DLQ (Lambda's failure records of SNS invocations that failed after their retries). Answers
//!   with a partial batch response, so only failed messages come back.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsMessage};
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
use opsbell_aws::lambda::{Retry, Trigger, partial_batch};
use opsbell_core::escalation::{Escalation, Outcome};
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::ports::{Check, Files, Start};
use opsbell_core::source::lambda::failed_sns_records;
use opsbell_core::source::sns::SnsMessage;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::error;

/// What arrives on the caller's queue: a delayed check, or a start from an `oncall` route.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Command {
    Start { start: Start },
    Check(Check),
}

pub struct Caller<'a> {
    pub settings: &'a OncallSettings,
    pub files: &'a dyn Files,
    pub escalation: Escalation<'a>,
}

/// What an invocation answers: the queue's messages to return (none for SNS, whose failures fail
/// the invocation), and what each escalation start did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Answer {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
    pub started: Vec<Outcome>,
}

pub async fn handle(event: LambdaEvent<Trigger>, caller: &Caller<'_>) -> Result<Answer, Error> {
    let mut answer = Answer::default();
    match event.payload {
        Trigger::Sns(sns) => {
            for record in &sns.records {
                answer.started.push(start(&record.sns, caller).await?);
            }
        }
        Trigger::Sqs(sqs) => {
            // One at a time: a start and the checks of one incident must not race.
            let (response, started) = partial_batch(&sqs.records, 1, |m| message(m, caller)).await;
            answer.batch_item_failures = response.batch_item_failures;
            answer.started = started.into_iter().flatten().collect();
        }
    }
    Ok(answer)
}

/// One message of the caller's queue: the escalations it started, or [`Retry`].
async fn message(m: &SqsMessage, caller: &Caller<'_>) -> Result<Vec<Outcome>, Retry> {
    let id = m.message_id.as_deref().unwrap_or_default();
    let body = m.body.as_deref().unwrap_or_default();
    // A redriven alarm: the failure record of an SNS invocation that failed after its retries;
    // started now as it would have been (the incident id is the same).
    if let Some(sns) = failed_sns_records(body) {
        let mut started = Vec::new();
        for record in &sns {
            match start(&record.sns, caller).await {
                Ok(outcome) => started.push(outcome),
                Err(e) => {
                    error!(message_id = id, error = %e, "Redriven alarm failed; it will be retried.");
                    return Err(Retry);
                }
            }
        }
        return Ok(started);
    }
    if let Err(e) = command(body, caller).await {
        error!(message_id = id, error = %e, "On-call message failed; it will be retried.");
        return Err(Retry);
    }
    Ok(Vec::new())
}

async fn command(body: &str, caller: &Caller<'_>) -> Result<(), String> {
    let now = Utc::now();
    match serde_json::from_str::<Command>(body)
        .map_err(|e| format!("neither a check nor a start: {e}"))?
    {
        Command::Check(check) => caller
            .escalation
            .check(&check, now)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Command::Start { start } => {
            let escalation = &caller.escalation;
            let result = escalation
                .start_for(&start, caller.settings, caller.files, now)
                .await;
            result.map(|_| ()).map_err(|e| e.to_string())
        }
    }
}

async fn start(sns: &SnsMessage, caller: &Caller<'_>) -> Result<Outcome, Error> {
    let topic = sns.topic();
    // The MessageId keys the incident; an event without one (lambda-connect's minimal sample) is
    // keyed by its content, so the same delivery twice is still one incident.
    let id = match sns.message_id.as_deref().unwrap_or_default() {
        "" => {
            let content = serde_json::to_string(sns).unwrap_or_default();
            let digest = Sha256::digest(content.as_bytes());
            digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
        }
        id => id.to_string(),
    };
    let (title, details) = alarm_text(sns);
    let start = Start {
        id,
        title: title.unwrap_or_else(|| format!("On-call escalation ({topic})")),
        message: details.unwrap_or_default(),
        topic: Some(topic.to_string()).filter(|t| !t.is_empty()),
    };
    let (settings, files) = (caller.settings, caller.files);
    let escalation = &caller.escalation;
    Ok(escalation
        .start_for(&start, settings, files, Utc::now())
        .await?)
}

/// The parts of a CloudWatch alarm a call says.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Alarm {
    alarm_name: String,
    #[serde(default)]
    new_state_reason: Option<String>,
}

/// The alarm's name and its details ("name. reason"), when the SNS message is a CloudWatch
/// alarm.
fn alarm_text(sns: &SnsMessage) -> (Option<String>, Option<String>) {
    let alarm = (sns.message.as_deref()).and_then(|m| serde_json::from_str::<Alarm>(m).ok());
    match alarm {
        Some(alarm) => {
            let reason = alarm.new_state_reason.unwrap_or_default();
            let spoken: String = format!("{}. {reason}", alarm.alarm_name)
                .chars()
                .take(500)
                .collect();
            (Some(alarm.alarm_name), Some(spoken))
        }
        None => (sns.subject.clone(), None),
    }
}

#[cfg(test)]
mod tests {
    use lambda_runtime::Context;
    use opsbell_core::escalation::dry_run::DryRunDialer;
    use opsbell_core::escalation::trigger::DirFiles;
    use opsbell_core::testing::{MemoryChecks, MemoryQueue, MemoryRecords};

    use super::*;

    #[tokio::test]
    async fn lambda_connects_minimal_sns_event_opens_one_incident_however_often_it_arrives() {
        let dir = format!("{}/../../samplejson", env!("CARGO_MANIFEST_DIR"));
        let env: Vec<(String, String)> = [
            ("ONCALL_FILES_DIR", dir.as_str()),
            ("MAPPING_JSON_FILE", "lambda-connect-mapping.json"),
            ("CONNECT_EXTRA_DESTINATION_PHONE_NUMBER", "+815099999999"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let settings = OncallSettings::from_env(&env).unwrap();
        let (records, checks, events) = (
            MemoryRecords::default(),
            MemoryChecks::default(),
            MemoryQueue::default(),
        );
        let files = DirFiles(dir.clone().into());
        let escalation = Escalation {
            records: &records,
            dialer: &DryRunDialer,
            checks: &checks,
            events: &events,
            interval: settings.interval,
            dry_run: true,
        };
        let caller = Caller {
            settings: &settings,
            files: &files,
            escalation,
        };
        let event: Trigger = serde_json::from_slice(
            &std::fs::read(format!("{dir}/lambda-connect-minimal-sns-event.json")).unwrap(),
        )
        .unwrap();
        let first = handle(LambdaEvent::new(event.clone(), Context::default()), &caller)
            .await
            .unwrap();
        let again = handle(LambdaEvent::new(event, Context::default()), &caller)
            .await
            .unwrap();
        assert_eq!(
            first.started,
            [Outcome::Called {
                step: 0,
                number: "+815099999999".into()
            }]
        );
        assert_eq!(again.started, [Outcome::Ignored]);
        assert_eq!(checks.checks().len(), 1);
    }
}
