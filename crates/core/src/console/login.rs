//! Signing in with OpenID Connect (authorization code with PKCE, the `openidconnect` crate):
//! `/login` sends the browser to the provider with a fresh state, nonce and PKCE challenge,
//! kept in a short signed cookie; `/auth/callback` checks the state, trades the code (with the
//! verifier and the client secret) for tokens, verifies the ID token (signature by the
//! provider's keys, issuer, audience, expiry, nonce) and reads its verified e-mail. Who that
//! e-mail may be is `access` ([`crate::access::Access::console_role`]).

use std::future::Future;
use std::pin::Pin;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::config::console::OidcLogin;

/// What the provider must hand back to the same browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Unix seconds.
    pub expires: i64,
}

/// How long a login may take at the provider.
pub const PENDING_MINUTES: i64 = 10;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// opsbell's reqwest client as the `openidconnect` crate calls it.
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let fail = |e: &dyn std::fmt::Display| HttpError(e.to_string());
            let request = reqwest::Request::try_from(request).map_err(|e| fail(&e))?;
            let response = self.0.execute(request).await.map_err(|e| fail(&e))?;
            let mut out = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                out = out.header(name, value);
            }
            let body = response.bytes().await.map_err(|e| fail(&e))?;
            out.body(body.to_vec()).map_err(|e| fail(&e))
        })
    }
}

pub struct Oidc {
    pub settings: OidcLogin,
    http: Http,
    metadata: OnceCell<CoreProviderMetadata>,
}

impl Oidc {
    pub fn new(settings: OidcLogin) -> Oidc {
        // No redirects: a token endpoint that redirects must not get the code elsewhere.
        let http = crate::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("static client settings are valid");
        Oidc {
            settings,
            http: Http(http),
            metadata: OnceCell::new(),
        }
    }

    /// The provider's discovery document and keys, read once.
    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        String,
    > {
        let http = &self.http;
        let metadata = self
            .metadata
            .get_or_try_init(|| async {
                let issuer =
                    IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| e.to_string())?;
                CoreProviderMetadata::discover_async(issuer, http)
                    .await
                    .map_err(|e| format!("the provider's discovery document: {e}"))
            })
            .await?;
        let secret = ClientSecret::new(self.settings.client_secret.expose_secret().to_string());
        let redirect =
            RedirectUrl::new(self.settings.redirect_url.clone()).map_err(|e| e.to_string())?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            Some(secret),
        )
        .set_redirect_uri(redirect))
    }

    /// Where to send the browser, and what to keep for its return.
    pub async fn start(&self, now: i64) -> Result<(String, Pending), String> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            expires: now + PENDING_MINUTES * 60,
        };
        Ok((url.to_string(), pending))
    }

    /// The verified e-mail address of whoever came back with `code` and `state`.
    pub async fn finish(
        &self,
        pending: &Pending,
        code: &str,
        state: &str,
        now: i64,
    ) -> Result<String, String> {
        if pending.expires <= now {
            return Err("the login took too long; sign in again".into());
        }
        // The state is a nonce bound to this browser's signed cookie, not a secret to guess.
        if pending.state != state {
            return Err("the login's state does not match this browser's".into());
        }
        let client = self.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| e.to_string())?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| format!("the provider refused the code: {}", chain(&e)))?;
        let id_token = tokens.id_token().ok_or("the provider sent no ID token")?;
        let claims = id_token
            .claims(
                &client.id_token_verifier(),
                &Nonce::new(pending.nonce.clone()),
            )
            .map_err(|e| format!("the ID token: {e}"))?;
        if let (Some(email), Some(verified)) = (claims.email(), claims.email_verified()) {
            return verified_email(email.as_str(), verified);
        }
        // Some providers keep the e-mail for the UserInfo endpoint (OpenID Connect Core 5.4).
        let info: openidconnect::core::CoreUserInfoClaims = client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .map_err(|e| format!("the ID token has no e-mail and the provider no UserInfo: {e}"))?
            .request_async(&self.http)
            .await
            .map_err(|e| format!("the provider's UserInfo: {e}"))?;
        let email = info
            .email()
            .ok_or("the provider gave no e-mail (ask for the email scope)")?;
        verified_email(email.as_str(), info.email_verified().unwrap_or(false))
    }
}

/// The address, when the provider vouches for it.
fn verified_email(email: &str, verified: bool) -> Result<String, String> {
    match verified {
        true => Ok(email.to_ascii_lowercase()),
        false => Err(format!("{email} is not verified by the provider")),
    }
}

/// An error with its causes, for the log line that says why a sign-in failed.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}
