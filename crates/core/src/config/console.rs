//! `console`: how people sign in to the console pages. Without it, `opsbell serve` serves them
//! on loopback only; the `console` Lambda needs it.
//!
//! ```json
//! "console": {
//!   "login": { "issuer": "https://accounts.google.com", "client_id": "…apps.googleusercontent.com",
//!              "client_secret": "ssm:/opsbell/${stage}/oidc-client-secret",
//!              "redirect_url": "https://ops.example.com/console/auth/callback" },
//!   "cookie_key": "ssm:/opsbell/${stage}/console-cookie-key"
//! }
//! ```
//! Who gets in, and as what, is `access` (`viewers`, `responders`).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::problem::Problems;

/// An OpenID Connect client (authorization code with PKCE).
#[derive(Debug, Clone)]
pub struct OidcLogin {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Where the provider sends the browser back: `<console>/auth/callback`.
    pub redirect_url: String,
}

#[derive(Debug, Clone, Default)]
pub struct ConsoleSettings {
    pub login: Option<OidcLogin>,
    /// Signs sessions and CSRF tokens; at least 32 characters. Every instance must share it (the
    /// Lambda's); a process alone (serve) may leave it out for a key of its own per start.
    pub cookie_key: Option<SecretString>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogin {
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect_url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    login: Option<RawLogin>,
    cookie_key: Option<String>,
}

impl ConsoleSettings {
    pub fn read(raw: Option<Value>, p: &mut Problems) -> ConsoleSettings {
        let Some(r) = raw.and_then(|raw| p.parse::<RawConsole>("console", raw)) else {
            return ConsoleSettings::default();
        };
        let login = r.login.and_then(|l| {
            let https = |url: &str| url.starts_with("https://") || loopback(url);
            for (key, url) in [("issuer", &l.issuer), ("redirect_url", &l.redirect_url)] {
                if !https(url) {
                    p.push(
                        format!("console.login.{key}"),
                        format!("{url:?} is not an https:// URL (or http:// on loopback)"),
                    );
                }
            }
            https(&l.issuer).then_some(())?;
            Some(OidcLogin {
                issuer: l.issuer.trim_end_matches('/').to_string(),
                client_id: l.client_id,
                client_secret: l.client_secret.into(),
                redirect_url: l.redirect_url,
            })
        });
        let cookie_key: Option<SecretString> = r.cookie_key.map(Into::into);
        if cookie_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().len() < 32)
        {
            p.push("console.cookie_key", "is shorter than 32 characters");
        }
        ConsoleSettings { login, cookie_key }
    }
}

fn loopback(url: &str) -> bool {
    [
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://localhost:",
        "http://[::1]:",
    ]
    .iter()
    .any(|p| url.starts_with(p))
}
