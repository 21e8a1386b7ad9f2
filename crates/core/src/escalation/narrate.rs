//! What chat hears while an escalation runs, as sentences. Numbers show their last 4 digits.

use crate::state::{Call, Incident};

/// `…4567`.
pub fn mask(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

fn numbers(calls: &[&Call]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for c in calls {
        let m = mask(&c.number);
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    seen.join(", ")
}

/// Who is called first and how to stop it:
/// "Calling group2 (…4567, …8901) for ALARM X — reply `ack 7f3a` to stop."
pub fn calling(incident: &Incident, short: &str) -> String {
    let Some(first) = incident.calls.first() else {
        return format!("Nobody to call for {}.", incident.title);
    };
    let group: Vec<&Call> = incident
        .calls
        .iter()
        .filter(|c| c.group == first.group && c.round == first.round)
        .collect();
    format!(
        "Calling {} ({}) for {} — reply `ack {short}` to stop.",
        first.group,
        numbers(&group),
        incident.title
    )
}

/// After step `step` went unanswered (or could not be placed): what happens next.
pub fn unanswered(incident: &Incident, step: usize, reached: bool) -> String {
    let call = &incident.calls[step];
    let head = match reached {
        true => format!("No answer from {}", mask(&call.number)),
        false => format!("Could not call {}", mask(&call.number)),
    };
    match incident.calls.get(step + 1) {
        Some(next) if next.group == "fallback" => {
            format!(
                "{head}; nobody answered, calling the fallback {}.",
                mask(&next.number)
            )
        }
        Some(next) => format!("{head}; calling {} ({}).", mask(&next.number), next.group),
        None => format!("{head}."),
    }
}

/// "Answered by …8901 — the escalation ends."
pub fn answered(number: &str) -> String {
    format!("Answered by {} — the escalation ends.", mask(number))
}

/// Connect refused opsbell's own configuration: nobody can be called until it is fixed.
pub fn misconfigured(number: &str, error: &str) -> String {
    format!(
        "Cannot place phone calls: Amazon Connect refuses opsbell's configuration ({error}). \
         Nobody is being called; the escalation waits at {} and is retried once the instance, \
         contact flow or permissions are fixed.",
        mask(number)
    )
}

/// The end with nobody reached.
pub fn nobody(incident: &Incident) -> String {
    let all: Vec<&Call> = incident.calls.iter().collect();
    format!(
        "Nobody answered. Called {} time(s): {}",
        incident.calls.len(),
        numbers(&all)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_to_their_last_four_digits() {
        assert_eq!(mask("+81-50-1234-4567"), "…4567");
        assert_eq!(mask("12"), "…12");
    }
}
