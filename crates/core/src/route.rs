//! Routing: which channels hear an event.

use serde::Deserialize;

use crate::event::{Event, Source, State, Via};

/// Sends events that match every given filter to `channels`. An empty filter matches everything.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(default)]
    pub name: String,
    pub channels: Vec<String>,
    #[serde(default)]
    pub sources: Vec<Source>,
    #[serde(default)]
    pub states: Vec<State>,
    /// Process names; `*` matches any run of characters (`Invoice*`).
    #[serde(default)]
    pub processes: Vec<String>,
    /// The paths a UiPath job event may come by (`webhook`, `poll`); empty = any. Events that
    /// come by no such path (alarms, KAMONOHASHI) are not filtered by it.
    #[serde(default)]
    pub via: Vec<Via>,
}

impl Route {
    /// The implicit route of a channel no route names.
    pub fn to(channel: &str, states: Vec<State>) -> Route {
        Route {
            name: format!("default:{channel}"),
            channels: vec![channel.to_string()],
            sources: Vec::new(),
            states,
            processes: Vec::new(),
            via: Vec::new(),
        }
    }

    pub fn matches(&self, event: &Event) -> bool {
        (self.sources.is_empty() || self.sources.contains(&event.source))
            && (self.states.is_empty() || self.states.contains(&event.state))
            && (self.processes.is_empty()
                || self.processes.iter().any(|p| glob_match(p, &event.process)))
            && (self.via.is_empty() || event.via.is_none_or(|v| self.via.contains(&v)))
    }
}

/// The channels that should hear `event`, each once, in route order (and only those the event
/// is restricted to, when it is).
pub fn targets<'a>(routes: &'a [Route], event: &Event) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for channel in routes
        .iter()
        .filter(|r| r.matches(event))
        .flat_map(|r| &r.channels)
    {
        let allowed = event.only_channels.is_empty() || event.only_channels.contains(channel);
        if allowed && !out.contains(&channel.as_str()) {
            out.push(channel);
        }
    }
    out
}

/// `*`-only glob, case-sensitive.
fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn event(state: State, process: &str) -> Event {
        Event::new(
            Source::Uipath,
            "",
            "k",
            state,
            process,
            DateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn globs() {
        assert!(glob_match("Invoice*", "InvoiceDaily"));
        assert!(glob_match("*Daily", "InvoiceDaily"));
        assert!(glob_match("In*ce*ly", "InvoiceDaily"));
        assert!(glob_match("*", ""));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("a*a", "a"));
    }

    #[test]
    fn targets_are_unique_and_filtered() {
        let routes = vec![
            Route::to("chat", vec![State::Faulted, State::Successful]),
            Route::to("tickets", vec![State::Faulted]),
            Route {
                name: "billing".into(),
                channels: vec!["chat".into(), "billing".into()],
                sources: vec![Source::Uipath],
                states: vec![],
                processes: vec!["Bill*".into()],
                via: vec![],
            },
        ];
        assert_eq!(
            targets(&routes, &event(State::Faulted, "X")),
            ["chat", "tickets"]
        );
        assert_eq!(
            targets(&routes, &event(State::Successful, "Billing")),
            ["chat", "billing"]
        );
        assert!(targets(&routes, &event(State::Started, "X")).is_empty());
        let mut only = event(State::Faulted, "X");
        only.only_channels = vec!["tickets".into()];
        assert_eq!(targets(&routes, &only), ["tickets"]);
    }
}
