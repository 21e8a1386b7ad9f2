//! The oracle: what each routed (event, target) must have become at quiescence, computed from
//! the scenario (its routes and silences, `scenario::expected_channels`), never from the code
//! under test.
//!
//! - delivered once; or
//! - withheld with its recorded reason (a silence that covers it); or
//! - listed in exactly one digest that was posted there;
//!
//! and never more than one of these, except after an ambiguous send (the vendor took a post
//! whose answer was lost, or the worker died right after a post or a flood count), which is
//! counted and printed, never hidden. A target the routes do not name gets nothing. Every
//! digest counts exactly the events it lists. A live Chat space is never forgotten. Nothing is
//! left in the queue or the dead-letter queue once the faults end and it is redriven.

use std::collections::BTreeMap;

use opsbell_core::event::{Event, Source};

use super::Outcome;
use super::scenario::{Scenario, expected_channels};

const LIVE: [&str; 2] = super::LIVE_SPACES;

/// `Ok((pairs judged, pairs ambiguous))`, or every violation found.
pub fn check(s: &Scenario, o: &Outcome) -> Result<(usize, usize), String> {
    let mut wrong = Vec::new();
    if o.left > 0 {
        wrong.push(format!(
            "{} message(s) never finished, though the faults ended and the DLQ was redriven",
            o.left
        ));
    }
    for space in LIVE {
        if !o.registry.iter().any(|s| s == space) {
            wrong.push(format!("live space {space} was forgotten"));
        }
    }
    // What each target got: direct posts, and the events each posted digest lists.
    let mut direct: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut digested: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut digests_seen = Vec::new();
    for (target, event) in &o.posts {
        if event.source != Source::Digest {
            *direct
                .entry((event.key.to_string(), target.clone()))
                .or_default() += 1;
            continue;
        }
        // A digest posted again after an ambiguous send of itself repeats, as any post would.
        let channel = target.split('#').next().unwrap_or_default().to_string();
        let seen = (event.key.to_string(), target.clone());
        if digests_seen.contains(&seen) && o.ambiguous.contains(&(seen.0.clone(), channel)) {
            continue;
        }
        digests_seen.push(seen);
        let listed = listed(event);
        let held = held(event);
        if held != Some(listed.len()) && !expired(event) {
            wrong.push(format!(
                "digest {} at {target} counts {held:?} but lists {}",
                event.key,
                listed.len()
            ));
        }
        for key in listed {
            *digested.entry((key, target.clone())).or_default() += 1;
        }
    }
    let mut expected = Vec::new();
    for event in &s.events {
        for channel in expected_channels(event) {
            let targets: Vec<String> = match channel {
                "bot" => LIVE.iter().map(|sp| format!("bot#{sp}")).collect(),
                c => vec![c.to_string()],
            };
            for target in targets {
                expected.push((event.key.to_string(), target.clone()));
                judge(
                    s, o, event, channel, &target, &direct, &digested, &mut wrong,
                );
            }
        }
    }
    robots(s, o, &direct, &digested, &mut expected, &mut wrong);
    for (pair, n) in direct.iter().chain(digested.iter()) {
        if !expected.contains(pair) {
            wrong.push(format!(
                "{} reached {} ({n}x), which no route names",
                pair.0, pair.1
            ));
        }
    }
    match wrong.is_empty() {
        true => Ok((expected.len(), o.ambiguous.len())),
        false => Err(wrong.join("; ")),
    }
}

#[allow(clippy::too_many_arguments)]
fn judge(
    s: &Scenario,
    o: &Outcome,
    event: &Event,
    channel: &str,
    target: &str,
    direct: &BTreeMap<(String, String), usize>,
    digested: &BTreeMap<(String, String), usize>,
    wrong: &mut Vec<String>,
) {
    let key = event.key.to_string();
    let pair = (key.clone(), target.to_string());
    let (d, g) = (
        direct.get(&pair).copied().unwrap_or(0),
        digested.get(&pair).copied().unwrap_or(0),
    );
    let withheld = o.withheld.contains(&(key.clone(), channel.to_string()));
    let silences = s
        .silences
        .iter()
        .filter(|x| x.process == event.process && x.channel == channel);
    let (mut always, mut maybe) = (false, false);
    for x in silences {
        match x.from.is_zero() && x.until.as_secs() >= 30 * 86_400 {
            true => always = true,
            false => maybe = true,
        }
    }
    let ambiguous = o.ambiguous.contains(&(key.clone(), channel.to_string()));
    let said = d + g;
    // The bot's spaces share the channel's record: a silence that began while some spaces
    // had it and others not withholds it from the rest only.
    let withheld_here = withheld && (channel != "bot" || said == 0);
    let problem = if always && !(withheld && said == 0) {
        Some("must be withheld by its silence".to_string())
    } else if withheld && !(always || maybe) {
        Some("withheld with no silence covering it".to_string())
    } else if withheld_here && said > 0 && !ambiguous {
        Some(format!("withheld, yet said {said}x"))
    } else if !withheld_here && said == 0 {
        Some("lost: neither delivered, withheld nor digested".to_string())
    } else if said > 1 && !ambiguous {
        Some(format!("said {said}x ({d} posted, {g} in digests)"))
    } else {
        None
    };
    if let Some(p) = problem {
        wrong.push(format!("{key} at {target}: {p}"));
    }
}

/// A robot that went away and never came back is announced offline exactly once at each
/// target its reports are routed to (more only after an ambiguous send), whichever of its away
/// reports is taken first; never back, it is never announced online.
fn robots(
    s: &Scenario,
    o: &Outcome,
    direct: &BTreeMap<(String, String), usize>,
    digested: &BTreeMap<(String, String), usize>,
    expected: &mut Vec<(String, String)>,
    wrong: &mut Vec<String>,
) {
    let targets: Vec<String> = std::iter::once("slack".to_string())
        .chain(LIVE.iter().map(|sp| format!("bot#{sp}")))
        .collect();
    for keys in &s.robots {
        for target in &targets {
            let channel = target.split('#').next().unwrap_or_default();
            let mut said = 0;
            for key in keys {
                let pair = (key.clone(), target.clone());
                said += direct.get(&pair).copied().unwrap_or(0);
                said += digested.get(&pair).copied().unwrap_or(0);
                expected.push(pair);
            }
            let ambiguous =
                (keys.iter()).any(|k| o.ambiguous.contains(&(k.clone(), channel.to_string())));
            if said == 0 || (said > 1 && !ambiguous) {
                wrong.push(format!(
                    "robot {} at {target}: announced offline {said}x, not once",
                    keys[0]
                ));
            }
        }
    }
}

/// The event keys a digest lists, one line each (`• <process> <state> — <key>`).
fn listed(digest: &Event) -> Vec<String> {
    let info = digest.info.as_deref().unwrap_or_default();
    info.lines()
        .filter_map(|l| l.strip_prefix("• "))
        .filter_map(|l| l.rsplit(" — ").next())
        .map(str::to_string)
        .collect()
}

/// The count a digest's headline gives (`N more event(s) in …`).
fn held(digest: &Event) -> Option<usize> {
    digest.headline.as_deref()?.split(' ').next()?.parse().ok()
}

fn expired(digest: &Event) -> bool {
    digest
        .headline
        .as_deref()
        .is_some_and(|h| h.contains("record is gone"))
}
