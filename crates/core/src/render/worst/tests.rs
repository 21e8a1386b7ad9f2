//! Every renderer over the worst cases and generated strings of every vendor's tokens: no
//! message breaks a vendor's limit, and none holds a live mention, link or tag that the
//! configuration did not put there.

use proptest::prelude::*;
use serde_json::Value;

use super::{TOKENS, cases, selector_trace};
use crate::event::{Event, Source, State};
use crate::locale::Language;
use crate::render::{
    MentionStyle, RenderOptions, backlog, chatwork, google_chat, mentions, slack, teams,
};

fn opts(language: Language) -> RenderOptions {
    RenderOptions {
        language,
        timezone: chrono_tz::Asia::Tokyo,
    }
}

/// Every string in `v`, with its JSON path.
fn strings<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push((path, s)),
        Value::Array(a) => {
            (a.iter().enumerate()).for_each(|(i, x)| strings(x, format!("{path}[{i}]"), out))
        }
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| strings(x, format!("{path}.{k}"), out)),
        _ => {}
    }
}

/// `text` without the configured mentions it starts with.
fn unmentioned<'a>(text: &'a str, who: &str) -> &'a str {
    text.strip_prefix(who).unwrap_or(text)
}

fn check_slack(e: &Event, o: RenderOptions) -> Result<(), String> {
    use slack::limits::*;
    let m = serde_json::to_value(slack::render(e, o)).unwrap();
    let who = mentions(e, MentionStyle::Slack);
    let blocks = m["attachments"][0]["blocks"].as_array().unwrap();
    let at = |what: &str| format!("slack {what}");
    if blocks.len() > BLOCKS {
        return Err(at("has too many blocks"));
    }
    for b in blocks {
        if let Some(t) = b["text"]["text"].as_str()
            && t.chars().count() > SECTION_TEXT
        {
            return Err(at(&format!("section of {} characters", t.chars().count())));
        }
        if let Some(fields) = b["fields"].as_array() {
            if fields.len() > FIELDS {
                return Err(at(&format!("{} fields", fields.len())));
            }
            if let Some(f) = fields
                .iter()
                .find(|f| f["text"].as_str().unwrap().chars().count() > FIELD_TEXT)
            {
                return Err(at(&format!(
                    "field of {} characters",
                    f["text"].as_str().unwrap().chars().count()
                )));
            }
        }
        if b["elements"]
            .as_array()
            .is_some_and(|e| e.len() > CONTEXT_ELEMENTS)
        {
            return Err(at("context with too many elements"));
        }
    }
    if m["text"].as_str().unwrap().chars().count() > TEXT {
        return Err(at("top-level text too long"));
    }
    let mut all = Vec::new();
    strings(&m, String::new(), &mut all);
    for (path, s) in all {
        let s = unmentioned(s, &who).replace("*", "");
        let bare = s
            .replace("&amp;", "")
            .replace("&lt;", "")
            .replace("&gt;", "");
        if bare.contains(['<', '>', '&']) && !path.ends_with(".url") {
            return Err(at(&format!("{path} holds live markup: {s:.200}")));
        }
    }
    Ok(())
}

fn check_google_chat(e: &Event, o: RenderOptions) -> Result<(), String> {
    let m = google_chat::render(e, o);
    let size = m.to_string().len();
    if size > google_chat::MESSAGE_MAX_BYTES {
        return Err(format!("google chat message of {size} bytes"));
    }
    let who = mentions(e, MentionStyle::GoogleChat);
    let mut all = Vec::new();
    strings(&m, String::new(), &mut all);
    for (path, s) in all {
        let s = unmentioned(s, &who);
        // A thread key is an identifier Chat never shows.
        if s.contains(['<', '>']) && !path.ends_with(".url") && path != ".thread.threadKey" {
            return Err(format!("google chat {path} holds markup: {s:.200}"));
        }
    }
    Ok(())
}

fn check_chatwork(e: &Event, o: RenderOptions) -> Result<(), String> {
    let body = chatwork::render(e, o);
    if body.chars().count() > chatwork::BODY_MAX_CHARS {
        return Err(format!(
            "chatwork body of {} characters",
            body.chars().count()
        ));
    }
    let who = mentions(e, MentionStyle::Chatwork);
    let ours = unmentioned(&body, &who);
    let tags = ours.matches('[').count() + ours.matches(']').count();
    if tags != 8 || !ours.starts_with("[info][title]") || !ours.ends_with("[/info]") {
        return Err(format!(
            "chatwork body holds notation of its own: {ours:.300}"
        ));
    }
    Ok(())
}

fn check_backlog(e: &Event, o: RenderOptions) -> Result<(), String> {
    let issue = backlog::render(e, o);
    if issue.summary.chars().count() > backlog::SUMMARY_MAX_CHARS
        || issue.summary.contains(['\n', '\r'])
    {
        return Err(format!("backlog summary: {:?}", issue.summary));
    }
    if issue.summary.contains(['[', ']']) || issue.description.contains(['[', ']']) {
        return Err("backlog text holds brackets".into());
    }
    Ok(())
}

fn check_teams(e: &Event, o: RenderOptions) -> Result<(), String> {
    let m = teams::render(e, o);
    let size = m.to_string().len();
    if size > teams::BODY_MAX_BYTES {
        return Err(format!("teams body of {size} bytes"));
    }
    let who = mentions(e, MentionStyle::Teams);
    let content = &m["attachments"][0]["content"];
    let mut all = Vec::new();
    strings(&content["body"], String::new(), &mut all);
    for (path, s) in all {
        let s = unmentioned(s, &who);
        if s.contains(['[', ']', '<', '>']) {
            return Err(format!("teams {path} holds markup: {s:.200}"));
        }
    }
    Ok(())
}

