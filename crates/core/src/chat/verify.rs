//! Verifying Google Chat's requests to the bot.
//! <https://developers.google.com/workspace/chat/authenticate-authorize-chat-app#verify-requests>
//!
//! Every request carries `Authorization: Bearer <JWT>`, RS256. Depending on the app's
//! "Authentication Audience" setting the token is either self-signed by
//! `chat@system.gserviceaccount.com` with audience = the Cloud project number, or a Google ID
//! token with audience = the endpoint URL and `email` = `chat@system.gserviceaccount.com`. The
//! public keys (JWKS) are fetched from a configurable URL and cached for an hour.

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

pub const CHAT_ISSUER: &str = "chat@system.gserviceaccount.com";
/// Keys for the project-number audience.
pub const CHAT_KEYS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/chat@system.gserviceaccount.com";
/// Keys for Google ID tokens (endpoint-URL audience).
pub const GOOGLE_KEYS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (jsonwebtoken's default).
const LEEWAY: u64 = 60;

/// Which kind of token the app is configured to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Self-signed JWT, `aud` = the Cloud project number.
    ProjectNumber(String),
    /// Google ID token, `aud` = the bot's endpoint URL.
    EndpointUrl(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("signing keys unavailable: {0}")]
    Keys(String),
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    n: String,
    e: String,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    iat: Option<i64>,
}

pub struct ChatVerifier {
    audience: Audience,
    keys_url: String,
    http: reqwest::Client,
    keys: Mutex<Option<(HashMap<String, DecodingKey>, Instant)>>,
}

impl ChatVerifier {
    pub fn new(audience: Audience, keys_url: Option<String>, http: reqwest::Client) -> Self {
        let default = match audience {
            Audience::ProjectNumber(_) => CHAT_KEYS_URL,
            Audience::EndpointUrl(_) => GOOGLE_KEYS_URL,
        };
        ChatVerifier {
            audience,
            keys_url: keys_url.unwrap_or_else(|| default.into()),
            http,
            keys: Mutex::new(None),
        }
    }

