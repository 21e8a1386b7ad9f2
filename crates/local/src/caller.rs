//! The on-call caller inside `opsbell serve`: the same escalation state machine, always a dry
//! run (no phone is dialled without Connect), with checks on in-process timers. Pending timers do
//! not survive a restart; the incident records do.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use opsbell_core::escalation::Escalation;
use opsbell_core::escalation::dry_run::DryRunDialer;
use opsbell_core::escalation::trigger::DirFiles;
use opsbell_core::oncall::settings::OncallSettings;
use opsbell_core::ports::{Check, CheckQueue, EscalationError, Escalations, Start};
use opsbell_core::ports::{Queue, Records};
use tracing::error;

/// How often a failing check is run before giving up (the check queue's receive limit).
const CHECK_ATTEMPTS: u32 = 5;
/// The wait before the n-th retry is n times this.
const CHECK_RETRY: Duration = Duration::from_millis(200);

pub struct LocalCaller {
    records: Arc<dyn Records>,
    events: Arc<dyn Queue>,
    settings: OncallSettings,
    files: DirFiles,
    me: Weak<LocalCaller>,
}

impl LocalCaller {
    pub fn new(
        records: Arc<dyn Records>,
        events: Arc<dyn Queue>,
        settings: OncallSettings,
    ) -> Arc<LocalCaller> {
        let files = DirFiles(
            settings
                .files_dir
                .clone()
                .unwrap_or_else(|| ".".into())
                .into(),
        );
        Arc::new_cyclic(|me| LocalCaller {
            records,
            events,
            settings,
            files,
            me: me.clone(),
        })
    }

    fn escalation(&self) -> Escalation<'_> {
        Escalation {
            records: self.records.as_ref(),
            dialer: &DryRunDialer,
            checks: self,
            events: self.events.as_ref(),
            interval: self.settings.interval,
            dry_run: true,
        }
    }
}

#[async_trait]
impl CheckQueue for LocalCaller {
    async fn schedule(&self, check: &Check, delay: Duration) -> Result<(), EscalationError> {
        let me = self
            .me
            .upgrade()
            .ok_or_else(|| EscalationError::Schedule("caller stopped".into()))?;
        let check = check.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // As the check queue redelivers a failed check: a check that runs before its step
            // was saved (`NotYet`, likely with no delay) or that met a failing store comes back.
            for attempt in 1..=CHECK_ATTEMPTS {
                match me.escalation().check(&check, Utc::now()).await {
                    Ok(_) => return,
                    Err(e) if attempt < CHECK_ATTEMPTS => {
                        tracing::debug!(incident = %check.incident, error = %e, attempt, "On-call check comes back.");
                        tokio::time::sleep(CHECK_RETRY * attempt).await;
                    }
                    Err(e) => {
                        error!(incident = %check.incident, error = %e, "On-call check failed; the escalation stops here.");
                    }
                }
            }
        });
        Ok(())
    }
}

#[async_trait]
impl Escalations for LocalCaller {
    async fn start(&self, start: &Start) -> Result<(), EscalationError> {
        let now = Utc::now();
        self.escalation()
            .start_for(start, &self.settings, &self.files, now)
            .await
            .map(|_| ())
    }
}