fn check_all(e: &Event) -> Result<(), String> {
    for language in [Language::En, Language::Ja, Language::Ko] {
        let o = opts(language);
        check_slack(e, o)?;
        check_google_chat(e, o)?;
        check_chatwork(e, o)?;
        check_backlog(e, o)?;
        check_teams(e, o)?;
    }
    Ok(())
}

#[test]
fn every_renderer_fits_every_worst_case_and_nothing_untrusted_notifies() {
    for (name, event) in cases() {
        if let Err(why) = check_all(&event) {
            panic!("{name}: {why}");
        }
    }
}

#[test]
fn a_20kb_selector_trace_fits_slacks_section_after_escaping() {
    let mut e = Event::new(
        Source::Uipath,
        "",
        "j",
        State::Faulted,
        "Bot",
        chrono::DateTime::UNIX_EPOCH,
    );
    e.info = Some(selector_trace(20_000));
    let m = serde_json::to_value(slack::render(&e, opts(Language::En))).unwrap();
    let info = m["attachments"][0]["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap();
    assert!(
        info.chars().count() <= slack::limits::SECTION_TEXT,
        "{}",
        info.chars().count()
    );
    assert!(info.starts_with("```") && info.ends_with("```"));
    assert!(
        info.contains("&lt;html app='chrome.exe'"),
        "escaped, not dropped"
    );
}

#[test]
fn an_alarm_reason_with_greater_than_and_30_dimensions_fit_slack() {
    let mut e = Event::new(
        Source::Cloudwatch,
        "",
        "a",
        State::Alarm,
        "api",
        chrono::DateTime::UNIX_EPOCH,
    );
    e.info = Some(format!("error rate > 5% {}", "y".repeat(2_990)));
    let dims: Vec<String> = (0..30)
        .map(|i| format!("TargetGroup{i}=targetgroup/opsbell-tg/1234567890ab"))
        .collect();
    e.details = vec![("Dimensions".into(), dims.join(", "))];
    assert!(dims.join(", ").chars().count() > 1_300);
    check_slack(&e, opts(Language::En)).unwrap();
    let m = serde_json::to_value(slack::render(&e, opts(Language::En))).unwrap();
    let blocks = m["attachments"][0]["blocks"].as_array().unwrap();
    let info = blocks
        .iter()
        .find_map(|b| b["text"]["text"].as_str().filter(|t| t.starts_with("```")))
        .unwrap();
    assert!(info.contains("error rate &gt; 5%"), "{info:.60}");
}

#[test]
fn toall_in_a_robots_error_text_never_pings_a_chatwork_room() {
    let mut e = Event::new(
        Source::Uipath,
        "",
        "j",
        State::Faulted,
        "Bot",
        chrono::DateTime::UNIX_EPOCH,
    );
    e.info = Some("[/info][toall] everyone look [To:1234567][rp aid=1 to=2-3]".into());
    e.mentions = vec!["42".into()];
    let body = chatwork::render(&e, opts(Language::En));
    assert!(body.starts_with("[To:42] [info][title]"), "{body}");
    assert!(!body.contains("[toall]") && !body.contains("[To:1234567]") && !body.contains("[rp "));
    assert!(body.contains("［/info］［toall］ everyone look"), "{body}");
}

#[test]
fn a_link_in_a_process_name_is_text_in_google_chat() {
    let e = Event::new(
        Source::Uipath,
        "",
        "j",
        State::Faulted,
        "<http://evil.example|click here>",
        chrono::DateTime::UNIX_EPOCH,
    );
    let m = google_chat::render(&e, opts(Language::En));
    let text = m["text"].as_str().unwrap();
    assert!(!text.contains("<http"), "{text}");
    assert!(
        text.contains("＜http://evil.example|click here＞"),
        "{text}"
    );
    check_google_chat(&e, opts(Language::En)).unwrap();
}

/// Strings of every vendor's tokens, mixed with CJK, emoji and long runs.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        proptest::sample::select(TOKENS.to_vec()).prop_map(String::from),
        "[a-z<>&\\[\\]|@!:/ ]{0,12}",
        Just("障害🔥".to_string()),
        (1usize..400).prop_map(|n| "<&>".repeat(n)),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_generated_field_breaks_a_limit_or_notifies(
        process in hostile(), info in hostile(), machine in hostile(), robot in hostile(),
        folder in hostile(), key in hostile(), value in hostile(), headline in proptest::option::of(hostile()),
        alarm in any::<bool>(),
    ) {
        let (source, state) = match alarm {
            true => (Source::Cloudwatch, State::Alarm),
            false => (Source::Uipath, State::Faulted),
        };
        let mut e = Event::new(source, "", &process, state, process.clone(), chrono::DateTime::UNIX_EPOCH);
        e.mentions = vec!["U0123ABCD".into(), "123456789".into(), "alice@example.com".into()];
        e.info = Some(info);
        e.machine = Some(machine);
        e.robot = Some(robot);
        e.folder = Some(folder);
        e.details = vec![(key, value)];
        e.headline = headline;
        prop_assert!(check_all(&e).is_ok(), "{:?}", check_all(&e));
    }
}
