//! Windows authentication (NTLM over HTTP, as IIS-hosted Orchestrator asks for it), with the
//! `sspi` crate doing the NTLM itself.
//!
//! Per request, on one keep-alive connection (NTLM authenticates a connection, not a request):
//! the request with `Authorization: NTLM <negotiate>` → `401` with `WWW-Authenticate: NTLM
//! <challenge>` → the same request with `Authorization: NTLM <authenticate>` → the answer. This
//! is what the predecessor's `requests_ntlm.HttpNtlmAuth` did. The client has a pool of one
//! connection and requests are made one at a time, so the three legs share the connection.
//!
//! User names: `DOMAIN\user` (down-level) or `user@domain` (UPN), as Windows takes them.
//! <https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-ntht/>

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::{FOLDER_HEADER, NotifyError, OrchestratorError};
use crate::http::Step;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation, Ntlm,
    SecurityBuffer, SecurityStatus, Sspi, SspiImpl, Username,
};

/// One NTLM client handshake.
pub struct Handshake {
    ntlm: Ntlm,
    credentials: Option<sspi::AuthIdentityBuffers>,
    target: String,
}

impl Handshake {
    /// A handshake for `username` (`DOMAIN\user` or `user@domain`) towards `host`. A user name
    /// without a domain is refused here: Windows would try it against the server's own
    /// accounts, which is never what an Orchestrator service account is.
    pub fn new(username: &str, password: &SecretString, host: &str) -> Result<Handshake, String> {
        if !username.contains('\\') && !username.contains('@') {
            return Err(format!(
                "the NTLM user name {username:?} names no domain (write DOMAIN\\user or user@domain)"
            ));
        }
        let username = Username::parse(username)
            .map_err(|e| format!("the NTLM user name {username:?} is not valid: {e}"))?;
        let identity = AuthIdentity {
            username,
            password: password.expose_secret().to_string().into(),
        };
        let mut ntlm = Ntlm::new();
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(|e| format!("NTLM credentials: {}", e.description))?;
        Ok(Handshake {
            ntlm,
            credentials: acquired.credentials_handle,
            target: format!("HTTP/{host}"),
        })
    }

    /// The first leg: the NEGOTIATE message, as an `Authorization` value.
    pub fn negotiate(&mut self) -> Result<String, String> {
        self.step(None)
    }

    /// The third leg: the AUTHENTICATE message answering the server's `WWW-Authenticate`
    /// challenge (`NTLM <base64>`, or `Negotiate <base64>`).
    pub fn authenticate(&mut self, www_authenticate: &str) -> Result<String, String> {
        let token = challenge(www_authenticate)
            .ok_or("the server answered 401 without an NTLM challenge")?;
        let token = STANDARD
            .decode(token)
            .map_err(|_| "the server's NTLM challenge is not base64".to_string())?;
        self.step(Some(token))
    }

    fn step(&mut self, input: Option<Vec<u8>>) -> Result<String, String> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input = input.map(|t| vec![SecurityBuffer::new(t, BufferType::Token)]);
        let flags = ClientRequestFlags::ALLOCATE_MEMORY;
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(flags)
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name(&self.target)
            .with_output(&mut output);
        if let Some(input) = input.as_mut() {
            builder = builder.with_input(input);
        }
        let result = self
            .ntlm
            .initialize_security_context_impl(&mut builder)
            .and_then(|mut r| r.resolve_to_result())
            .map_err(|e| format!("NTLM: {}", e.description))?;
        if matches!(
            result.status,
            SecurityStatus::CompleteAndContinue | SecurityStatus::CompleteNeeded
        ) {
            self.ntlm
                .complete_auth_token(&mut output)
                .map_err(|e| format!("NTLM: {}", e.description))?;
        }
        Ok(format!("NTLM {}", STANDARD.encode(&output[0].buffer)))
    }
}

