//! What a deployment needs of a configuration beyond its values, for `opsbell check` and the
//! packager: the secret references it holds (resolved at cold start by the functions that load
//! the configuration, so their roles must read them, under serverless.yml's `secretPrefix`) and
//! the files it names (packaged next to `config.json`, and read relative to it).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::secrets::{self, STAGE_PLACEHOLDER};
use super::{Config, ConfigError, Problem};
use crate::ports::Reference;

/// The functions that load the configuration and resolve every reference at cold start.
pub const READERS: [&str; 3] = ["webhook-ingest", "job-poller", "alarm-fanout"];

/// serverless.yml's `secretPrefix`: what the readers' roles may read, per stage.
pub const SECRET_PREFIX: &str = "/opsbell/${stage}/";

/// The configuration keys that name files, as `(key path, file)`.
pub fn files(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let sources = value
        .pointer("/sources/kamonohashi")
        .and_then(Value::as_array);
    for (i, source) in sources.into_iter().flatten().enumerate() {
        for key in ["config_file", "secure_file", "message_file"] {
            if let Some(file) = source.get(key).and_then(Value::as_str) {
                out.push((format!("sources.kamonohashi[{i}].{key}"), file.to_string()));
            }
        }
    }
    out
}

/// The files a configuration names, as the loader read them: the contents, or why not.
pub type NamedFiles = BTreeMap<String, Result<String, String>>;

/// Reads every file `value` names (paths as written, after [`rebase_files`]).
pub fn read_files(value: &Value) -> NamedFiles {
    files(value)
        .into_iter()
        .map(|(_, file)| {
            let read = std::fs::read_to_string(&file).map_err(|e| e.to_string());
            (file, read)
        })
        .collect()
}

/// Makes the relative files a configuration names relative to its folder, as a deployed
/// function reads them (its working folder holds `config.json`).
pub fn rebase_files(value: &mut Value, dir: &Path) {
    let sources = value
        .pointer_mut("/sources/kamonohashi")
        .and_then(Value::as_array_mut);
    for source in sources.into_iter().flatten() {
        for key in ["config_file", "secure_file", "message_file"] {
            if let Some(Value::String(file)) = source.get_mut(key)
                && Path::new(file.as_str()).is_relative()
            {
                *file = dir.join(&*file).display().to_string();
            }
        }
    }
}

/// Problems with the files a deploy configuration names: each must be relative (it is
/// packaged next to `config.json`) and exist under `dir`.
pub fn file_problems(value: &Value, dir: &Path) -> Vec<Problem> {
    files(value)
        .into_iter()
        .filter_map(|(path, file)| {
            let message = if Path::new(&file).is_absolute() {
                format!("{file} is absolute; a packaged function finds only files next to its config.json: give a path relative to the configuration")
            } else if !dir.join(&file).is_file() {
                format!("{file} not found next to the configuration ({})", dir.display())
            } else {
                return None;
            };
            Some(Problem { path, message })
        })
        .collect()
}

/// Checks one reference's shape and that the readers' roles may read it (for `stage`, or for
/// every stage when it uses [`STAGE_PLACEHOLDER`]). Ok is what to tell the user.
pub fn check_reference(reference: &Reference, stage: Option<&str>) -> Result<String, String> {
    let (name, store, action) = match reference {
        Reference::Ssm(name) => (name.as_str(), "SSM parameter", "ssm:GetParameter"),
        Reference::SecretsManager(name) => {
            // A full ARN names the secret after `secret:`.
            let name = name
                .split_once(":secret:")
                .map_or(name.as_str(), |(_, n)| n);
            (
                name,
                "Secrets Manager secret",
                "secretsmanager:GetSecretValue",
            )
        }
    };
    let bare = name.replace(STAGE_PLACEHOLDER, "stage");
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_.-+=@".contains(c);
    if bare.is_empty() || !bare.chars().all(allowed) {
        return Err(format!("{reference}: not a valid {store} name"));
    }
    if matches!(reference, Reference::Ssm(_)) && !name.starts_with('/') {
        return Err(format!("{reference}: an SSM parameter path starts with /"));
    }
    let prefix_for = |stage: &str| SECRET_PREFIX.replace(STAGE_PLACEHOLDER, stage);
    let under = match stage {
        Some(stage) => name
            .replace(STAGE_PLACEHOLDER, stage)
            .starts_with(&prefix_for(stage)),
        None => name.starts_with(SECRET_PREFIX),
    };
    let readers = READERS.join(", ");
    if !under {
        let stage_text = stage.map_or("every stage".to_string(), |s| format!("stage {s}"));
        let hint = match stage {
            Some(s) => prefix_for(s),
            None => SECRET_PREFIX.to_string(),
        };
        return Err(format!(
            "{reference}: outside {hint}, where the roles of {readers} may read ({action}) for {stage_text}; \
             move it there (write {STAGE_PLACEHOLDER} for the stage)"
        ));
    }
    Ok(format!(
        "{reference}: {store}, read at cold start by {readers} ({action} on {SECRET_PREFIX}*)"
    ))
}

