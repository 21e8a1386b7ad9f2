//! The shared HTTP client and the retry policy, written once as data.
//!
//! 2xx succeeds; 408, 429 and 5xx except 501 are retried with full-jitter backoff, honouring
//! `Retry-After`, and never past the caller's deadline; every other status is permanent.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;
use tracing::warn;

use crate::ports::NotifyError;

/// An HTTP answer: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Reply {
    pub fn new(status: u16, body: serde_json::Value) -> Self {
        Reply { status, body }
    }
}

/// Longest response text kept in an error (vendors explain refusals in the body).
const DETAIL_MAX: usize = 200;

/// One client per process: connection pools and TLS sessions are shared by every adapter.
pub fn client() -> reqwest::Client {
    client_builder()
        .build()
        .expect("static client settings are valid")
}

/// The settings of every opsbell client (timeouts, user agent, TLS), for a client that needs
/// more (Windows authentication's one-connection pool).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("opsbell/", env!("CARGO_PKG_VERSION")))
        .tls_backend_preconfigured(tls::config())
}

/// TLS as reqwest's own `rustls` setting makes it (the platform verifier over the system's
/// roots), except that the roots are read at the first TLS handshake instead of when the client
/// is built, and once per process for every client. Reading them is most of a cold start's
/// set-up: on Debian, one bundle and 150 files of `/etc/ssl/certs` (about 4 ms of the 9 ms
/// `opsbell send` took); a Lambda that posts nothing over TLS, or not yet, no longer pays for
/// them in INIT, and the AWS SDK (over this client: `opsbell_aws::http`) shares them.
mod tls {
    use std::sync::{Arc, OnceLock};

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, Error, SignatureScheme};
    use rustls_platform_verifier::Verifier;

    pub fn config() -> rustls::ClientConfig {
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the provider supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LazyVerifier { provider }))
            .with_no_client_auth();
        // reqwest is built without HTTP/2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config
    }

    /// The process's one [`Verifier`]: every client (vendors, Windows authentication, the AWS
    /// SDK's) checks certificates against the roots read once, at the first TLS handshake.
    static VERIFIER: OnceLock<Result<Verifier, Error>> = OnceLock::new();

    /// [`VERIFIER`], made on first use.
    #[derive(Debug)]
    struct LazyVerifier {
        provider: Arc<CryptoProvider>,
    }

    impl LazyVerifier {
        fn get(&self) -> Result<&Verifier, Error> {
            let made = VERIFIER.get_or_init(|| Verifier::new(self.provider.clone()));
            made.as_ref().map_err(Clone::clone)
        }
    }

    impl ServerCertVerifier for LazyVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            self.get()?.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.get()?.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.get()?.verify_tls13_signature(message, cert, dss)
        }

        /// The provider's, as the platform verifier answers: asked at every ClientHello, so it
        /// must not read the roots.
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}

/// What to do with a response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Retry,
    Permanent,
}

pub fn classify(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Success,
        408 | 429 => Verdict::Retry,
        501 => Verdict::Permanent,
        500..=599 => Verdict::Retry,
        _ => Verdict::Permanent,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Time kept free before the deadline (to record the outcome).
    pub margin: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            margin: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: uniform in [0, min(max, base·2^(attempt-1))].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        cap.mul_f64(fastrand::f64())
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare from these vendors and is ignored).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// A successful response.
#[derive(Debug)]
pub struct Sent {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub attempts: u32,
}

