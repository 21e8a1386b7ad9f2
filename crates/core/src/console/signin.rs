//! The console's sign-in pages: `/login` (to the provider), `/auth/callback` (back, checked,
//! then a session by `access`), `/logout`. Refusals say why and are logged with who tried.

use tracing::{info, warn};

use super::layout::refused;
use super::session::Role;
use super::{Console, Reply, Request};

impl Console {
    /// Answers the sign-in paths; `None` for any other request.
    pub(super) async fn sign_in(&self, request: &Request) -> Option<Reply> {
        let now = self.clock.now().timestamp();
        let oidc = self.oidc.as_ref();
        Some(match (request.post, request.path.as_str(), oidc) {
            (false, "/login", Some(oidc)) => match oidc.start(now).await {
                Ok((url, pending)) => {
                    let mut reply = Reply::redirect(url);
                    reply
                        .headers
                        .push(("set-cookie".into(), self.sessions.pending_cookie(&pending)));
                    reply
                }
                Err(e) => {
                    warn!(error = %e, "Console sign-in cannot reach the identity provider.");
                    Reply::html(
                        503,
                        refused(&format!("The identity provider cannot be reached: {e}")),
                    )
                }
            },
            (false, "/auth/callback", Some(oidc)) => {
                let Some(pending) = self.sessions.read_pending(request.cookie.as_deref()) else {
                    return Some(Reply::html(
                        400,
                        refused(
                            "This sign-in did not start here, or took too long: sign in again.",
                        ),
                    ));
                };
                if let Some(error) = request.param("error") {
                    return Some(Reply::html(
                        401,
                        refused(&format!("The identity provider said: {error}")),
                    ));
                }
                let (code, state) = (
                    request.param("code").unwrap_or_default(),
                    request.param("state").unwrap_or_default(),
                );
                let email = match oidc.finish(&pending, &code, &state, now).await {
                    Ok(email) => email,
                    Err(e) => {
                        warn!(error = %e, "Console sign-in failed.");
                        return Some(Reply::html(401, refused(&format!("Sign-in failed: {e}"))));
                    }
                };
                let role = match self.config.access.console_role(&email) {
                    Some(true) => Role::Responder,
                    Some(false) => Role::Viewer,
                    None => {
                        warn!(email = %email, "Console sign-in refused: not in access.viewers or access.responders.");
                        return Some(Reply::html(
                            403,
                            refused(&format!(
                                "{email} may not see this console. Ask for access."
                            )),
                        ));
                    }
                };
                info!(email = %email, ?role, "Console sign-in.");
                let session = self.sessions.issue(&email, role, self.clock.now());
                let mut reply = Reply::redirect(format!("{}/", self.base));
                reply
                    .headers
                    .push(("set-cookie".into(), self.sessions.cookie(&session)));
                reply
            }
            (true, "/logout", _) => {
                let mut reply = Reply::redirect(format!("{}/login", self.base));
                reply
                    .headers
                    .push(("set-cookie".into(), self.sessions.logout_cookie()));
                reply
            }
            _ => return None,
        })
    }
}
