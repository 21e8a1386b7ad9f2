//! `opsbell check`'s lines on what is watched beyond job ends.

use crate::config::Config;

impl Config {
    /// What is watched beyond job ends: triggers, robots, opsbell itself.
    pub(super) fn watched(&self) -> Vec<String> {
        let heard = |state: crate::event::State| {
            let names: Vec<&str> = (self.channels.keys())
                .filter(|c| {
                    self.routes
                        .iter()
                        .any(|r| r.channels.contains(c) && r.matchers.states.contains(&state))
                })
                .map(String::as_str)
                .collect();
            match names.is_empty() {
                true => "no channel".to_string(),
                false => names.join(", "),
            }
        };
        use crate::event::State::{Down, Hung, NotStarted, Offline, Stuck};
        let span = |d: Option<std::time::Duration>| match d
            .and_then(|d| chrono::Duration::from_std(d).ok())
        {
            Some(d) => crate::time::span_text(d),
            None => "no limit".to_string(),
        };
        let stuck = self.kamonohashi.iter().map(|k| {
            let tenants: Vec<String> = (k.long.tenants.iter())
                .map(|(t, (p, r))| format!("tenant {t}: Pending {}, Running {}", span(*p), span(*r)))
                .collect();
            let tenants = match tenants.is_empty() {
                true => String::new(),
                false => format!("; {}", tenants.join("; ")),
            };
            format!(
                "watch {}'s jobs stuck: Pending longer than {}, Running longer than {}{tenants} → {}",
                k.name,
                span(k.long.pending),
                span(k.long.running),
                heard(Stuck)
            )
        });
        let triggers = (self.orchestrators.iter()).filter_map(|s| {
            let t = s.triggers.as_ref()?;
            Some(format!(
                "watch {}'s triggers: runs missing {} after their time, and triggers disabled (read every {}; triggers on a calendar are skipped) → {}",
                s.name,
                crate::time::span_text(chrono::Duration::from_std(t.grace).unwrap_or_default()),
                crate::time::span_text(chrono::Duration::from_std(t.refresh).unwrap_or_default()),
                heard(NotStarted)
            ))
        });
        let hung = (self.orchestrators.iter()).filter_map(|s| {
            let h = s.hung.as_ref()?;
            let learned = match &h.learn {
                Some(l) => format!(
                    "{} × the p95 of its last {} successful runs (at least {}) once {} are known, until then {}",
                    l.k,
                    l.runs,
                    span(Some(l.floor)),
                    crate::client::orchestrator::config::Learn::MIN_RUNS,
                    span(h.running)
                ),
                None => span(h.running),
            };
            let own: Vec<String> = (h.max_running.iter())
                .map(|(p, d)| format!("{p} {}", span(Some(*d))))
                .collect();
            let own = match own.is_empty() {
                true => String::new(),
                false => format!(" (max_running: {})", own.join(", ")),
            };
            Some(format!(
                "watch {}'s jobs hung: Running longer than {learned}{own}, Stopping longer than {} → {}; Pending longer than {}, Suspended longer than {} → {}",
                s.name,
                span(h.stopping),
                heard(Hung),
                span(h.pending),
                span(h.suspended),
                heard(Stuck)
            ))
        });
        let beats = self.heartbeats.iter().map(|c| {
            format!(
                "watch heartbeat {}: {}, grace {}{} (ping /ping/<its key>) → {}",
                c.name,
                c.every.text(),
                crate::time::span_text(c.grace),
                if c.paused { ", paused" } else { "" },
                heard(Down)
            )
        });
        let mut lines = vec![
            format!(
                "watch triggers that cannot start (schedule.failed) → {}",
                heard(NotStarted)
            ),
            format!(
                "watch robots away (robot.status) longer than {} → {}",
                crate::time::span_text(
                    chrono::Duration::from_std(self.robot_grace).unwrap_or_default()
                ),
                heard(Offline)
            ),
            match &self.queue_items {
                Some(q) => format!(
                    "watch failed queue transactions (queueItem.transactionFailed): {} → {}",
                    match q.business_exceptions {
                        true => "application and business exceptions",
                        false => "application exceptions (business ones are off)",
                    },
                    heard(crate::event::State::Faulted)
                ),
                None => {
                    "failed queue transactions (queueItem.transactionFailed): off (set queue_items)"
                        .to_string()
                }
            },
            match &self.self_ping {
                Some(_) => "self-ping after every poll cycle: on (self_ping.url)".to_string(),
                None => "self-ping: off (set self_ping.url so someone hears when opsbell stops)"
                    .to_string(),
            },
        ];
        lines.extend(triggers);
        lines.extend(hung);
        lines.extend(stuck);
        lines.extend(beats);
        lines
    }
}
