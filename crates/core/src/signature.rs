//! UiPath webhook signatures: `X-UiPath-Signature` = Base64(HMAC-SHA256(secret, raw body)).
//! <https://docs.uipath.com/orchestrator/standalone/2024.10/user-guide/about-webhooks>
//!
//! Pure functions over raw bytes: nothing here reads the environment or re-serializes JSON.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header Orchestrator signs with. Look it up case-insensitively.
pub const SIGNATURE_HEADER: &str = "x-uipath-signature";

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-UiPath-Signature header")]
    Missing,
    #[error("X-UiPath-Signature is not valid Base64")]
    Malformed,
    #[error("X-UiPath-Signature does not match any configured secret")]
    Mismatch,
}

/// Checks `header` against the body with each secret in turn (several secrets allow rotation).
/// The HMAC comparison is constant time.
pub fn verify(
    secrets: &[SecretString],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let expected = STANDARD
        .decode(header)
        .map_err(|_| SignatureError::Malformed)?;
    let matches = secrets.iter().any(|secret| {
        let mut mac = mac(secret);
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value Orchestrator would send for `body`; for tests and `opsbell sign`.
/// The first `bytes` bytes of `text`'s SHA-256, in lowercase hex: the one way opsbell derives a
/// stable id from text (Connect client tokens, Chat request ids, short incident ids, ticket
/// markers, flood-window hashes).
pub fn digest_hex(text: &str, bytes: usize) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn sign(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

fn mac(secret: &SecretString) -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot fail.
    HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2, Base64-encoded.
        let sig = sign(&secret("Jefe"), b"what do ya want for nothing?");
        assert_eq!(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    }

    #[test]
    fn accepts_any_configured_secret() {
        let body = br#"{"Type":"job.faulted"}"#;
        let sig = sign(&secret("new"), body);
        assert_eq!(
            verify(&[secret("old"), secret("new")], Some(&sig), body),
            Ok(())
        );
    }

    #[test]
    fn rejects_missing_malformed_tampered_and_wrong_secret() {
        let body = b"{}";
        let secrets = [secret("s3cret")];
        let sig = sign(&secrets[0], body);
        assert_eq!(verify(&secrets, None, body), Err(SignatureError::Missing));
        assert_eq!(
            verify(&secrets, Some("  "), body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&secrets, Some("%%%"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&secrets, Some(&sig), b"{ }"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[secret("other")], Some(&sig), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(&[], Some(&sig), body), Err(SignatureError::Mismatch));
        // A truncated signature must not match as a prefix.
        assert_eq!(
            verify(&secrets, Some(&sig[..20]), body),
            Err(SignatureError::Mismatch)
        );
    }
}
