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
            if let Err(e) = me.escalation().check(&check, Utc::now()).await {
                error!(incident = %check.incident, error = %e, "On-call check failed.");
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
