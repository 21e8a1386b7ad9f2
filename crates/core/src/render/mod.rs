//! One renderer per destination, in English and Japanese. Renderers are pure: they turn an
//! [`Event`] into exactly the payload the adapter sends, so `opsbell send --dry-run` can print it.

pub mod backlog;
pub mod chatwork;
pub mod fit;
pub mod google_chat;
pub mod slack;
pub mod teams;
mod text;
#[cfg(any(test, feature = "test-util"))]
pub mod worst;

use std::sync::LazyLock;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use text::{Label, label, state_phrase};

use crate::event::{Event, Severity};
use crate::locale::Language;

/// What every renderer needs besides the event.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub language: Language,
    pub timezone: Tz,
}

/// The parts of an event every message shows, already localized.
pub(crate) struct View<'a> {
    pub event: &'a Event,
    pub opts: RenderOptions,
    /// `FailingJob faulted` / `FailingJob が失敗しました`.
    pub title: String,
    /// (label, value) pairs for what is known: machine, robot, start, end, folder, job id, then
    /// the event's own details.
    pub facts: Vec<(String, String)>,
}

impl<'a> View<'a> {
    pub fn new(event: &'a Event, opts: RenderOptions) -> Self {
        let lang = opts.language;
        let title = match &event.headline {
            Some(headline) => headline.clone(),
            None => text::title(&event.process, event.state, lang),
        };
        let time = |t: &DateTime<Utc>| format_time(t, opts.timezone);
        let alarm = event.source == crate::event::Source::Cloudwatch;
        let facts = [
            (Label::Changed, alarm.then(|| time(&event.occurred_at))),
            (Label::Machine, event.machine.clone()),
            (Label::Robot, event.robot.clone()),
            (Label::Started, event.started_at.as_ref().map(time)),
            (Label::Ended, event.ended_at.as_ref().map(time)),
            (Label::Folder, event.folder.clone()),
            (Label::JobId, event.job_id.clone()),
        ]
        .into_iter()
        .filter_map(|(l, v)| v.map(|v| (label(l, lang).to_string(), v)))
        .chain(event.details.iter().cloned())
        .collect();
        View {
            event,
            opts,
            title,
            facts,
        }
    }

    pub fn label(&self, l: Label) -> &'static str {
        label(l, self.opts.language)
    }

    pub fn emoji(&self) -> &'static str {
        match self.event.state.severity() {
            Severity::Critical => "🔴",
            Severity::Warning => "🟠",
            Severity::Good => "✅",
            Severity::Info => "🔵",
        }
    }
}

/// The event as plain text, unescaped: its title, its facts one per line, and the first
/// 20 lines of its details. What a vendor that refused the rich message gets instead (each
/// escapes and cuts it for itself).
pub fn plain_text(event: &Event, opts: RenderOptions) -> String {
    let view = View::new(event, opts);
    let mut lines = vec![format!("{} {}", view.emoji(), view.title)];
    lines.extend(view.facts.iter().map(|(l, v)| format!("{l}: {v}")));
    if let Some(info) = &event.info {
        lines.push(String::new());
        lines.extend(info.lines().take(20).map(String::from));
    }
    if let Some(link) = &event.link {
        lines.push(format!("{}: {link}", view.label(Label::Open)));
    }
    lines.join("\n")
}

/// How a destination writes a mention.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MentionStyle {
    Slack,
    GoogleChat,
    Chatwork,
    /// Teams writes `<at>name</at>` in the text and the user in `msteams.entities`.
    Teams,
}

/// The event's mentions as the destination writes them, with a trailing space; empty if none.
/// Ids the destination understands become real mentions (Slack `U…`/`W…` users, `S…` user
/// groups, `here`, `channel`; Google Chat numeric user ids, `users/…`, `all`; Chatwork account
/// ids); anything else is written `@name`, which notifies nobody (`opsbell check` warns).
pub(crate) fn mentions(event: &Event, style: MentionStyle) -> String {
    let numeric = |m: &str| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit());
    event
        .mentions
        .iter()
        .map(|m| match style {
            MentionStyle::Slack if slack_id(m, &['U', 'W']) => format!("<@{m}> "),
            MentionStyle::Slack if slack_id(m, &['S']) => format!("<!subteam^{m}> "),
            MentionStyle::Slack if matches!(m.as_str(), "here" | "channel") => format!("<!{m}> "),
            MentionStyle::GoogleChat if numeric(m) => format!("<users/{m}> "),
            MentionStyle::GoogleChat if m.strip_prefix("users/").is_some_and(numeric) => {
                format!("<{m}> ")
            }
            MentionStyle::GoogleChat if m == "all" => "<users/all> ".to_string(),
            MentionStyle::Chatwork if numeric(m) => format!("[To:{m}] "),
            MentionStyle::Teams if m.contains('@') => format!("<at>{m}</at> "),
            _ => format!("@{m} "),
        })
        .collect()
}

/// A Slack id (`U0123ABCD`) starting with one of `first`: `U`/`W` for members, `S` for user
/// groups. Anything else (a display name) mentions nobody.
pub fn slack_id(m: &str, first: &[char]) -> bool {
    m.len() >= 9
        && m.starts_with(first)
        && m.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `2018-11-26 23:14:26 JST`.
pub fn format_time(t: &DateTime<Utc>, tz: Tz) -> String {
    // The format string is parsed once per process, not per time shown.
    static ITEMS: LazyLock<Vec<Item<'static>>> =
        LazyLock::new(|| StrftimeItems::new("%Y-%m-%d %H:%M:%S %Z").collect());
    t.with_timezone(&tz)
        .format_with_items(ITEMS.iter())
        .to_string()
}

#[cfg(test)]
mod tests;
