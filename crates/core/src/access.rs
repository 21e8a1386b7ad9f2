//! Who may act: `access` in the configuration. Reading (`status`, `oncall`, `help`,
//! `silences`) is open to every space the bot is in; acting (`ack`, `silence`, `unsilence`)
//! is for responders only, named by e-mail address, by domain (`@example.com`), or by Google
//! Chat user id (`users/123456789`), and, when `spaces` is set, only from those spaces.
//! Without responders nobody may act from chat: the bot says so, and `opsbell check` warns.
//!
//! ```json
//! "access": { "responders": ["alice@example.com", "@ops.example.com", "users/1234567890"],
//!             "spaces": ["spaces/AAAAxxxx"] }
//! ```
//!
//! The chat-listener reads only this part of its `config.json` ([`Access::from_raw`]): it
//! needs none of the channels' secrets.

use serde::Deserialize;
use serde_json::Value;

use crate::problem::Problems;

/// Someone named in `responders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Email(String),
    /// Everyone whose address ends in `@<domain>`.
    Domain(String),
    /// A Google Chat user id, `users/<digits>`.
    ChatUser(String),
}

impl Principal {
    fn parse(text: &str) -> Option<Principal> {
        let t = text.trim().to_ascii_lowercase();
        if let Some(domain) = t.strip_prefix('@').or_else(|| t.strip_prefix("*@")) {
            let ok = domain.contains('.') && !domain.contains('@') && !domain.contains(' ');
            return ok.then(|| Principal::Domain(domain.to_string()));
        }
        if let Some(id) = t.strip_prefix("users/") {
            let ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric());
            return ok.then(|| Principal::ChatUser(format!("users/{id}")));
        }
        let (local, domain) = t.split_once('@')?;
        let ok = !local.is_empty() && domain.contains('.') && !t.contains(' ');
        ok.then(|| Principal::Email(t.clone()))
    }

    fn names(&self, who: &Who) -> bool {
        let email = who.email.map(str::to_ascii_lowercase);
        match self {
            Principal::Email(e) => email.as_deref() == Some(e.as_str()),
            Principal::Domain(d) => email.is_some_and(|e| e.ends_with(&format!("@{d}"))),
            Principal::ChatUser(id) => who.chat_user == Some(id.as_str()),
        }
    }
}

/// Who asks, as the chat event names them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Who<'a> {
    pub email: Option<&'a str>,
    pub chat_user: Option<&'a str>,
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `access.responders` is empty.
    NoResponders,
    NotResponder,
    /// A responder, in a space not in `access.spaces`.
    NotHere,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub responders: Vec<Principal>,
    /// Who may sign in to the console to read it (responders may too); e-mail or `@domain`.
    pub viewers: Vec<Principal>,
    /// Where responders may act from (chat space names); empty: anywhere the bot is.
    pub spaces: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    #[serde(default)]
    responders: Vec<String>,
    #[serde(default)]
    viewers: Vec<String>,
    #[serde(default)]
    spaces: Vec<String>,
}

impl Access {
    /// `access`; each entry that names nobody is a problem.
    pub fn read(raw: Option<Value>, p: &mut Problems) -> Access {
        let Some(raw) = raw else {
            return Access::default();
        };
        let Some(r) = p.parse::<RawAccess>("access", raw) else {
            return Access::default();
        };
        let mut principals = |list: &[String], key: &str| -> Vec<Principal> {
            let mut named = Vec::new();
            for (i, text) in list.iter().enumerate() {
                match Principal::parse(text) {
                    Some(who) => named.push(who),
                    None => p.push(
                        format!("access.{key}[{i}]"),
                        format!("{text:?} is not an e-mail address, @domain or users/<id>"),
                    ),
                }
            }
            named
        };
        let responders = principals(&r.responders, "responders");
        let viewers = principals(&r.viewers, "viewers");
        for (i, space) in r.spaces.iter().enumerate() {
            if !space.starts_with("spaces/") {
                p.push(
                    format!("access.spaces[{i}]"),
                    format!("{space:?} is not spaces/<id>"),
                );
            }
        }
        Access {
            responders,
            viewers,
            spaces: r.spaces,
        }
    }

    /// Only `access` of a configuration (as [`crate::config::Config::raw_from_environment`]
    /// reads it: no secret is resolved); every problem when it is wrong.
    pub fn from_raw(root: &Value) -> Result<Access, Vec<crate::problem::Problem>> {
        let mut p = Problems::default();
        let access = Access::read(root.get("access").cloned(), &mut p);
        match p.0.is_empty() {
            true => Ok(access),
            false => Err(p.0),
        }
    }

