//! Sessions and CSRF tokens. A session is a signed cookie (`opsbell_session`: who, role,
//! expiry, HMAC-SHA256 under a key only the server holds), HttpOnly, SameSite=Lax, expiring.
//! Every POST carries the session's CSRF token, an HMAC of the cookie under the same key, so a
//! page of another site can neither read nor forge it.
//!
//! Who is let in is the host's [`Login`]: on loopback, whoever can reach the address (the
//! person at the machine, as the CLI trusts them) is a responder.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Duration, Utc};
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};

use super::login::{PENDING_MINUTES, Pending};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

const COOKIE: &str = "opsbell_session";
const PENDING: &str = "opsbell_login";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads the pages.
    Viewer,
    /// Also acks, silences, expires and redrives.
    Responder,
}

/// Who is let in without a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// `opsbell serve` on a loopback address: the local user, as a responder.
    Loopback { who: String },
    /// Nobody without a session (a login must issue one).
    Required,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub who: String,
    pub role: Role,
    /// Unix seconds.
    pub expires: i64,
    /// The signed cookie value this session came from.
    #[serde(skip)]
    token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

pub struct Sessions {
    key: SecretSlice<u8>,
    login: Login,
    /// Adds `Secure` to the cookie (anything but plain-HTTP loopback).
    secure: bool,
}

/// 32 bytes from the system's secure random source.
pub fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    provider
        .secure_random
        .fill(&mut key)
        .expect("the system's random source works");
    key
}

impl Sessions {
    pub fn new(key: Vec<u8>, login: Login, secure: bool) -> Sessions {
        Sessions {
            key: key.into(),
            login,
            secure,
        }
    }

    /// The HMAC of `text` for `purpose`, ready to finish or to verify.
    fn keyed(&self, purpose: &str, text: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.key.expose_secret()).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"|");
        mac.update(text.as_bytes());
        mac
    }

    fn mac(&self, purpose: &str, text: &str) -> String {
        B64.encode(self.keyed(purpose, text).finalize().into_bytes())
    }

    /// Whether `signature` is this key's HMAC of `text` for `purpose`, compared in constant
    /// time by the HMAC itself (as webhook signatures are, `crate::signature::verify`).
    fn holds(&self, purpose: &str, text: &str, signature: &str) -> bool {
        let Ok(signature) = B64.decode(signature) else {
            return false;
        };
        self.keyed(purpose, text).verify_slice(&signature).is_ok()
    }

    /// `value` as signed text (`<base64 JSON>.<base64 HMAC>`), for `purpose` only.
    fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let body = B64.encode(serde_json::to_vec(value).expect("plain data serializes"));
        format!("{body}.{}", self.mac(purpose, &body))
    }

    /// What `token` holds, when this key signed it for `purpose`.
    fn open<T: serde::de::DeserializeOwned>(&self, purpose: &str, token: &str) -> Option<T> {
        let (body, mac) = token.split_once('.')?;
        if !self.holds(purpose, body, mac) {
            return None;
        }
        serde_json::from_slice(&B64.decode(body).ok()?).ok()
    }

    /// A signed cookie value for `who` as `role` until `SESSION_HOURS` from `now`.
    pub fn issue(&self, who: &str, role: Role, now: DateTime<Utc>) -> Session {
        let expires = (now + Duration::hours(SESSION_HOURS)).timestamp();
        let mut session = Session {
            who: who.into(),
            role,
            expires,
            token: String::new(),
        };
        session.token = self.seal("session", &session);
        session
    }

    /// The `Set-Cookie` header value carrying `session`.
    pub fn cookie(&self, session: &Session) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            session.token,
            SESSION_HOURS * 3600
        )
    }

    /// The session a valid cookie names; `None` for a missing, forged or expired one.
    pub fn read(&self, cookie_header: Option<&str>, now: DateTime<Utc>) -> Option<Session> {
        let token = cookie(cookie_header, COOKIE)?;
        let mut session: Session = self.open("session", token)?;
        session.token = token.to_string();
        (session.expires > now.timestamp()).then_some(session)
    }

    /// The cookie that carries a login under way to the provider and back.
    pub fn pending_cookie(&self, pending: &Pending) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        let age = PENDING_MINUTES * 60;
        format!(
            "{PENDING}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}",
            self.seal("login", pending)
        )
    }

    pub fn read_pending(&self, cookie_header: Option<&str>) -> Option<Pending> {
        self.open("login", cookie(cookie_header, PENDING)?)
    }

    /// A cookie header that ends the session.
    pub fn logout_cookie(&self) -> String {
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }

    /// Whether a login can let people in (else they are refused outright).
    pub fn needs_login(&self) -> bool {
        self.login == Login::Required
    }

    /// The request's session, and a cookie to set when a new one was made; or why not.
    pub fn admit(
        &self,
        cookie_header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Session, Option<String>), Refusal> {
        if let Some(session) = self.read(cookie_header, now) {
            return Ok((session, None));
        }
        match &self.login {
            Login::Loopback { who } => {
                let session = self.issue(who, Role::Responder, now);
                let cookie = self.cookie(&session);
                Ok((session, Some(cookie)))
            }
            Login::Required => Err(Refusal {
                status: 401,
                reason: "Sign in first: this console needs a login.".into(),
            }),
        }
    }

    /// The token every form of `session` carries.
    pub fn csrf(&self, session: &Session) -> String {
        self.mac("csrf", &session.token)
    }

    pub fn csrf_holds(&self, session: &Session, token: Option<&str>) -> bool {
        token.is_some_and(|t| self.holds("csrf", &session.token, t))
    }
}

/// The value of cookie `name` in a `Cookie` header.
fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    (header?.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(login: Login) -> Sessions {
        Sessions::new(vec![7; 32], login, false)
    }

    #[test]
    fn a_session_is_read_back_only_signed_and_unexpired() {
        let s = sessions(Login::Required);
        let now = Utc::now();
        let session = s.issue("ana@example.com", Role::Viewer, now);
        let cookie = s.cookie(&session);
        assert!(cookie.contains("HttpOnly; SameSite=Lax"), "{cookie}");
        let header = cookie.split(';').next().unwrap().to_string();
        let read = s.read(Some(&format!("a=b; {header}")), now).unwrap();
        assert_eq!(
            (read.who.as_str(), read.role),
            ("ana@example.com", Role::Viewer)
        );
        assert!(
            s.read(Some(&header), now + Duration::hours(13)).is_none(),
            "expired"
        );
        let forged = header.replace("Viewer", "x").replacen('.', "x.", 1);
        assert!(s.read(Some(&forged), now).is_none(), "forged");
        let other = Sessions::new(vec![8; 32], Login::Required, false);
        assert!(other.read(Some(&header), now).is_none(), "another key");
        assert_eq!(s.admit(None, now).unwrap_err().status, 401);
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let s = sessions(Login::Loopback {
            who: "local".into(),
        });
        let now = Utc::now();
        let (a, set) = s.admit(None, now).unwrap();
        assert!(set.is_some() && a.role == Role::Responder);
        let b = s.issue("local", Role::Responder, now + Duration::seconds(1));
        assert!(s.csrf_holds(&a, Some(&s.csrf(&a))));
        assert!(!s.csrf_holds(&a, Some(&s.csrf(&b))));
        assert!(!s.csrf_holds(&a, None));
    }
}
