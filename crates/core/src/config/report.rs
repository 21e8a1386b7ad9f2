//! What a configuration became, in opsbell's terms: `opsbell check` prints it, so a user moving
//! from a predecessor sees where each of their settings went (the time zone in force, every
//! channel and what it hears, every source and how often it is polled, and the `job-poller`
//! schedule events for serverless.yml). Names only: no URL, token or key is shown.

use serde_json::json;

use super::{Config, OrchestratorAuth};
use crate::client::PollJob;
use crate::event::Via;
use crate::route::Matchers;

mod watched;

impl Config {
    /// One line per fact, for `opsbell check`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let zone = match self.timezone_is_default {
            true => format!(
                "time zone: {} (the default: the file sets no \"timezone\")",
                self.timezone
            ),
            false => format!("time zone: {}", self.timezone),
        };
        lines.push(zone);
        lines.push(format!("language: {}", self.language.code()));
        lines.push(self.access.describe());
        for (name, channel) in &self.channels {
            lines.push(format!(
                "channel {name} ({}): {}",
                channel.kind(),
                self.hears(name)
            ));
            if let super::Channel::Backlog(c) = channel {
                lines.push(format!("channel {name} keeps {}", c.lifecycle()));
            }
            if let Some(flood) = self.flood.get(name) {
                lines.push(format!(
                    "channel {name} takes floods as {}",
                    flood.describe()
                ));
            }
        }
        for s in &self.silences {
            lines.push(format!(
                "planned silence {}",
                crate::silence::line(s, chrono::Utc::now())
            ));
        }
        for s in &self.orchestrators {
            let auth = match &s.auth {
                OrchestratorAuth::Password { username, .. } => {
                    format!("password login as {username}")
                }
                OrchestratorAuth::ClientCredentials { client_id, .. } => {
                    format!("External Application {client_id}")
                }
                OrchestratorAuth::Ntlm { username, .. } => format!("Windows (NTLM) as {username}"),
            };
            let key = if s.api_key.is_some() {
                ", api_key on every request"
            } else {
                ""
            };
            lines.push(format!("source {} (Orchestrator, {auth}{key})", s.name));
            lines.push(s.requests_per_cycle());
        }
        for k in &self.kamonohashi {
            lines.push(format!(
                "source {} (KAMONOHASHI, as {})",
                k.name, k.username
            ));
        }
        for job in self.poll_jobs() {
            let to = match job.destinations.is_empty() {
                true => "every route".to_string(),
                false => job.destinations.join(", "),
            };
            let input = json!({ "sources": [job.source], "destinations": job.destinations });
            lines.push(format!(
                "poll {} every {} min for {to}; job-poller event: schedule {{rate: {}, input: {input}}}",
                job.source,
                job.every.as_secs() / 60,
                job.expression,
            ));
        }
        lines.extend(self.watched());
        lines.extend(self.unheard());
        lines
    }

    /// A warning for each kind of message a feature that is on sends and no route hears (see
    /// [`unheard`]).
    pub fn unheard(&self) -> Vec<String> {
        let oncall = self.channels.values().any(|c| c.kind() == "oncall");
        let enter_leave = self.kamonohashi.iter().any(|k| k.enter_leave);
        unheard(&self.routes, oncall, enter_leave)
    }

    /// What a channel hears, from the routes that name it (routes that differ only in the
    /// path they hear are shown as one).
    fn hears(&self, name: &str) -> String {
        let mut heard: Vec<(String, Vec<Via>)> = Vec::new();
        for r in self
            .routes
            .iter()
            .filter(|r| r.channels.iter().any(|c| c == name))
        {
            let m = &r.matchers;
            let states = match m.states.is_empty() {
                true => "every state".to_string(),
                false => m
                    .states
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let mut what = match m.sources.is_empty() {
                true => states,
                false => {
                    let s: Vec<&str> = m.sources.iter().map(|s| s.as_str()).collect();
                    format!("{states} from {}", s.join(", "))
                }
            };
            let narrower = Matchers {
                sources: Vec::new(),
                states: Vec::new(),
                via: Vec::new(),
                ..m.clone()
            };
            if narrower != Matchers::default() {
                what.push_str(&format!(" where {}", narrower.describe()));
            }
            for (key, names) in [
                ("active", &r.active_time_intervals),
                ("muted", &r.mute_time_intervals),
            ] {
                if !names.is_empty() {
                    what.push_str(&format!(" ({key} {})", names.join(", ")));
                }
            }
            match heard.iter_mut().find(|(w, _)| *w == what) {
                Some((_, via)) if !via.is_empty() && !m.via.is_empty() => via.extend(&m.via),
                Some((_, via)) => via.clear(),
                None => heard.push((what, m.via.clone())),
            }
        }
        if heard.is_empty() {
            return "no route".into();
        }
        let lines: Vec<String> = heard
            .into_iter()
            .map(|(what, via)| {
                let webhook = via.contains(&Via::Webhook);
                let poll = via.contains(&Via::Poll);
                match (webhook, poll) {
                    (true, false) => format!("{what} (jobs by webhook only)"),
                    (false, true) => format!("{what} (jobs by poll only)"),
                    _ => what,
                }
            })
            .collect();
        lines.join("; ")
    }

    /// The polls the configuration asks for, as `opsbell serve` and the `job-poller` run them.
    pub fn poll_jobs(&self) -> Vec<PollJob> {
        crate::client::jobs(&self.orchestrators, &self.kamonohashi)
    }
}

/// A warning for each kind of message a feature that is on sends and no route hears: the
/// escalation's narration (who is called, who answered, a dry run's plan) when an `oncall`
/// channel exists, and KAMONOHASHI's Enter/Leave notices. The fan-out logs such an event at
/// INFO and sends it nowhere.
pub fn unheard(routes: &[crate::route::Route], oncall: bool, enter_leave: bool) -> Vec<String> {
    use crate::event::{Event, Source, State};
    let mut emitted: Vec<(Source, State, &str)> = Vec::new();
    if oncall {
        emitted.extend([
            (
                Source::Oncall,
                State::Alarm,
                "who is called, each unanswered call, nobody answered",
            ),
            (Source::Oncall, State::Ok, "who answered"),
            (Source::Oncall, State::Started, "a dry run's call plan"),
        ]);
    }
    if enter_leave {
        emitted.push((
            Source::Kamonohashi,
            State::Started,
            "the Enter/Leave notices",
        ));
    }
    let at = chrono::DateTime::UNIX_EPOCH;
    emitted
        .into_iter()
        .filter(|(source, state, _)| {
            let probe = Event::new(*source, "", "probe", *state, "", at);
            !routes.iter().any(|r| r.matches(&probe))
        })
        .map(|(source, state, what)| {
            format!(
                "warning: no route hears {} {} ({what}): add a route with \"sources\": [\"{}\"]",
                source.as_str(),
                state.as_str(),
                source.as_str()
            )
        })
        .collect()
}