    /// Checks the `Authorization` header's value.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<(), AuthError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let token = token.ok_or(AuthError::Missing)?;
        let header = decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("no key id".into()))?;
        let key = self.key(&kid).await?;
        // A token that is not valid yet (`nbf`, or issued in the future) is refused too: a
        // signed token minted ahead of time must not open the door early.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY;
        let claims = match &self.audience {
            Audience::ProjectNumber(project) => {
                validation.set_audience(&[project]);
                validation.set_issuer(&[CHAT_ISSUER]);
                decode::<Claims>(token, &key, &validation)
            }
            Audience::EndpointUrl(url) => {
                validation.set_audience(&[url]);
                validation.set_issuer(&["https://accounts.google.com", "accounts.google.com"]);
                decode::<Claims>(token, &key, &validation)
            }
        }
        .map_err(|e| AuthError::Invalid(e.to_string()))?
        .claims;
        let now = jsonwebtoken::get_current_timestamp();
        if claims.iat.is_some_and(|iat| iat > (now + LEEWAY) as i64) {
            return Err(AuthError::Invalid("issued in the future (iat)".into()));
        }
        if matches!(self.audience, Audience::EndpointUrl(_))
            && claims.email.as_deref() != Some(CHAT_ISSUER)
        {
            return Err(AuthError::Invalid("not sent by Google Chat".into()));
        }
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let mut cache = self.keys.lock().await;
        let fresh = cache
            .as_ref()
            .is_some_and(|(keys, at)| at.elapsed() < KEYS_TTL && keys.contains_key(kid));
        if !fresh {
            // Unknown key ids refetch (Google rotates keys), at most once per request.
            *cache = Some((self.fetch().await?, Instant::now()));
        }
        let keys = &cache.as_ref().expect("filled above").0;
        keys.get(kid)
            .cloned()
            .ok_or_else(|| AuthError::Invalid(format!("unknown key id {kid:?}")))
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, AuthError> {
        let err = |e: String| AuthError::Keys(e);
        let response = self
            .http
            .get(&self.keys_url)
            .send()
            .await
            .map_err(|e| err(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(err(format!("HTTP {}", response.status().as_u16())));
        }
        let jwks: Jwks = response
            .json()
            .await
            .map_err(|e| err(e.without_url().to_string()))?;
        jwks.keys
            .into_iter()
            .map(|k| {
                DecodingKey::from_rsa_components(&k.n, &k.e)
                    .map(|d| (k.kid, d))
                    .map_err(|e| err(e.to_string()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn testdata(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn token(claims: serde_json::Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        encode(
            &header,
            &claims,
            &EncodingKey::from_rsa_pem(&testdata("test-rsa-key.pem")).unwrap(),
        )
        .unwrap()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    async fn keys() -> MockServer {
        let server = MockServer::start().await;
        let jwks: serde_json::Value = serde_json::from_slice(&testdata("test-jwks.json")).unwrap();
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
            .expect(1)
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn project_number_tokens() {
        let server = keys().await;
        let v = ChatVerifier::new(
            Audience::ProjectNumber("1234567890".into()),
            Some(server.uri()),
            reqwest::Client::new(),
        );
        let good =
            json!({ "iss": CHAT_ISSUER, "aud": "1234567890", "iat": now(), "exp": now() + 600 });
        assert_eq!(
            v.verify(Some(&format!(
                "Bearer {}",
                token(good.clone(), "test-kid-1")
            )))
            .await,
            Ok(())
        );
        // Keys are cached: the second request does not refetch (the mock expects one fetch).
        assert_eq!(
            v.verify(Some(&format!(
                "Bearer {}",
                token(good.clone(), "test-kid-1")
            )))
            .await,
            Ok(())
        );

        let mut wrong_aud = good.clone();
        wrong_aud["aud"] = "999".into();
        let mut wrong_iss = good.clone();
        wrong_iss["iss"] = "evil@example.com".into();
        let mut expired = good.clone();
        expired["exp"] = (now() - 3600).into();
        // Not yet valid: `nbf` or `iat` an hour ahead (beyond the 60 s leeway), `exp` fine.
        let mut early = good.clone();
        early["nbf"] = (now() + 3600).into();
        early["exp"] = (now() + 7200).into();
        let mut future = good.clone();
        future["iat"] = (now() + 3600).into();
        future["exp"] = (now() + 7200).into();
        for (name, claims) in [
            ("audience", wrong_aud),
            ("issuer", wrong_iss),
            ("expired", expired),
            ("nbf in an hour", early),
            ("iat in an hour", future),
        ] {
            let result = v
                .verify(Some(&format!("Bearer {}", token(claims, "test-kid-1"))))
                .await;
            assert!(
                matches!(result, Err(AuthError::Invalid(_))),
                "{name}: {result:?}"
            );
        }
        // Google's clock a little ahead of ours is fine.
        let mut skewed = good.clone();
        skewed["iat"] = (now() + 30).into();
        skewed["nbf"] = (now() + 30).into();
        let skewed = format!("Bearer {}", token(skewed, "test-kid-1"));
        assert_eq!(v.verify(Some(&skewed)).await, Ok(()));
        // A valid signature over other claims: the payload was swapped.
        let signed = token(good.clone(), "test-kid-1");
        let mut other = good;
        other["aud"] = "1234567891".into();
        let swapped = token(other, "test-kid-1");
        let (a, b): (Vec<&str>, Vec<&str>) =
            (signed.split('.').collect(), swapped.split('.').collect());
        let tampered = format!("{}.{}.{}", a[0], b[1], a[2]);
        assert!(matches!(
            v.verify(Some(&format!("Bearer {tampered}"))).await,
            Err(AuthError::Invalid(_))
        ));
        assert_eq!(v.verify(None).await, Err(AuthError::Missing));
        assert_eq!(v.verify(Some("Basic abc")).await, Err(AuthError::Missing));
        assert!(matches!(
            v.verify(Some("Bearer not.a.jwt")).await,
            Err(AuthError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn endpoint_url_tokens_must_come_from_chat() {
        let server = keys().await;
        let url = "https://bot.example.com/chat/events";
        let v = ChatVerifier::new(
            Audience::EndpointUrl(url.into()),
            Some(server.uri()),
            reqwest::Client::new(),
        );
        let good = json!({ "iss": "https://accounts.google.com", "aud": url, "email": CHAT_ISSUER, "iat": now(), "exp": now() + 600 });
        assert_eq!(
            v.verify(Some(&format!(
                "Bearer {}",
                token(good.clone(), "test-kid-1")
            )))
            .await,
            Ok(())
        );
        let mut other = good;
        other["email"] = "someone@example.com".into();
        assert!(
            v.verify(Some(&format!("Bearer {}", token(other, "test-kid-1"))))
                .await
                .is_err()
        );
    }
}
