//! Problems found in configuration and settings, each with where it is, reported all at once.
//! A leaf: every adapter validates its own configuration into [`Problems`].

use std::fmt;

use serde_json::Value;

/// One thing wrong with the configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found, so a user fixes them all in one go.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

/// The readable list: a Lambda whose `main` fails at cold start prints its error's `Debug`.
impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} problem(s) in the configuration:",
            self.problems.len()
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

/// Collects problems while building.
#[derive(Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Deserializes `value` as `T`; on failure records the failing field under `path`.
    pub fn parse<T: serde::de::DeserializeOwned>(&mut self, path: &str, value: Value) -> Option<T> {
        serde_path_to_error::deserialize(value)
            .map_err(|e| {
                let inner = e.path().to_string();
                let at = match inner.as_str() {
                    "." => path.to_string(),
                    i if i.starts_with('[') => format!("{path}{i}"),
                    i => format!("{path}.{i}"),
                };
                self.push(at, e.into_inner().to_string());
            })
            .ok()
    }
}

impl Problems {
    /// Reads `value` as `T` and checks it with `check`; `None` when anything was wrong.
    pub fn read<T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        value: Value,
        check: impl FnOnce(&T, &str, &mut Problems),
    ) -> Option<T> {
        let before = self.0.len();
        let t = self.parse::<T>(path, value)?;
        check(&t, path, self);
        (self.0.len() == before).then_some(t)
    }

    /// A value that must not be blank.
    pub fn required(&mut self, value: &str, path: &str) {
        if value.trim().is_empty() {
            self.push(path, "must not be empty");
        }
    }

    /// A webhook or API URL. Webhook URLs are credentials (whoever has one can post), so a
    /// problem never echoes the value.
    pub fn url(&mut self, value: &str, path: &str) {
        if value.trim().is_empty() {
            self.push(path, "must not be empty");
        } else if !(value.starts_with("https://") || value.starts_with("http://")) {
            self.push(path, "must be an http(s) URL");
        }
    }
}

/// Ids arrive as numbers or strings (the predecessors' files have both).
pub fn de_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::Deserialize;
    match Value::deserialize(d)? {
        v @ (Value::String(_) | Value::Number(_)) => Ok(id_text(&v)),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, got {other}"
        ))),
    }
}

/// An id as text, whether a vendor sent it as a number or a string (`4`, `"4"`).
pub fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An optional id, as [`de_id`] reads it.
pub fn de_opt_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    de_id(d).map(Some)
}

/// Settings read from environment variables, reporting [`Problem`]s at the variable's name.
pub struct EnvVars<'a>(pub &'a [(String, String)]);

impl EnvVars<'_> {
    /// The trimmed value of `name`, unless unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        let found = self.0.iter().find(|(n, _)| n == name);
        found
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// `true`, `1` or `yes`, in any case.
    pub fn flag(&self, name: &str) -> bool {
        let value = self.get(name).map(|v| v.to_ascii_lowercase());
        matches!(value.as_deref(), Some("true" | "1" | "yes"))
    }

    /// A whole number, if set; a problem when it is not one.
    pub fn number(&self, name: &str, p: &mut Problems) -> Option<u64> {
        let v = self.get(name)?;
        v.parse()
            .map_err(|_| p.push(name, format!("{name}={v:?} is not a number")))
            .ok()
    }

    /// Whether any of `names` is set.
    pub fn any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.get(n).is_some())
    }
}
