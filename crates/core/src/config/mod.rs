//! Typed, validated configuration.
//!
//! `config.json` keeps the predecessor's shape working (`language`, `webhook.*` including the
//! misspelled `incomming_webhook_url`, `scheduled.*`) and adds named `channels` and `routes`.
//! Environment variables override any value (see [`env`]). [`Config::load`] reports every problem
//! at once, each with its path.

mod channel;
pub mod console;
pub mod deploy;
mod env;
pub mod flood;
mod kamonohashi;
mod legacy;
mod raw;
mod report;
mod routing;
pub mod secrets;
pub mod signals;
mod sources;

use std::collections::BTreeMap;

use chrono_tz::Tz;
use secrecy::SecretString;

pub use crate::client::kamonohashi::config::{KamonohashiSource, Watch, WatchDay, WatchOverride};
pub use crate::client::orchestrator::config::{OrchestratorAuth, OrchestratorSource};
pub use env::apply_overrides;
pub use kamonohashi::describe_slackbot_file;

pub use crate::locale::Language;
pub use crate::problem::{ConfigError, Problem, Problems};
pub use channel::Channel;

use crate::event::{Source, State};
use crate::notify::console::ConsoleConfig;
use crate::route::Route;

#[derive(Debug, Clone)]
pub struct Config {
    pub language: Language,
    /// Governs messages, watch hours and (unless `ONCALL_TIMEZONE` says otherwise) the on-call
    /// rotation; [`crate::time::DEFAULT_TIMEZONE`] when the file does not set one.
    pub timezone: Tz,
    /// True when no `timezone` was set (`opsbell check` says which zone is in force).
    pub timezone_is_default: bool,
    pub orchestrator: OrchestratorWebhook,
    pub channels: BTreeMap<String, Channel>,
    pub routes: Vec<Route>,
    /// Named time intervals routes are active or muted in (`time_intervals`).
    pub time_intervals: BTreeMap<String, crate::route::TimeInterval>,
    /// Maintenance windows planned in the file (`silences`), held like chat's silences.
    pub silences: Vec<crate::silence::Silence>,
    /// The channels under flood control and how (`flood` of each channel; chat by default).
    pub flood: BTreeMap<String, flood::FloodPolicy>,
    /// The least gap between two posts of each paced channel (`spacing` of each channel; the
    /// vendor's documented rate by default, `"0s"` for none).
    pub spacing: BTreeMap<String, std::time::Duration>,
    /// Orchestrator tenants polled for job ends (`sources.orchestrator`, `scheduled.orchestrator`).
    pub orchestrators: Vec<OrchestratorSource>,
    /// KAMONOHASHI servers polled for job transitions (`sources.kamonohashi`).
    pub kamonohashi: Vec<KamonohashiSource>,
    /// How long a robot may be away before it is announced offline (`robots.grace`).
    pub robot_grace: std::time::Duration,
    /// Pinged after every poll cycle, `/fail` appended when a poll failed (`self_ping.url`).
    pub self_ping: Option<SecretString>,
    /// Heartbeat checks pinged at `/ping/<key>` (`heartbeats`).
    pub heartbeats: Vec<crate::heartbeat::Heartbeat>,
    /// Which failed queue transactions are told (`queue_items`); none when unset.
    pub queue_items: Option<crate::source::queue_item::QueueItems>,
    /// Who may ack, silence and unsilence (`access`).
    pub access: crate::access::Access,
    /// How people sign in to the console (`console`).
    pub console: console::ConsoleSettings,
}

/// Settings for receiving Orchestrator webhooks.
#[derive(Debug, Clone, Default)]
pub struct OrchestratorWebhook {
    /// Any of these verifies a request (several allow rotation).
    pub secrets: Vec<SecretString>,
    /// Accept unsigned requests when no secret is configured. Must be set explicitly.
    pub allow_unsigned: bool,
    /// Orchestrator UI base URL, for links to jobs.
    pub url: Option<String>,
}

impl Config {
    /// Parses and validates `text`, after applying overrides from `env` (name, value) pairs.
    pub fn load(text: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
        Config::from_value(Config::raw(text, env)?)
    }

