//! IAM in front of the AWS emulator, since moto does not enforce it: an HTTP proxy that a
//! function's SDK talks to (its `AWS_ENDPOINT_URL`), which reads each request's action and
//! resource ARN the way AWS authorizes them, checks them against the function's own role from
//! the rendered template, and either forwards the call (to moto, or to the Connect fake) or
//! answers as AWS does when a role lacks a permission (AccessDenied). Every decision is kept,
//! so a test can assert that nothing was denied and show what was.
//!
//! Actions and resources per service, from the Service Authorization Reference:
//! DynamoDB (`table/<name>`), SQS (`<region>:<account>:<queue>`; the batch calls are authorized
//! as their single forms), S3 (`<bucket>/<key>`), SSM (`parameter/<name>`), Secrets Manager
//! (`secret:<name>-<6 random characters>`), Connect (`instance/<id>/contact/<id or *>`).
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::template::{ACCOUNT, Policy, REGION};

/// One authorization decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub resource: String,
    pub allowed: bool,
}

/// One request the proxy forwarded, with its answer: what the Lambda benchmark's cost table
/// counts and sizes.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub service: String,
    /// The API operation (`SendMessageBatch`, `PutItem`, `GetObject` …).
    pub operation: String,
    pub request: Bytes,
    pub status: u16,
    pub response: Bytes,
    /// How long the upstream took to answer.
    pub took: std::time::Duration,
}

impl Exchange {
    /// `{service, operation, request_bytes, response_bytes, status}` and, for DynamoDB, the
    /// request's JSON (sizes of items and keys are read from it), for the cost table.
    pub fn summary(&self) -> Value {
        let mut s = json!({
            "service": self.service, "operation": self.operation, "status": self.status,
            "request_bytes": self.request.len(), "response_bytes": self.response.len(),
            "took_ms": self.took.as_secs_f64() * 1000.0,
        });
        if self.service == "dynamodb" {
            s["request"] = serde_json::from_slice(&self.request).unwrap_or(Value::Null);
            s["response"] = serde_json::from_slice(&self.response).unwrap_or(Value::Null);
        }
        s
    }
}

struct Inner {
    policy: Policy,
    moto: String,
    connect: Option<String>,
    http: reqwest::Client,
    calls: Mutex<Vec<Call>>,
    exchanges: Mutex<Vec<Exchange>>,
}

#[derive(Clone)]
pub struct IamProxy {
    pub url: String,
    inner: Arc<Inner>,
}

impl IamProxy {
    /// A proxy enforcing `policy` in front of the emulator (`AWS_ENDPOINT_URL`); Connect calls
    /// go to `connect` (moto has no Connect).
    pub async fn start(policy: Policy, connect: Option<String>) -> IamProxy {
        let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto)");
        let inner = Arc::new(Inner {
            policy,
            moto,
            connect,
            http: reqwest::Client::new(),
            calls: Mutex::new(Vec::new()),
            exchanges: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        IamProxy { url, inner }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.calls.lock().unwrap().clone()
    }

    /// Every forwarded request with its answer, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.inner.exchanges.lock().unwrap().clone()
    }

