//! The dialer of a dry run: never calls anyone (every step is logged and the plan told to chat).

use async_trait::async_trait;

use crate::ports::{Dialer, EscalationError};

/// Never dials; for dry runs (every step is logged and the plan told to chat instead).
pub struct DryRunDialer;

#[async_trait]
impl Dialer for DryRunDialer {
    async fn dial(
        &self,
        number: &str,
        _message: &str,
        _token: &str,
    ) -> Result<String, EscalationError> {
        Err(EscalationError::Dial(format!(
            "dry run: {number} not called"
        )))
    }

    async fn answered(&self, _contact_id: &str) -> Result<bool, EscalationError> {
        Ok(false)
    }
}
