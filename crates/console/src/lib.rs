//! The `console` Lambda: the HTTP API's `/console/*` requests → [`Console::handle`] (shared with
//! `opsbell serve`), the pages mounted under `/console`.

use lambda_http::http::header::{ACCEPT_LANGUAGE, COOKIE};
use lambda_http::{Body, Error, Request, Response};
use opsbell_core::console::{self, Console};

/// Where the HTTP API routes the console.
pub const MOUNT: &str = "/console";

pub async fn handle(request: Request, console: &Console) -> Result<Response<Body>, Error> {
    let text = |name| {
        let values = request.headers().get_all(name).iter();
        let values: Vec<&str> = values.filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join("; "))
    };
    let path = request.uri().path();
    let path = path.strip_prefix(MOUNT).unwrap_or(path);
    let query = request.uri().query().unwrap_or_default().to_string();
    let body = match request.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        Body::Empty => String::new(),
        _ => String::new(),
    };
    let reply = console
        .handle(&console::Request {
            post: request.method() == lambda_http::http::Method::POST,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
            query,
            body,
            cookie: text(COOKIE),
            accept_language: text(ACCEPT_LANGUAGE),
        })
        .await;
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    Ok(response.body(Body::from(reply.body))?)
}

/// Every answer of a deployment without a console configured.
pub async fn off() -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(404)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::from(
            "The console is off: set console.login and console.cookie_key in config.json.",
        ))?)
}
