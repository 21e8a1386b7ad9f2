//! The deployed stack as the tests see it: the CloudFormation template that `serverless package`
//! renders from serverless.yml (`scripts/render-template.sh`, run by `scripts/test.sh`), its
//! intrinsic functions resolved against the test's own resources, and each function's role
//! evaluated the way IAM does (an explicit Deny wins, then any Allow; actions and resources
//! matched with `*` and `?`). Statement features the evaluator does not know (conditions,
//! `NotAction`, `NotResource`) fail loudly rather than being read as "allowed".

use std::collections::HashMap;

use serde_json::Value;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "ap-northeast-1";

/// The rendered template (`OPSBELL_TEMPLATE`, default `target/stack/cloudformation-template-update-stack.json`).
pub struct Template {
    resources: serde_json::Map<String, Value>,
    bindings: HashMap<String, Resource>,
}

/// What a logical resource resolves to in the test: its `Ref` and attributes.
#[derive(Clone, Default)]
pub struct Resource {
    pub reference: String,
    pub attributes: HashMap<String, String>,
}

impl Resource {
    pub fn table(name: &str) -> Resource {
        Resource::new(
            name,
            &[(
                "Arn",
                &format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"),
            )],
        )
    }

    /// A queue by its URL (what `Ref` gives), with `Arn` and `QueueName`.
    pub fn queue(url: &str) -> Resource {
        let name = url.rsplit('/').next().unwrap_or_default();
        Resource::new(
            url,
            &[
                ("Arn", &format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")),
                ("QueueName", name),
            ],
        )
    }

    pub fn bucket(name: &str) -> Resource {
        Resource::new(name, &[("Arn", &format!("arn:aws:s3:::{name}"))])
    }

    pub fn new(reference: &str, attributes: &[(&str, &str)]) -> Resource {
        Resource {
            reference: reference.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

impl Template {
    /// Loads the rendered template; panics with how to make it when it is missing.
    pub fn load() -> Template {
        let path = std::env::var("OPSBELL_TEMPLATE").unwrap_or_else(|_| {
            format!(
                "{}/../target/stack/cloudformation-template-update-stack.json",
                env!("CARGO_MANIFEST_DIR")
            )
        });
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{path}: {e}: render it with scripts/render-template.sh (scripts/test.sh does)")
        });
        let json: Value = serde_json::from_str(&text).unwrap();
        Template {
            resources: json["Resources"].as_object().unwrap().clone(),
            bindings: HashMap::new(),
        }
    }

    /// Binds logical id `id` to a resource of the test.
    pub fn bind(&mut self, id: &str, resource: Resource) -> &mut Self {
        assert!(
            self.resources.contains_key(id),
            "no resource {id} in the template"
        );
        self.bindings.insert(id.into(), resource);
        self
    }

    /// Every resource of a type, by logical id.
    pub fn of_type(&self, kind: &str) -> Vec<(&String, &Value)> {
        self.resources
            .iter()
            .filter(|(_, r)| r["Type"] == kind)
            .collect()
    }

    pub fn resource(&self, id: &str) -> &Value {
        &self.resources[id]
    }

    /// The logical id of the Lambda function `name` (the serverless.yml function name).
    pub fn function_id(&self, name: &str) -> String {
        let suffix = format!("-{name}");
        self.of_type("AWS::Lambda::Function")
            .into_iter()
            .find(|(_, r)| {
                r["Properties"]["FunctionName"]
                    .as_str()
                    .is_some_and(|n| n.ends_with(&suffix))
            })
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("no function {name} in the template"))
    }

    /// The function's environment, exactly as the template gives it, resolved.
    pub fn environment(&self, name: &str) -> Vec<(String, String)> {
        let function = &self.resources[&self.function_id(name)];
        let vars = function["Properties"]["Environment"]["Variables"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        vars.iter()
            .map(|(k, v)| (k.clone(), self.string(v)))
            .collect()
    }

    /// The identity policy of function `name`'s own role.
    pub fn role_policy(&self, name: &str) -> Policy {
        let function = &self.resources[&self.function_id(name)];
        let role = &function["Properties"]["Role"]["Fn::GetAtt"][0];
        let role = role
            .as_str()
            .unwrap_or_else(|| panic!("{name} does not use a role of the stack"));
        let mut statements = Vec::new();
        for policy in self.resources[role]["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for st in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                for unsupported in ["NotAction", "NotResource", "NotPrincipal"] {
                    assert!(
                        st.get(unsupported).is_none(),
                        "{role}: the test's IAM evaluator does not support {unsupported}"
                    );
                }
                statements.push(Statement {
                    allow: st["Effect"] == "Allow",
                    actions: self.strings(&st["Action"]),
                    resources: self.strings(&st["Resource"]),
                    leading_keys: leading_keys(role, st.get("Condition")),
                });
            }
        }
        Policy {
            role: role.to_string(),
            statements,
        }
    }

