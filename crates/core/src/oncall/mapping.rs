//! lambda-connect's mapping file: which rotation file an SNS topic uses. An array of
//! `{sns_topic_name, phone_number_json_file}` (camelCase `snsTopicName`/`phoneNumberJsonFile` as
//! its README says), plus our optional per-project `message`.

use serde::Deserialize;

use super::{Finding, Severity};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MappingEntry {
    #[serde(alias = "snsTopicName")]
    pub sns_topic_name: String,
    #[serde(alias = "phoneNumberJsonFile")]
    pub phone_number_json_file: String,
    /// Spoken instead of the default message for this topic's alarms.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub file: String,
    pub entries: Vec<MappingEntry>,
}

impl Mapping {
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Mapping, Finding> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let entries: Vec<MappingEntry> =
            serde_path_to_error::deserialize(de).map_err(|e| Finding {
                severity: Severity::Error,
                file: file.into(),
                entry: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        Ok(Mapping {
            file: file.into(),
            entries,
        })
    }

    /// The entry for a topic (the last `:` segment of a topic ARN is its name).
    pub fn for_topic(&self, topic_arn_or_name: &str) -> Option<&MappingEntry> {
        let name = topic_arn_or_name
            .rsplit(':')
            .next()
            .unwrap_or(topic_arn_or_name);
        self.entries.iter().find(|e| e.sns_topic_name == name)
    }

    pub fn validate(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let dup = self.entries[..i]
                .iter()
                .any(|o| o.sns_topic_name == e.sns_topic_name);
            if dup {
                out.push(Finding {
                    severity: Severity::Warning,
                    file: self.file.clone(),
                    entry: format!("#{}", i + 1),
                    message: format!(
                        "topic {:?} is mapped again; the first entry wins",
                        e.sns_topic_name
                    ),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predecessor_mapping_loads_and_resolves_topic_arns() {
        let path = format!(
            "{}/../../samplejson/lambda-connect-mapping.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let m = Mapping::parse("mapping.json", &std::fs::read(path).unwrap()).unwrap();
        let e = m
            .for_topic("arn:aws:sns:us-east-1:123456789012:b-topic")
            .unwrap();
        assert_eq!(e.phone_number_json_file, "b-phoneNumber.json");
        assert!(m.for_topic("c-topic").is_none());
        let camel =
            br#"[{"snsTopicName": "x", "phoneNumberJsonFile": "x.json", "message": "DB down"}]"#;
        assert_eq!(
            Mapping::parse("m", camel).unwrap().entries[0]
                .message
                .as_deref(),
            Some("DB down")
        );
    }
}