    /// Whether `who` may act from `space`.
    pub fn may_act(&self, who: &Who, space: Option<&str>) -> Result<(), Refusal> {
        if self.responders.is_empty() {
            return Err(Refusal::NoResponders);
        }
        if !self.responders.iter().any(|r| r.names(who)) {
            return Err(Refusal::NotResponder);
        }
        let here = space.is_some_and(|s| self.spaces.iter().any(|a| a == s));
        match self.spaces.is_empty() || here {
            true => Ok(()),
            false => Err(Refusal::NotHere),
        }
    }

    /// Whether a signed-in `email` (verified by the identity provider) may see the console
    /// (`Some(false)`) or also act in it (`Some(true)`); `None`: not let in.
    pub fn console_role(&self, email: &str) -> Option<bool> {
        let who = Who {
            email: Some(email),
            chat_user: None,
        };
        if self.responders.iter().any(|r| r.names(&who)) {
            return Some(true);
        }
        self.viewers.iter().any(|v| v.names(&who)).then_some(false)
    }

    /// For `opsbell check`.
    pub fn describe(&self) -> String {
        if self.responders.is_empty() {
            return "warning: no responders (access.responders): nobody may ack, silence or unsilence from chat".into();
        }
        let names: Vec<String> = (self.responders.iter())
            .map(|r| match r {
                Principal::Email(e) => e.clone(),
                Principal::Domain(d) => format!("@{d}"),
                Principal::ChatUser(id) => id.clone(),
            })
            .collect();
        let spaces = match self.spaces.is_empty() {
            true => "from any space the bot is in".to_string(),
            false => format!("from {}", self.spaces.join(", ")),
        };
        format!(
            "responders (ack, silence, unsilence): {}, {spaces}",
            names.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(raw: Value) -> (Access, Vec<String>) {
        let mut p = Problems::default();
        let a = Access::read(Some(raw), &mut p);
        (a, p.0.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn responders_by_address_domain_or_chat_id_and_only_from_named_spaces() {
        let (a, problems) = access(serde_json::json!({
            "responders": ["Alice@Example.com", "@ops.example.com", "users/1234"],
            "spaces": ["spaces/AAA"]
        }));
        assert!(problems.is_empty(), "{problems:?}");
        let alice = Who {
            email: Some("alice@example.com"),
            chat_user: Some("users/9"),
        };
        let bob = Who {
            email: Some("bob@ops.example.com"),
            chat_user: None,
        };
        let carol = Who {
            email: Some("carol@example.com"),
            chat_user: Some("users/1234"),
        };
        let mallory = Who {
            email: Some("mallory@evil-ops.example.com"),
            chat_user: Some("users/66"),
        };
        let nobody = Who::default();
        for who in [alice, bob, carol] {
            assert_eq!(a.may_act(&who, Some("spaces/AAA")), Ok(()), "{who:?}");
            assert_eq!(a.may_act(&who, Some("spaces/BBB")), Err(Refusal::NotHere));
            assert_eq!(
                a.may_act(&who, None),
                Err(Refusal::NotHere),
                "a direct message"
            );
        }
        for who in [mallory, nobody] {
            assert_eq!(
                a.may_act(&who, Some("spaces/AAA")),
                Err(Refusal::NotResponder)
            );
        }
        let anywhere = Access {
            spaces: Vec::new(),
            ..a
        };
        assert_eq!(anywhere.may_act(&alice, None), Ok(()));
        assert_eq!(
            Access::default().may_act(&alice, None),
            Err(Refusal::NoResponders)
        );
    }

    #[test]
    fn the_console_lets_in_viewers_and_responders_only() {
        let (a, problems) = access(serde_json::json!({
            "responders": ["ana@example.com"], "viewers": ["@example.com", "vic@partner.test"]
        }));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(a.console_role("ANA@example.com"), Some(true));
        assert_eq!(a.console_role("bob@example.com"), Some(false));
        assert_eq!(a.console_role("vic@partner.test"), Some(false));
        assert_eq!(a.console_role("eve@example.com.evil.test"), None);
        assert_eq!(a.console_role("eve@evil.test"), None);
    }

    #[test]
    fn an_entry_that_names_nobody_is_a_problem() {
        let (_, problems) = access(serde_json::json!({
            "responders": ["alice", "@localhost", "users/", "a b@example.com"],
            "spaces": ["AAA"]
        }));
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("access.responders[0]"));
        assert!(problems[4].contains("access.spaces[0]"));
    }
}