    pub fn denied(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| !c.allowed).collect()
    }

    /// Panics, listing them, if the role refused any call.
    pub fn assert_nothing_denied(&self) {
        let denied = self.denied();
        assert!(
            denied.is_empty(),
            "{} lacks permissions the function uses:\n{}",
            self.inner.policy.role,
            denied
                .iter()
                .map(|c| format!("  {} on {}", c.action, c.resource))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let service = signing_service(&headers);
    let (action, resource) = authorization(&service, &method, &uri, &headers, &body);
    let allowed = inner
        .policy
        .allows(&action, &resource, &leading_keys(&service, &body));
    inner.calls.lock().unwrap().push(Call {
        action: action.clone(),
        resource: resource.clone(),
        allowed,
    });
    if !allowed {
        return access_denied(&service, &inner.policy.role, &action, &resource);
    }
    let upstream = match (&*service, &inner.connect) {
        ("connect", Some(url)) => url.clone(),
        _ => inner.moto.clone(),
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    // The operation as the JSON protocols name it (`SendMessageBatch`); else the IAM action's.
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_else(|| action.rsplit(':').next().unwrap_or_default())
        .to_string();
    let sent = body.clone();
    let started = std::time::Instant::now();
    let mut request = inner
        .http
        .request(method, format!("{upstream}{path}"))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let mut out = HeaderMap::new();
            for (name, value) in answer.headers() {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    out.insert(name.clone(), value.clone());
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            inner.exchanges.lock().unwrap().push(Exchange {
                service,
                operation,
                request: sent,
                status: status.as_u16(),
                response: bytes.clone(),
                took: started.elapsed(),
            });
            (status, out, bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The service a request was signed for (SigV4 credential scope).
fn signing_service(headers: &HeaderMap) -> String {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    auth.split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unsigned")
        .to_string()
}

/// The partition keys a DynamoDB request touches (`dynamodb:LeadingKeys`): the `pk` of its
/// `Key` or `Item`, or a query's `:pk`.
fn leading_keys(service: &str, body: &[u8]) -> Vec<String> {
    if service != "dynamodb" {
        return Vec::new();
    }
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    [
        &json["Key"]["pk"]["S"],
        &json["Item"]["pk"]["S"],
        &json["ExpressionAttributeValues"][":pk"]["S"],
    ]
    .into_iter()
    .filter_map(|v| v.as_str().map(str::to_string))
    .collect()
}

/// The IAM action and resource ARN AWS would authorize this request as.
fn authorization(
    service: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> (String, String) {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |name: &str| json[name].as_str().unwrap_or_default().to_string();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = target.rsplit('.').next().unwrap_or_default();
    match service {
        "dynamodb" => (
            format!("dynamodb:{operation}"),
            format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}",
                field("TableName")
            ),
        ),
        "sqs" => {
            let action = operation
                .strip_suffix("Batch")
                .unwrap_or(operation)
                .to_string();
            // A queue by its URL; a message move task by its source queue's ARN.
            let queue = [field("QueueUrl"), field("SourceArn")].join("");
            let name = queue.rsplit(['/', ':']).next().unwrap_or_default();
            (
                format!("sqs:{action}"),
                format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"),
            )
        }
        "ssm" => {
            let name = field("Name");
            let name = name.strip_prefix('/').unwrap_or(&name);
            (
                format!("ssm:{operation}"),
                format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name}"),
            )
        }
        "secretsmanager" => {
            let id = field("SecretId");
            let arn = if id.starts_with("arn:") {
                id
            } else {
                // A secret's ARN ends in six random characters after its name.
                format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}-AbCdEf")
            };
            (format!("secretsmanager:{operation}"), arn)
        }
        "s3" => {
            let path = uri.path().trim_start_matches('/');
            let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
            let query = uri.query().unwrap_or_default();
            let action = match (method.as_str(), key.is_empty()) {
                ("GET" | "HEAD", false) => "s3:GetObject",
                ("PUT", false) => "s3:PutObject",
                ("DELETE", false) => "s3:DeleteObject",
                ("GET", true) if query.contains("list-type") || query.is_empty() => "s3:ListBucket",
                _ => "s3:Unknown",
            };
            let resource = if key.is_empty() {
                format!("arn:aws:s3:::{bucket}")
            } else {
                format!("arn:aws:s3:::{bucket}/{key}")
            };
            (action.to_string(), resource)
        }
        "connect" => {
            let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
            let instance = |id: &str, contact: &str| {
                format!("arn:aws:connect:{REGION}:{ACCOUNT}:instance/{id}/contact/{contact}")
            };
            match (method.as_str(), segments.as_slice()) {
                ("PUT", ["contact", "outbound-voice"]) => (
                    "connect:StartOutboundVoiceContact".into(),
                    instance(&field("InstanceId"), "*"),
                ),
                ("GET", ["contact", "attributes", id, contact]) => {
                    ("connect:GetContactAttributes".into(), instance(id, contact))
                }
                ("GET", ["contacts", id, contact]) => {
                    ("connect:DescribeContact".into(), instance(id, contact))
                }
                ("POST", ["contact", "stop"]) => (
                    "connect:StopContact".into(),
                    instance(&field("InstanceId"), &field("ContactId")),
                ),
                _ => (
                    format!("connect:Unknown {method} {}", uri.path()),
                    "*".into(),
                ),
            }
        }
        other => (format!("{other}:Unknown"), "*".into()),
    }
}

/// What AWS answers a role that lacks the permission.
fn access_denied(service: &str, role: &str, action: &str, resource: &str) -> Response {
    let message = format!(
        "User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/function is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    );
    match service {
        "s3" => (
            StatusCode::FORBIDDEN,
            [("content-type", "application/xml")],
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"),
        )
            .into_response(),
        "connect" => (
            StatusCode::FORBIDDEN,
            [("x-amzn-errortype", "AccessDeniedException")],
            axum::Json(json!({ "message": message })),
        )
            .into_response(),
        _ => (
            StatusCode::BAD_REQUEST,
            [
                ("x-amzn-errortype", "AccessDeniedException"),
                ("content-type", "application/x-amz-json-1.0"),
            ],
            json!({ "__type": "AccessDeniedException", "message": message }).to_string(),
        )
            .into_response(),
    }
}
