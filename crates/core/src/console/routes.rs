//! Routes: the routing table as a tree (each channel, the routes that reach it with their
//! matchers, active and mute intervals, its flood control and pacing), and a box that shows
//! where a pasted payload would go and what each channel would get (`send --dry-run`'s logic).

use maud::{Markup, html};

use super::View;
use super::layout::page as frame;
use super::words::Word;
use crate::route::targets;
use crate::source::{Inbound, parse_any};

fn tree(view: &View<'_>) -> Markup {
    let config = &view.console.config;
    html! {
        ul {
            @for (name, channel) in &config.channels {
                li {
                    strong { (name) } " " span.muted { "(" (channel.kind()) ")" }
                    @if let Some(flood) = config.flood.get(name) { " " span.muted { "flood: " (flood.burst) " per " (humantime::format_duration(flood.window)) } }
                    @if let Some(gap) = config.spacing.get(name) { " " span.muted { "spacing: " (humantime::format_duration(*gap)) } }
                    ul {
                        @for route in config.routes.iter().filter(|r| r.channels.contains(name)) {
                            li {
                                @if !route.name.is_empty() { code { (route.name) } ": " }
                                (route.matchers.describe())
                                @if !route.active_time_intervals.is_empty() { " · active " (route.active_time_intervals.join(", ")) }
                                @if !route.mute_time_intervals.is_empty() { " · muted " (route.mute_time_intervals.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn test(view: &View<'_>, payload: &str) -> Markup {
    let config = &view.console.config;
    let parsed = parse_any(
        payload.as_bytes(),
        config.orchestrator.url.clone(),
        view.now,
    );
    let opts = config.render_options();
    html! {
        @match parsed {
            Err(e) => p.notice { (e.to_string()) },
            Ok(Inbound::Ignored { kind }) => p.notice { "ignored: " (kind) },
            Ok(Inbound::Events(events)) => @for event in &events {
                h2 { (event.process) " " span class=(event.state.severity().as_str()) { (event.state.as_str()) } }
                @let names = targets(&config.routes, event);
                @if names.is_empty() { p.muted { (view.word(Word::RoutedNowhere)) } }
                @for name in names {
                    h3 { "→ " (name) }
                    pre { (config.channels[name].preview(event, opts)) }
                }
            }
        }
    }
}

pub fn page(view: &View<'_>, payload: Option<&str>) -> String {
    let content = html! {
        (tree(view))
        h2 { (view.word(Word::TestEvent)) }
        p.muted { (view.word(Word::TestHelp)) }
        form method="post" action=(view.link("/routes/test")) {
            input type="hidden" name="csrf" value=(view.csrf);
            textarea name="payload" rows="8" cols="80" { (payload.unwrap_or_default()) }
            p { button type="submit" { (view.word(Word::Try)) } }
        }
        @if let Some(payload) = payload { (test(view, payload)) }
    };
    frame(view, "/routes", view.word(Word::Routes), content)
}