/// A deploy configuration checked without resolving its references: every reference's shape
/// and prefix, the files it names, and every other value. Problems at a reference's own path
/// (its value is unknown here) are not reported. Ok holds what to tell of each reference.
pub fn check(
    mut value: Value,
    stage: Option<&str>,
    dir: &Path,
) -> Result<Vec<String>, ConfigError> {
    let references = secrets::references(&value);
    let mut problems = file_problems(&value, dir);
    let mut notes = Vec::new();
    for (path, reference) in &references {
        match check_reference(reference, stage) {
            Ok(note) => notes.push(format!("{path}: {note}")),
            Err(message) => problems.push(Problem {
                path: path.clone(),
                message,
            }),
        }
    }
    for (path, _) in &references {
        set(&mut value, path, "opsbell-check-placeholder");
    }
    rebase_files(&mut value, dir);
    let built = Config::from_value(value.clone());
    notes.extend(match &built {
        Ok(config) => config.unheard(),
        // A channel whose secret is a placeholder may not build: judge the routes as written.
        Err(_) => unheard_as_written(&value),
    });
    if let Err(e) = built {
        let at_reference = |p: &Problem| {
            references
                .iter()
                .any(|(r, _)| p.path.starts_with(r.as_str()))
        };
        // A channel whose secret is a placeholder may not build, so routes to it look unknown.
        let unbuilt: Vec<String> = e
            .problems
            .iter()
            .filter(|p| at_reference(p))
            .filter_map(|p| p.path.strip_prefix("channels.")?.split('.').next())
            .map(|name| format!("unknown channel {name:?}"))
            .collect();
        let follows = |p: &Problem| unbuilt.iter().any(|u| p.message.contains(u.as_str()));
        problems.extend(
            e.problems
                .into_iter()
                .filter(|p| !at_reference(p) && !follows(p)),
        );
    }
    if problems.is_empty() {
        Ok(notes)
    } else {
        Err(ConfigError { problems })
    }
}

/// [`super::report::unheard`] of a file whose channels cannot all be built here.
fn unheard_as_written(value: &Value) -> Vec<String> {
    let routes: Vec<crate::route::Route> =
        serde_json::from_value(value["routes"].clone()).unwrap_or_default();
    let kinds = value["channels"].as_object().into_iter().flatten();
    let oncall = kinds.map(|(_, c)| &c["type"]).any(|t| t == "oncall");
    super::report::unheard(&routes, oncall, false)
}

/// Sets the string at a `a.b[0].c` path (as [`secrets::references`] names them).
fn set(value: &mut Value, path: &str, text: &str) {
    let mut node = value;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, i)) => (k, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some(next) = node.get_mut(key) else {
            return;
        };
        node = match index {
            Some(i) => match next.get_mut(i) {
                Some(n) => n,
                None => return,
            },
            None => next,
        };
    }
    *node = Value::String(text.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_must_lie_under_the_stage_prefix() {
        let ok = |s: &str, stage| check_reference(&Reference::parse(s).unwrap(), stage);
        assert!(
            ok("ssm:/opsbell/${stage}/slack", None)
                .unwrap()
                .contains("webhook-ingest, job-poller, alarm-fanout")
        );
        assert!(ok("secretsmanager:/opsbell/${stage}/key", Some("prod")).is_ok());
        assert!(ok("ssm:/opsbell/prod/slack", Some("prod")).is_ok());
        let e = ok("ssm:/opsbell/dev/slack", Some("prod")).unwrap_err();
        assert!(e.contains("outside /opsbell/prod/"), "{e}");
        assert!(
            ok("ssm:/opsbell/dev/slack", None).is_err(),
            "a literal stage fits one stage only"
        );
        assert!(
            ok("ssm:opsbell/x", None)
                .unwrap_err()
                .contains("starts with /")
        );
        assert!(
            ok("ssm:/opsbell/${stage}/a b", None)
                .unwrap_err()
                .contains("not a valid")
        );
        let arn =
            "secretsmanager:arn:aws:secretsmanager:ap-northeast-1:1:secret:/opsbell/${stage}/k";
        assert!(ok(arn, Some("ci")).is_ok());
    }

    #[test]
    fn a_deploy_config_with_references_checks_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let config = json!({
            "webhook": {"orchestrator": {"secret": "ssm:/opsbell/${stage}/orchestrator-secret"}},
            "channels": {
                "ops": {"type": "slack", "webhook_url": "secretsmanager:/opsbell/${stage}/slack"},
                "bot": {"type": "google_chat_bot", "service_account_key": "ssm:/opsbell/${stage}/key"}
            },
            "routes": [{"name": "r", "channels": ["ops", "bot"]}]
        });
        let notes = check(config.clone(), Some("prod"), dir.path()).unwrap();
        assert_eq!(notes.len(), 3);
        let mut bad = config;
        bad["routes"][0]["channels"][0] = json!("nowhere");
        bad["channels"]["ops"]["webhook_url"] = json!("ssm:/elsewhere/slack");
        bad["sources"] = json!({"kamonohashi": [{"name": "k", "config_file": "kqi/config.json", "secure_file": "/etc/kqi.json"}]});
        let problems = check(bad, Some("prod"), dir.path()).unwrap_err().problems;
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        let has = |s: &str| text.iter().any(|t| t.contains(s));
        assert!(has("nowhere"), "{text:?}");
        assert!(
            has("channels.ops.webhook_url: ssm:/elsewhere/slack: outside /opsbell/prod/"),
            "{text:?}"
        );
        assert!(has("kqi/config.json not found"), "{text:?}");
        assert!(has("/etc/kqi.json is absolute"), "{text:?}");
    }
}
