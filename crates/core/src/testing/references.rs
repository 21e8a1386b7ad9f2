//! The vendors' own references, for tests that run under `scripts/test.sh` (which installs
//! them and names their interpreter in `OPSBELL_PYTHON`): the Adaptive Card schema and the
//! other message checks of `scripts/vendor-check.py`, and the Standard Webhooks reference
//! verifier (`scripts/verify-standard-webhooks.py`).

use serde_json::{Value, json};

/// Runs `scripts/<script>` with the references' interpreter; panics with its output unless it
/// succeeds; returns what it printed.
pub fn python(script: &str, args: &[&str]) -> String {
    let python = std::env::var("OPSBELL_PYTHON")
        .expect("OPSBELL_PYTHON names the interpreter with the references: run scripts/test.sh");
    let script = format!("{}/../../scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .expect("the references' interpreter runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}: {text}{err}");
    text
}

/// A file of `value` in a fresh temporary folder, kept until the process ends.
fn file(name: &str, value: &Value) -> String {
    let dir = std::env::temp_dir().join(format!(
        "opsbell-refs-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

/// Asserts that every body passes `scripts/vendor-check.py` as `vendor`'s message.
pub fn vendor_check(vendor: &str, bodies: &[Value]) {
    let items: Vec<Value> = (bodies.iter())
        .map(|b| json!({"name": "received", "message": b}))
        .collect();
    let said = python(
        "vendor-check.py",
        &[&file("rendered.json", &json!({ vendor: items }))],
    );
    assert!(said.contains(" 0 problem(s)"), "{said}");
}

/// A request as a receiver saw it: its headers (name, value) and its body.
pub type Received = (Vec<(String, String)>, Vec<u8>);

/// A request as a receiver saw it, from its header map and body.
pub fn received(headers: &reqwest::header::HeaderMap, body: &[u8]) -> Received {
    let headers = (headers.iter())
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    (headers, body.to_vec())
}

/// Asserts that the Standard Webhooks library verifies every request (its headers and body)
/// with `secret`.
pub fn verify_standard_webhooks(secret: &str, requests: &[Received]) {
    let requests: Vec<Value> = (requests.iter())
        .map(|(headers, body)| {
            let headers: serde_json::Map<String, Value> =
                headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            json!({ "headers": headers, "body": String::from_utf8_lossy(body) })
        })
        .collect();
    let path = file("requests.json", &Value::from(requests.clone()));
    let said = python("verify-standard-webhooks.py", &[secret, &path]);
    assert!(
        said.contains(&format!("{} request(s) verified", requests.len())),
        "{said}"
    );
}
