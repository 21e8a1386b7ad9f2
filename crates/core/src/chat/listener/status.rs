//! The bot's `status` (spaces, recent deliveries, this week's escalations) and `oncall` (who is
//! on call today, by the same plan a call follows) answers.

use chrono::{DateTime, Utc};

use super::ChatListener;
use crate::chat::replies::Say;
use crate::escalation::short_id;
use crate::escalation::trigger::Today;
use crate::oncall::mapping::Mapping;
use crate::ports::StoreError;
use crate::state::{
    self, DELIVERY_WINDOW, INCIDENT_WINDOW, Incident, RecentDelivery, RecentIncident, Status,
};

impl ChatListener<'_> {
    /// Spaces, events delivered in the last 24 hours (the latest few), escalations this week.
    pub(super) async fn status(&self, now: DateTime<Utc>) -> Result<String, StoreError> {
        let spaces = state::Space::names(self.records, self.bot).await?;
        let lang = self.language;
        let mut lines = vec![
            Say::Running {
                spaces: spaces.len(),
            }
            .text(lang),
        ];
        let deliveries = RecentDelivery::since(self.records, now - DELIVERY_WINDOW).await?;
        lines.push(
            Say::Delivered {
                n: deliveries.len(),
            }
            .text(lang),
        );
        for d in deliveries.iter().take(STATUS_LINES) {
            lines.push(format!(
                "• {} {} *{}* → {}",
                short_time(d.at),
                d.state,
                d.title,
                d.targets.join(", ")
            ));
        }
        let incidents = RecentIncident::since(self.records, now - INCIDENT_WINDOW).await?;
        lines.push(Say::Escalations { n: incidents.len() }.text(lang));
        for i in incidents.iter().take(STATUS_LINES) {
            let id = &short_id(&i.id);
            let state = match Incident::load(self.records, &i.id).await? {
                Some(incident) => match incident.status {
                    Status::Answered { number, .. } => {
                        Say::AnsweredBy { number: &number }.text(lang)
                    }
                    Status::Acked { by } => Say::AckedBy { by: &by }.text(lang),
                    Status::Calling => Say::Calling { id }.text(lang),
                    Status::Exhausted => Say::NobodyAnswered.text(lang),
                },
                None => Say::Expired.text(lang),
            };
            lines.push(format!(
                "• {} {} *{}* — {state}",
                short_time(i.at),
                id,
                i.title
            ));
        }
        let checks = crate::heartbeat::Heartbeats::rows(self.records).await?;
        if !checks.is_empty() {
            lines.push(Say::Heartbeats { n: checks.len() }.text(lang));
        }
        for (name, row) in checks {
            let last = row.last_ping.map(short_time).unwrap_or_else(|| "-".into());
            lines.push(format!("• *{name}* {} ({last})", row.status.as_str()));
        }
        Ok(lines.join("\n"))
    }

    /// Who is on call today: for `topic`, or, in mapping mode, for every topic of the mapping
    /// file (else the default rotation). The same plan a call would follow.
    pub(super) async fn who(&self, topic: Option<&str>, now: DateTime<Utc>) -> String {
        let Some((settings, files)) = self.oncall else {
            return Say::OncallOff.text(self.language);
        };
        let topics: Vec<Option<String>> = match (topic, &settings.mapping_file) {
            (Some(t), _) => vec![Some(t.to_string())],
            (None, None) => vec![None],
            (None, Some(mapping)) => {
                let read = files.read(mapping).await;
                match read
                    .map_err(|e| e.to_string())
                    .and_then(|b| Mapping::parse(mapping, &b).map_err(|f| f.to_string()))
                {
                    Ok(m) => m
                        .entries
                        .into_iter()
                        .map(|e| Some(e.sns_topic_name))
                        .collect(),
                    Err(error) => {
                        return Say::MappingUnreadable { error: &error }.text(self.language);
                    }
                }
            }
        };
        let mut lines = Vec::new();
        for topic in &topics {
            let topic = topic.as_deref();
            let today = crate::escalation::trigger::today(settings, files, topic, now).await;
            let say = match &today {
                Today::OnCall {
                    day,
                    group,
                    numbers,
                } => Say::OnCallToday {
                    day: *day,
                    topic,
                    group,
                    numbers: &numbers.join(", "),
                }
                .text(self.language),
                Today::Gap { day, notice } => Say::NobodyScheduled {
                    day: *day,
                    topic,
                    notice,
                }
                .text(self.language),
                Today::Broken { day, finding } => Say::FilesNeedFixing {
                    day: *day,
                    topic,
                    finding,
                }
                .text(self.language),
            };
            lines.push(say);
        }
        lines.join("\n")
    }
}

/// Entries of each kind `status` lists.
const STATUS_LINES: usize = 5;

/// `2026-11-23 01:02 UTC`.
pub(super) fn short_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
