//! The frame every page shares: navigation, who is signed in, and a stylesheet small enough to
//! inline. No script: every action is a form.

use maud::{DOCTYPE, Markup, html};

use super::View;
use super::words::Word;
use crate::event::Severity;

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Hiragino Sans','Noto Sans CJK JP',sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
header a{color:#cfe0ff;text-decoration:none;padding:.2rem .1rem}header a.here{color:#fff;border-bottom:2px solid #fff}
header .who{margin-left:auto;font-size:.85em;color:#aab}
main{padding:1rem;max-width:70rem;margin:auto}
h1{font-size:1.3rem;margin:.3rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#eef1f4;font-weight:600}
.critical{color:#b3261e;font-weight:600}.warning{color:#8a5a00;font-weight:600}.good{color:#1b6e2d}.info{color:#445}
.fate{display:inline-block;border-radius:3px;padding:0 .35rem;margin:0 .2rem .2rem 0;font-size:.85em;background:#e8eaed}
.fate.delivered{background:#dff3e4}.fate.withheld,.fate.digest{background:#fff0c2}.fate.failed,.fate.retrying,.fate.gone{background:#fde0dc}
pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #e3e6ea;padding:.6rem;font-size:.85em}
form.inline{display:inline}button{font:inherit;padding:.25rem .8rem;cursor:pointer}
input[type=text],textarea,select{font:inherit;padding:.25rem;max-width:100%}
.filters{display:flex;flex-wrap:wrap;gap:.4rem;align-items:end;margin-bottom:.8rem}.filters label{font-size:.8em;display:flex;flex-direction:column}
.muted{color:#667}.notice{background:#fff0c2;padding:.5rem .8rem}
.cal{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.3rem}.cal div{background:#fff;border:1px solid #e3e6ea;padding:.3rem;font-size:.85em}.cal .today{border-color:#1d232a;border-width:2px}
";

const PAGES: [(&str, Word); 6] = [
    ("/", Word::Now),
    ("/history", Word::History),
    ("/oncall", Word::OnCall),
    ("/silences", Word::Silences),
    ("/routes", Word::Routes),
    ("/health", Word::Health),
];

/// A whole page: `here` is its path, `title` its heading.
pub fn page(view: &View<'_>, here: &str, title: &str, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(view.language.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · opsbell" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "opsbell" }
                    @for (path, word) in PAGES {
                        a href=(view.link(path)) class=[(path == here).then_some("here")] { (view.word(word)) }
                    }
                    span.who { (view.word(Word::SignedIn)) " " (view.session.who) " (" (role(view)) ")"
                        @if view.console.oidc.is_some() { " " (button(view, "/logout", &[], view.word(Word::SignOut))) } }
                }
                main { h1 { (title) } (content) }
            }
        }
    }
    .into_string()
}

fn role(view: &View<'_>) -> &'static str {
    match view.session.role {
        super::Role::Viewer => "viewer",
        super::Role::Responder => "responder",
    }
}

/// A refusal or an error, without the navigation (the visitor may not be let in).
pub fn refused(reason: &str) -> String {
    html! {
        (DOCTYPE)
        html {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1"; title { "opsbell" } style { (maud::PreEscaped(STYLE)) } }
            body { main { h1 { "opsbell" } p.notice { (reason) } } }
        }
    }
    .into_string()
}

/// A POST form to `action` carrying the CSRF token, with one button.
pub fn button(view: &View<'_>, action: &str, fields: &[(&str, &str)], label: &str) -> Markup {
    html! {
        form.inline method="post" action=(view.link(action)) {
            input type="hidden" name="csrf" value=(view.csrf);
            @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
            button type="submit" { (label) }
        }
    }
}

pub fn severity_class(severity: Severity) -> &'static str {
    severity.as_str()
}

/// `3m`, `2h 5m`, `4d 1h` since or until.
pub fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}
