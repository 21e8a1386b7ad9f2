//! Amazon Connect as the on-call [`Dialer`].
//! <https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html>
//!
//! `StartOutboundVoiceContact` with the step's `ClientToken` (a retried step is the same call) and
//! the attributes the predecessor's contact flows expect: `message` (the text twice, so the flow
//! can play it in one prompt) and the answer attribute set to `"false"`; the flow sets it to
//! `"true"` once the callee confirms. `GetContactAttributes` reads it back. Connect allows about 2
//! requests a second per account and region: calls are spaced; throttled calls are retried by the
//! SDK's standard retry (3 attempts), then by the escalation within its step
//! (`EscalationError::Unavailable`); only a refused number moves the escalation on.

use async_trait::async_trait;
use aws_sdk_connect::Client;
use aws_sdk_connect::config::http::HttpResponse;
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use opsbell_core::client::RateLimiter;
use opsbell_core::oncall::settings::ConnectSettings;
use opsbell_core::ports::{Dialer, EscalationError};

use crate::describe;

pub struct ConnectDialer {
    client: Client,
    settings: ConnectSettings,
    limiter: RateLimiter,
}

impl ConnectDialer {
    pub fn new(client: Client, settings: ConnectSettings) -> Self {
        ConnectDialer {
            client,
            settings,
            limiter: RateLimiter::per_minute(120),
        }
    }

    pub fn from_config(config: &aws_config::SdkConfig, settings: ConnectSettings) -> Self {
        Self::new(Client::new(config), settings)
    }
}

/// Throttling, Connect's own failures (5xx) and a request that never got an answer mean "not
/// now": the escalation tries the same call again ([`EscalationError::Unavailable`]). A refusal
/// of opsbell itself (its role, the instance, the contact flow, outbound calling) means no call
/// can be placed to anyone: the escalation stops there loudly ([`EscalationError::Config`]).
/// Anything else Connect refused (an invalid or disallowed number) means this callee cannot be
/// reached, and the escalation moves on.
fn dial_err<E>(e: SdkError<E, HttpResponse>) -> EscalationError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = describe(&e);
    match &e {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or_default();
            let status = ctx.raw().status().as_u16();
            if NOT_NOW.contains(&code) || status >= 500 {
                EscalationError::Unavailable(text)
            } else if CONFIG.contains(&code) || matches!(status, 401 | 403) {
                EscalationError::Config(text)
            } else {
                EscalationError::Dial(text)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            EscalationError::Unavailable(text)
        }
        _ => EscalationError::Dial(text),
    }
}

/// Connect's error codes that mean "try again later".
const NOT_NOW: [&str; 3] = [
    "ThrottlingException",
    "InternalServiceException",
    "LimitExceededException",
];

/// Connect's (and AWS's) error codes that refuse opsbell itself, whoever is called.
/// <https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html#API_StartOutboundVoiceContact_Errors>
const CONFIG: [&str; 8] = [
    "AccessDeniedException",
    "ResourceNotFoundException",
    "InvalidRequestException",
    "OutboundContactNotPermittedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
];

#[async_trait]
impl Dialer for ConnectDialer {
    async fn dial(
        &self,
        number: &str,
        message: &str,
        token: &str,
    ) -> Result<String, EscalationError> {
        self.limiter.acquire().await;
        let s = &self.settings;
        let out = self
            .client
            .start_outbound_voice_contact()
            .instance_id(&s.instance_id)
            .contact_flow_id(&s.contact_flow_id)
            .destination_phone_number(number)
            .set_source_phone_number(s.source_phone_number.clone())
            .set_queue_id(s.queue_id.clone())
            .attributes("message", format!("{message}{message}"))
            .attributes(&s.answer_attribute, "false")
            .client_token(token)
            .send()
            .await
            .map_err(dial_err)?;
        out.contact_id()
            .map(String::from)
            .ok_or_else(|| EscalationError::Dial("no ContactId in the answer".into()))
    }

    async fn answered(&self, contact_id: &str) -> Result<bool, EscalationError> {
        self.limiter.acquire().await;
        let out = self
            .client
            .get_contact_attributes()
            .instance_id(&self.settings.instance_id)
            .initial_contact_id(contact_id)
            .send()
            .await
            .map_err(dial_err)?;
        let value = out
            .attributes()
            .and_then(|a| a.get(&self.settings.answer_attribute));
        Ok(value.is_some_and(|v| v.eq_ignore_ascii_case("true")))
    }
}