/// Sends the request `make` builds, retrying per `policy` until `deadline`. `target` names the
/// destination in logs (never its URL).
pub async fn send_with_retry(
    target: &str,
    policy: &RetryPolicy,
    deadline: Instant,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Sent, NotifyError> {
    let make = &make;
    let sent = retrying(target, policy, deadline, move |attempt| async move {
        let resp = match make().send().await {
            Ok(resp) => resp,
            Err(e) if e.is_builder() => {
                return Step::Done(Err(NotifyError::Permanent {
                    status: 0,
                    detail: e.without_url().to_string(),
                    attempts: attempt,
                }));
            }
            Err(e) => return Step::Retry(describe(e), None),
        };
        let status = resp.status().as_u16();
        let hint = retry_after(resp.headers());
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        match classify(status) {
            Verdict::Success => Step::Done(Ok(Sent {
                status,
                headers,
                body,
                attempts: attempt,
            })),
            Verdict::Permanent => Step::Done(Err(NotifyError::Permanent {
                status,
                detail: summary(&body),
                attempts: attempt,
            })),
            Verdict::Retry => Step::Retry(format!("HTTP {status}: {}", snippet(&body)), hint),
        }
    })
    .await;
    sent.and_then(|sent| sent)
}

/// What one attempt came to.
pub enum Step<T> {
    /// Finished, well or not: no more attempts.
    Done(T),
    /// Worth another attempt: what went wrong, and how long the server asked us to wait.
    Retry(String, Option<Duration>),
}

/// Makes `attempt(n)` for n = 1, 2, … per `policy`: after a [`Step::Retry`] it waits the
/// server's `Retry-After` or a jittered backoff, unless that would pass `deadline` or the
/// attempts are used up, which is [`NotifyError::Retryable`]. The one retry loop of every HTTP
/// call, whatever its shape (a plain request, an NTLM handshake).
pub async fn retrying<T, F: std::future::Future<Output = Step<T>>>(
    target: &str,
    policy: &RetryPolicy,
    deadline: Instant,
    mut attempt: impl FnMut(u32) -> F,
) -> Result<T, NotifyError> {
    let mut n = 0;
    loop {
        n += 1;
        let (detail, hint) = match attempt(n).await {
            Step::Done(done) => return Ok(done),
            Step::Retry(detail, hint) => (detail, hint),
        };
        let delay = hint.unwrap_or_else(|| policy.backoff(n));
        let fits = Instant::now() + delay + policy.margin < deadline;
        if n >= policy.max_attempts || !fits {
            return Err(NotifyError::Retryable {
                detail,
                attempts: n,
                retry_after: hint,
            });
        }
        warn!(target_name = target, attempt = n, ?delay, error = %detail, "Delivery failed, retrying.");
        tokio::time::sleep(delay).await;
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (query values, URL paths).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

/// A refusal's body for the error text: Google's structured errors (AIP-193:
/// `{"error": {"status", "message", "details": [{"reason"}]}}`) with the reason first, since the
/// reason is what tells a removed space from a disabled API and may lie past the snippet's end;
/// anything else as a snippet.
pub(crate) fn summary(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let Some(message) = error
        .and_then(|e| e.get("message"))
        .and_then(|m| m.as_str())
    else {
        return snippet(body);
    };
    let status = error
        .and_then(|e| e.get("status"))
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    let reasons: Vec<&str> = error
        .and_then(|e| e.get("details"))
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("reason").and_then(|r| r.as_str()))
        .collect();
    let head = [status, &reasons.join(",")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    snippet(&format!("{head}: {message}"))
}

fn snippet(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(DETAIL_MAX) {
        Some((i, _)) => format!("{}…", &body[..i]),
        None => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_code_has_the_documented_verdict() {
        for status in 100..=599u16 {
            let expected = match status {
                200..=299 => Verdict::Success,
                408 | 429 => Verdict::Retry,
                500 | 502..=599 => Verdict::Retry,
                _ => Verdict::Permanent,
            };
            assert_eq!(classify(status), expected, "HTTP {status}");
        }
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let p = RetryPolicy {
            max_delay: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        for attempt in 1..40 {
            assert!(p.backoff(attempt) <= Duration::from_secs(3));
        }
        let first: Vec<_> = (0..50).map(|_| p.backoff(1)).collect();
        assert!(first.iter().all(|d| *d <= p.base_delay));
        assert!(first.windows(2).any(|w| w[0] != w[1]), "no jitter");
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn google_errors_lead_with_their_reason() {
        let long = "x".repeat(400);
        let body = serde_json::json!({"error": {"code": 403, "message": long, "status": "PERMISSION_DENIED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}]}});
        let s = summary(&serde_json::to_string_pretty(&body).unwrap());
        assert!(
            s.starts_with("PERMISSION_DENIED SERVICE_DISABLED: xxx"),
            "{s}"
        );
        assert!(s.chars().count() <= DETAIL_MAX + 1);
        assert_eq!(summary("plain refusal"), "plain refusal");
        assert_eq!(summary(r#"{"errors": ["bad"]}"#), r#"{"errors": ["bad"]}"#);
    }
}