/// The base64 token of an NTLM (or Negotiate) challenge in a `WWW-Authenticate` value.
fn challenge(value: &str) -> Option<&str> {
    value
        .split(',')
        .map(str::trim)
        .find_map(|v| {
            v.strip_prefix("NTLM ")
                .or_else(|| v.strip_prefix("Negotiate "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// How one leg went.
pub enum Leg {
    /// The server's answer to the authenticated request.
    Done { status: u16, body: String },
    /// A failure worth another try (connection, timeout, 429, 5xx).
    Retry(String, Option<Duration>),
    /// The server refused the credentials, or offers no NTLM.
    Refused(String),
}

/// The three legs of one request, with `make` building the request each time.
pub async fn send(
    make: impl Fn() -> reqwest::RequestBuilder,
    username: &str,
    password: &SecretString,
    host: &str,
) -> Leg {
    let mut handshake = match Handshake::new(username, password, host) {
        Ok(h) => h,
        Err(e) => return Leg::Refused(e),
    };
    let negotiate = match handshake.negotiate() {
        Ok(n) => n,
        Err(e) => return Leg::Refused(e),
    };
    let first = match make().header(AUTHORIZATION, negotiate).send().await {
        Ok(r) => r,
        Err(e) => return Leg::Retry(crate::http::describe(e), None),
    };
    let status = first.status().as_u16();
    if status != 401 {
        // Not asked to authenticate (or failing before it): the answer stands as it is.
        return finish(first).await;
    }
    let offered: Vec<String> = first
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    // Read the body so the connection goes back to the pool for the third leg.
    let _ = first.bytes().await;
    let Some(offer) = offered.iter().find(|v| challenge(v).is_some()) else {
        return Leg::Refused(format!(
            "the server did not answer with an NTLM challenge (it offers: {})",
            offered.join("; ")
        ));
    };
    let authenticate = match handshake.authenticate(offer) {
        Ok(a) => a,
        Err(e) => return Leg::Refused(e),
    };
    let second = match make().header(AUTHORIZATION, authenticate).send().await {
        Ok(r) => r,
        Err(e) => return Leg::Retry(crate::http::describe(e), None),
    };
    if second.status().as_u16() == 401 {
        return Leg::Refused(format!(
            "Windows authentication as {username} was refused (wrong user name, domain or password?)"
        ));
    }
    finish(second).await
}

async fn finish(response: reqwest::Response) -> Leg {
    let status = response.status().as_u16();
    let hint = crate::http::retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    match crate::http::classify(status) {
        crate::http::Verdict::Retry => Leg::Retry(format!("HTTP {status}"), hint),
        _ => Leg::Done { status, body },
    }
}

impl super::OrchestratorClient {
    /// A GET under Windows authentication, with the retry policy's attempts for failures
    /// worth retrying.
    pub(super) async fn ntlm_get(
        &self,
        url: &str,
        folder: Option<i64>,
        username: &str,
        password: &secrecy::SecretString,
        deadline: Instant,
    ) -> Result<String, OrchestratorError> {
        let Some(client) = &self.ntlm else {
            return Err(OrchestratorError::Auth("no NTLM client".into()));
        };
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let (name, host) = (&self.source.name, &host);
        let done = crate::http::retrying(name, &self.policy, deadline, move |attempt| async move {
            self.limiter.acquire().await;
            let client = client.lock().await;
            let make = || {
                let request = client.get(url).header("Accept", "application/json");
                match folder {
                    Some(f) => request.header(FOLDER_HEADER, f.to_string()),
                    None => request,
                }
            };
            match send(make, username, password, host).await {
                Leg::Done { status, body } if (200..300).contains(&status) => Step::Done(Ok(body)),
                Leg::Done { status, body } => {
                    Step::Done(Err(OrchestratorError::Http(NotifyError::Permanent {
                        status,
                        detail: crate::http::summary(&body),
                        attempts: attempt,
                    })))
                }
                Leg::Refused(why) => Step::Done(Err(OrchestratorError::Auth(why))),
                Leg::Retry(detail, hint) => Step::Retry(detail, hint),
            }
        })
        .await;
        done.map_err(OrchestratorError::Http).and_then(|body| body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_found_among_the_offers() {
        assert_eq!(challenge("NTLM TlRMTVNTUAACAAAA"), Some("TlRMTVNTUAACAAAA"));
        assert_eq!(challenge("Negotiate abc, NTLM"), Some("abc"));
        assert_eq!(challenge("NTLM"), None);
        assert_eq!(challenge("Basic realm=\"x\""), None);
    }

    #[test]
    fn both_name_forms_make_a_negotiate_message_and_a_bare_name_is_refused() {
        let password = SecretString::from("pw");
        for name in ["CORP\\robot", "robot@corp.example.com"] {
            let mut h = Handshake::new(name, &password, "orch.example.com").unwrap();
            let token = h.negotiate().unwrap();
            let raw = STANDARD
                .decode(token.strip_prefix("NTLM ").unwrap())
                .unwrap();
            assert!(raw.starts_with(b"NTLMSSP\0\x01\0\0\0"), "{name}");
        }
        let err = Handshake::new("robot", &password, "h").err().unwrap();
        assert!(err.contains("DOMAIN\\user"), "{err}");
    }
}
