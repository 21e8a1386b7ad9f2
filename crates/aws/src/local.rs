//! Running a Lambda's handler without the Lambda runtime, for debugging and for measuring cold
//! start: `<function> --event FILE` reads one event (the JSON Lambda would pass; `-` is standard
//! input), calls the same handler the runtime would, prints its answer as JSON and exits.
//! The deadline is `OPSBELL_LOCAL_TIMEOUT_SECS` (default 60) from now.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, Error, LambdaEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The file after `--event`, if the process was started that way.
pub fn event_file() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--event" {
            return args.next().map(PathBuf::from);
        }
    }
    None
}

fn read(path: &PathBuf) -> Result<Vec<u8>, Error> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// A context like the runtime's, with a local request id and the deadline.
pub fn context() -> Context {
    let timeout = std::env::var("OPSBELL_LOCAL_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let deadline = SystemTime::now() + Duration::from_secs(timeout);
    let mut context = Context::default();
    context.request_id = "local-invoke".into();
    context.deadline = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    context
}

/// The event of `--event FILE`, when given.
pub fn event<E: DeserializeOwned>() -> Result<Option<LambdaEvent<E>>, Error> {
    let Some(path) = event_file() else {
        return Ok(None);
    };
    let payload = serde_json::from_slice(&read(&path)?)
        .map_err(|e| format!("{}: not this function's event: {e}", path.display()))?;
    Ok(Some(LambdaEvent::new(payload, context())))
}

/// Prints a handler's answer.
pub fn print<R: Serialize>(answer: &R) -> Result<(), Error> {
    println!("{}", serde_json::to_string_pretty(answer)?);
    Ok(())
}

/// The API Gateway request of `--event FILE` (REST v1 or HTTP v2), when given.
#[cfg(feature = "local-http")]
pub fn request() -> Result<Option<lambda_http::Request>, Error> {
    let Some(path) = event_file() else {
        return Ok(None);
    };
    let text = String::from_utf8(read(&path)?)?;
    let request = lambda_http::request::from_str(&text)
        .map_err(|e| format!("{}: not an API Gateway event: {e}", path.display()))?;
    Ok(Some(request))
}

/// Prints an HTTP handler's answer: status and body.
#[cfg(feature = "local-http")]
pub fn print_response(response: &lambda_http::Response<lambda_http::Body>) -> Result<(), Error> {
    let body = match response.body() {
        lambda_http::Body::Text(t) => t.clone(),
        lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        lambda_http::Body::Empty => String::new(),
        _ => String::new(),
    };
    print(&serde_json::json!({ "statusCode": response.status().as_u16(), "body": body }))
}
