//! Events built to break renderers, as robots and CloudWatch write them: a 20 KB selector trace
//! full of `<>&`, an alarm reason of 10 KB with `> 5%`, 30 dimensions, a 60-line digest,
//! 300-character names, CJK, emoji, CRLF, and every vendor's mention and link tokens in every
//! field. The unit tests below and the vendor references (`crates/core/tests/vendors.rs`)
//! run every renderer over them.

use chrono::DateTime;

use crate::event::{Event, Source, State};

/// Every vendor's live tokens: mentions, links, notation, fences.
pub const TOKENS: [&str; 24] = [
    "<!channel>",
    "<!here>",
    "<@U0123ABCD>",
    "<!subteam^S0456EFGH>",
    "<http://evil.example|click here>",
    "<users/all>",
    "<users/123>",
    "[toall]",
    "[To:1234567]",
    "[rp aid=1 to=2-3]",
    "[/info]",
    "[info][title]x[/title]",
    "[code]",
    "[/code]",
    "[x](http://evil.example)",
    "[[x>http://evil.example]]",
    "<at>alice@example.com</at>",
    "```",
    "{/code}",
    "&amp;",
    "&",
    "\r\n",
    "*_~`",
    "> 5%",
];

/// A UiPath selector trace of about `bytes`, with .NET's compiler-generated names.
pub fn selector_trace(bytes: usize) -> String {
    let line = "UiPath.Core.Activities.Click: Could not find the user-interface (UI) element for this action. \
                <html app='chrome.exe' title='Invoice &amp; Co' /><webctrl tag='INPUT' aaname='Amount &gt; 0' />\r\n   \
                at UiPath.Core.Activities.ScopeActivity.<>c__DisplayClass12_0.<OnFaulted>b__0() & retry\r\n";
    line.repeat(bytes / line.len() + 1)
}

fn event(source: Source, state: State, process: String) -> Event {
    let mut e = Event::new(source, "", "worst", state, process, DateTime::UNIX_EPOCH);
    e.mentions = vec![
        "U0123ABCD".into(),
        "123456789".into(),
        "alice@example.com".into(),
    ];
    e
}

/// The named worst cases.
pub fn cases() -> Vec<(&'static str, Event)> {
    let tokens = TOKENS.concat();
    let mut trace = event(Source::Uipath, State::Faulted, "InvoiceBot".into());
    trace.info = Some(selector_trace(20_000));
    trace.link =
        Some("https://cloud.uipath.com/acme/DefaultTenant/orchestrator_/jobs(sid:1)".into());
    let mut alarm = event(Source::Cloudwatch, State::Alarm, "api-5xx-rate".into());
    alarm.info = Some(format!(
        "Threshold Crossed: error rate > 5% {}",
        "x".repeat(10_000)
    ));
    let dims: Vec<String> = (0..30)
        .map(|i| format!("LoadBalancer{i}=app/opsbell-production-load-balancer/50dc6c495c0c9188"))
        .collect();
    alarm.details = vec![
        ("Namespace".into(), "AWS/ApplicationELB".into()),
        ("Dimensions".into(), dims.join(", ")),
    ];
    let mut names = event(Source::Uipath, State::Stopped, "長".repeat(300));
    names.machine = Some(format!("🔥{}", "m".repeat(299)));
    names.robot = Some("ロボット\r\n".repeat(60));
    names.folder = Some("f".repeat(300));
    names.info = Some("障害が発生しました🔥\r\n".repeat(2_000));
    let mut injected = event(Source::Uipath, State::Faulted, tokens.clone());
    injected.machine = Some(tokens.clone());
    injected.robot = Some(tokens.clone());
    injected.folder = Some(tokens.clone());
    injected.job_id = Some(tokens.clone());
    injected.headline = None;
    injected.info = Some(tokens.repeat(50));
    injected.details = vec![(tokens.clone(), tokens.clone())];
    let mut headline = injected.clone();
    headline.headline = Some(tokens.clone());
    let mut digest = event(Source::Uipath, State::Faulted, "Flood".into());
    digest.info = Some(
        (0..60)
            .map(|i| format!("{i}: {} faulted {tokens}", "P".repeat(300)))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let mut many = event(Source::Cloudwatch, State::Ok, "many-facts".into());
    many.details = (0..40)
        .map(|i| (format!("k{i}"), format!("v{i} {tokens}")))
        .collect();
    vec![
        ("selector-trace", trace),
        ("alarm-reason-and-30-dimensions", alarm),
        ("long-names-cjk-emoji-crlf", names),
        ("tokens-everywhere", injected),
        ("tokens-in-headline", headline),
        ("digest-60-lines", digest),
        ("40-facts", many),
    ]
}

#[cfg(test)]
mod tests;