    /// Parses `text` and applies the overrides, without validating: for secret resolution.
    pub fn raw(text: &str, env: &[(String, String)]) -> Result<serde_json::Value, ConfigError> {
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| ConfigError {
            problems: vec![Problem {
                path: "config".into(),
                message: format!("not JSON: {e}"),
            }],
        })?;
        apply_overrides(&mut value, env);
        Ok(value)
    }

    /// Reads the files a parsed configuration names (the KAMONOHASHI slackbot's), then
    /// validates it.
    pub fn from_value(value: serde_json::Value) -> Result<Config, ConfigError> {
        let files = deploy::read_files(&value);
        Config::validate(value, &files)
    }

    /// Validates a parsed configuration whose named files were read into `files`; reads
    /// nothing. Secret references left unresolved are problems.
    pub fn validate(
        value: serde_json::Value,
        files: &deploy::NamedFiles,
    ) -> Result<Config, ConfigError> {
        let unresolved: Vec<Problem> = secrets::references(&value)
            .into_iter()
            .map(|(path, r)| Problem {
                path,
                message: format!(
                    "{r} is a secret reference, resolved only where AWS is reachable (the Lambdas)"
                ),
            })
            .collect();
        match (raw::build(value, files), unresolved.is_empty()) {
            (Ok(config), true) => Ok(config),
            (Ok(_), false) => Err(ConfigError {
                problems: unresolved,
            }),
            (Err(mut e), _) => {
                e.problems.extend(unresolved);
                Err(e)
            }
        }
    }

    /// Reads and loads a file, with the process environment as overrides. Files it names are
    /// read relative to its folder, as a deployed function reads them.
    pub fn load_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        Config::from_value(Config::raw_file(path)?)
    }

    /// A file's configuration with the environment's overrides and its files rebased, not
    /// validated.
    pub fn raw_file(path: &std::path::Path) -> Result<serde_json::Value, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            problems: vec![Problem {
                path: path.display().to_string(),
                message: e.to_string(),
            }],
        })?;
        let mut value = Config::raw(&text, &std::env::vars().collect::<Vec<_>>())?;
        let dir = path.parent().unwrap_or(std::path::Path::new(""));
        deploy::rebase_files(&mut value, dir);
        Ok(value)
    }

    /// The configuration of a deployed function, unvalidated: the file named by `OPSBELL_CONFIG`
    /// (default `config.json`, packaged next to `bootstrap`; when that default file is absent, an
    /// empty one), then the environment's overrides. A Lambda can be configured by environment
    /// variables alone.
    pub fn raw_from_environment() -> Result<serde_json::Value, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let named = std::env::var("OPSBELL_CONFIG").ok();
        let path = std::path::PathBuf::from(named.as_deref().unwrap_or("config.json"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if named.is_none() && e.kind() == std::io::ErrorKind::NotFound => {
                "{}".to_string()
            }
            Err(e) => {
                let problem = Problem {
                    path: path.display().to_string(),
                    message: e.to_string(),
                };
                return Err(ConfigError {
                    problems: vec![problem],
                });
            }
        };
        let mut value = Config::raw(&text, &env)?;
        deploy::rebase_files(
            &mut value,
            path.parent().unwrap_or(std::path::Path::new("")),
        );
        Ok(value)
    }

    /// [`Config::raw_from_environment`], with `${stage}` in its secret references filled in
    /// from `OPSBELL_STAGE`, the references resolved, validated.
    pub async fn from_environment(resolver: &dyn secrets::Resolver) -> Result<Config, ConfigError> {
        let mut value = Config::raw_from_environment()?;
        let stage = std::env::var("OPSBELL_STAGE").ok();
        secrets::expand_stage(&mut value, stage.as_deref())?;
        secrets::resolve(&mut value, resolver).await?;
        Config::from_value(value)
    }

    /// How messages are rendered: the configured language and time zone.
    pub fn render_options(&self) -> crate::render::RenderOptions {
        crate::render::RenderOptions {
            language: self.language,
            timezone: self.timezone,
        }
    }

    /// A configuration with one console channel that hears everything; for tests and demos.
    pub fn console_only() -> Config {
        let mut channels = BTreeMap::new();
        channels.insert("console".to_string(), Channel::Console(ConsoleConfig {}));
        Config {
            language: Language::En,
            timezone: chrono_tz::UTC,
            timezone_is_default: false,
            orchestrator: OrchestratorWebhook::default(),
            routes: vec![Route::to("console", State::ALL.to_vec())],
            time_intervals: BTreeMap::new(),
            silences: Vec::new(),
            flood: BTreeMap::new(),
            spacing: BTreeMap::new(),
            channels,
            orchestrators: Vec::new(),
            kamonohashi: Vec::new(),
            robot_grace: signals::DEFAULT_GRACE,
            self_ping: None,
            heartbeats: Vec::new(),
            queue_items: None,
            access: crate::access::Access::default(),
            console: console::ConsoleSettings::default(),
        }
    }

    /// Names of the sources a route accepts, for messages.
    pub fn source_names() -> [&'static str; 3] {
        [
            Source::Uipath.as_str(),
            Source::Kamonohashi.as_str(),
            Source::Cloudwatch.as_str(),
        ]
    }
}

#[cfg(test)]
mod tests;