    fn strings(&self, v: &Value) -> Vec<String> {
        match v {
            Value::Array(items) => items.iter().map(|i| self.string(i)).collect(),
            other => vec![self.string(other)],
        }
    }

    /// Resolves `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join` to a string.
    pub fn string(&self, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Object(o) if o.contains_key("Ref") => self.reference(o["Ref"].as_str().unwrap()),
            Value::Object(o) if o.contains_key("Fn::GetAtt") => {
                let (id, attr) = match &o["Fn::GetAtt"] {
                    Value::Array(a) => (
                        a[0].as_str().unwrap().to_string(),
                        a[1].as_str().unwrap().to_string(),
                    ),
                    Value::String(s) => {
                        let (id, attr) = s.split_once('.').unwrap();
                        (id.into(), attr.into())
                    }
                    other => panic!("Fn::GetAtt {other}"),
                };
                self.attribute(&id, &attr)
            }
            Value::Object(o) if o.contains_key("Fn::Sub") => {
                let (text, vars) = match &o["Fn::Sub"] {
                    Value::String(s) => (s.clone(), serde_json::Map::new()),
                    Value::Array(a) => (
                        a[0].as_str().unwrap().to_string(),
                        a[1].as_object().cloned().unwrap_or_default(),
                    ),
                    other => panic!("Fn::Sub {other}"),
                };
                self.substitute(&text, &vars)
            }
            Value::Object(o) if o.contains_key("Fn::Join") => {
                let parts = o["Fn::Join"].as_array().unwrap();
                let items: Vec<String> = parts[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| self.string(i))
                    .collect();
                items.join(parts[0].as_str().unwrap())
            }
            other => panic!("the test cannot resolve {other}"),
        }
    }

    fn substitute(&self, text: &str, vars: &serde_json::Map<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').unwrap() + start;
            let name = &rest[start + 2..end];
            out.push_str(&match vars.get(name) {
                Some(v) => self.string(v),
                None => match name.split_once('.') {
                    Some((id, attr)) if !id.starts_with("AWS::") => self.attribute(id, attr),
                    _ => self.reference(name),
                },
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => REGION.into(),
            "AWS::AccountId" => ACCOUNT.into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            id => self.binding(id).reference.clone(),
        }
    }

    fn attribute(&self, id: &str, attr: &str) -> String {
        self.binding(id)
            .attributes
            .get(attr)
            .cloned()
            .unwrap_or_else(|| panic!("the test did not give {id} the attribute {attr}"))
    }

    fn binding(&self, id: &str) -> &Resource {
        self.bindings
            .get(id)
            .unwrap_or_else(|| panic!("the test did not bind {id} (Template::bind)"))
    }
}

/// One role's identity policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub role: String,
    statements: Vec<Statement>,
}

#[derive(Clone, Debug)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    /// `Condition: {ForAllValues:StringEquals: {dynamodb:LeadingKeys: [...]}}`, the one
    /// condition the evaluator knows.
    leading_keys: Option<Vec<String>>,
}

/// The one condition supported: DynamoDB's partition keys limited to a list. Any other
/// condition fails the test rather than being ignored.
fn leading_keys(role: &str, condition: Option<&Value>) -> Option<Vec<String>> {
    let condition = condition?;
    let keys = condition["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"].as_array();
    let only = condition.as_object().is_some_and(|c| c.len() == 1)
        && condition["ForAllValues:StringEquals"]
            .as_object()
            .is_some_and(|c| c.len() == 1);
    match (keys, only) {
        (Some(keys), true) => Some(
            keys.iter()
                .map(|k| k.as_str().unwrap().to_string())
                .collect(),
        ),
        _ => panic!("{role}: the test's IAM evaluator does not support the condition {condition}"),
    }
}

impl Statement {
    fn matches(&self, action: &str, resource: &str, keys: &[String]) -> bool {
        // ForAllValues over no keys is true, as in IAM.
        let keys_ok = (self.leading_keys.as_ref())
            .is_none_or(|allowed| keys.iter().all(|k| allowed.contains(k)));
        self.actions
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && self.resources.iter().any(|r| glob(r, resource))
            && keys_ok
    }
}

impl Policy {
    /// IAM's answer for `action` on `resource` (a DynamoDB request's partition keys `keys`):
    /// an explicit Deny wins, then any Allow.
    pub fn allows(&self, action: &str, resource: &str, keys: &[String]) -> bool {
        let matching = self
            .statements
            .iter()
            .filter(|s| s.matches(action, resource, keys));
        let (mut allowed, mut denied) = (false, false);
        for s in matching {
            if s.allow {
                allowed = true;
            } else {
                denied = true;
            }
        }
        allowed && !denied
    }
}

/// IAM's wildcards: `*` any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}
