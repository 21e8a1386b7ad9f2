//! On-call, pure: rotation and mapping files (both of lambda-connect's formats), who is on call on
//! a day, the ordered call plan, and the caller's settings. The escalation that runs the plan is
//! [`crate::escalation`].

pub mod mapping;
pub mod plan;
pub mod rotation;
pub mod settings;

use std::fmt;

/// How bad a finding in a rotation or mapping file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Works, but probably not as meant (a day nobody covers, two groups on one day).
    Warning,
    /// A call would fail or a group can never match.
    Error,
}

/// A finding, naming the file and the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub file: String,
    pub entry: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}: {} {}: {}", self.file, self.entry, self.message)
    }
}
