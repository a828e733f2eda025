//! A state (or a saved plan's outcome) flattened for comparing: every resource instance by
//! its address, every attribute by its path, each leaf marked when its value must not be
//! shown. Terraform marks sensitive attributes in the state (`sensitive_attributes`, paths of
//! `get_attr`/`index` steps) and in plan JSON (`sensitive_values`, a mirror of `true`s); tfw
//! also hides attributes named like secrets, which providers do not always mark.

use std::collections::BTreeMap;

use serde_json::Value;

/// One attribute value at its path, e.g. `tags.env` or `ingress[0].cidr_blocks[1]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Leaf {
    pub value: Value,
    /// Marked sensitive by Terraform, or named like a secret: never shown.
    pub hidden: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutputValue {
    pub value: Value,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Snapshot {
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    pub terraform_version: Option<String>,
    /// Instance address -> attribute path -> value.
    pub resources: BTreeMap<String, BTreeMap<String, Leaf>>,
    pub outputs: BTreeMap<String, OutputValue>,
}

impl Snapshot {
    /// A state document (format version 4, Terraform >= 0.12, and OpenTofu). The error says
    /// why it is not one, for the row or message that reports it.
    pub(crate) fn from_state(bytes: &[u8]) -> Result<Snapshot, String> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|err| format!("not JSON ({err})"))?;
        let doc = doc
            .as_object()
            .ok_or("not a state document (not a JSON object)")?;
        match doc.get("version").and_then(Value::as_u64) {
            Some(4) => {}
            Some(other) => {
                return Err(format!(
                    "state format version {other}; tfw reads version 4 (Terraform 0.12 and later)"
                ));
            }
            None => return Err("not a state document (no format `version`)".into()),
        }
        let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_string);
        let mut snapshot = Snapshot {
            serial: doc.get("serial").and_then(Value::as_u64),
            lineage: text("lineage"),
            terraform_version: text("terraform_version"),
            ..Snapshot::default()
        };
        for resource in doc
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let base = resource_address(resource);
            for instance in resource
                .get("instances")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let address = format!("{base}{}", index_suffix(instance.get("index_key")));
                let sensitive: Vec<String> = instance
                    .get("sensitive_attributes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(step_path)
                    .collect();
                let attributes = instance.get("attributes").cloned().unwrap_or(Value::Null);
                snapshot
                    .resources
                    .insert(address, flatten(&attributes, &sensitive));
            }
        }
        snapshot.outputs = outputs(doc.get("outputs"));
        Ok(snapshot)
    }

    /// What a plan leaves behind: `planned_values` of `terraform show -json PLAN`.
    pub(crate) fn from_plan(plan: &Value) -> Result<Snapshot, String> {
        let planned = plan
            .get("planned_values")
            .ok_or("the plan has no `planned_values`")?;
        let mut snapshot = Snapshot {
            serial: None,
            lineage: None,
            terraform_version: plan
                .get("terraform_version")
                .and_then(Value::as_str)
                .map(str::to_string),
            ..Snapshot::default()
        };
        let mut modules = vec![planned.get("root_module")];
        while let Some(module) = modules.pop() {
            let Some(module) = module else { continue };
            for resource in module
                .get("resources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(address) = resource.get("address").and_then(Value::as_str) else {
                    continue;
                };
                let mut sensitive = Vec::new();
                mirror_paths(
                    resource.get("sensitive_values"),
                    String::new(),
                    &mut sensitive,
                );
                let values = resource.get("values").cloned().unwrap_or(Value::Null);
                snapshot
                    .resources
                    .insert(address.to_string(), flatten(&values, &sensitive));
            }
            modules.extend(
                module
                    .get("child_modules")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(Some),
            );
        }
        snapshot.outputs = outputs(planned.get("outputs"));
        Ok(snapshot)
    }

    pub(crate) fn resource_count(&self) -> usize {
        self.resources
            .keys()
            .filter(|a| !a.starts_with("data.") && !a.contains(".data."))
            .count()
    }
}

fn outputs(outputs: Option<&Value>) -> BTreeMap<String, OutputValue> {
    let Some(outputs) = outputs.and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    outputs
        .iter()
        .map(|(name, output)| {
            let sensitive = output.get("sensitive").and_then(Value::as_bool) == Some(true);
            let value = output.get("value").cloned().unwrap_or(Value::Null);
            (name.clone(), OutputValue { value, sensitive })
        })
        .collect()
}

/// `module.a.data.aws_ami.x` style, as terraform names it.
fn resource_address(resource: &Value) -> String {
    let text = |key: &str| resource.get(key).and_then(Value::as_str).unwrap_or("");
    let mut address = String::new();
    if !text("module").is_empty() {
        address.push_str(text("module"));
        address.push('.');
    }
    if text("mode") == "data" {
        address.push_str("data.");
    }
    address.push_str(text("type"));
    address.push('.');
    address.push_str(text("name"));
    address
}

fn index_suffix(key: Option<&Value>) -> String {
    match key {
        Some(Value::Number(n)) => format!("[{n}]"),
        Some(Value::String(s)) => format!("[{}]", Value::String(s.clone())),
        _ => String::new(),
    }
}

/// A path step as `flatten` writes it: `.name` for an attribute or map key, `[n]` for a list.
fn key_step(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        format!(".{key}")
    } else {
        format!("[{}]", Value::String(key.to_string()))
    }
}

/// `[{"type":"get_attr","value":"password"}]` (state v4) as a flattened path.
fn step_path(path: &Value) -> Option<String> {
    let mut out = String::new();
    for step in path.as_array()? {
        match (step.get("type")?.as_str()?, step.get("value")?) {
            ("get_attr", Value::String(name)) => out.push_str(&key_step(name)),
            ("index", index) => match index.get("value").unwrap_or(index) {
                Value::Number(n) => out.push_str(&format!("[{n}]")),
                Value::String(s) => out.push_str(&key_step(s)),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some(out)
}

/// The paths holding `true` in a `sensitive_values` mirror (plan JSON).
fn mirror_paths(mirror: Option<&Value>, prefix: String, out: &mut Vec<String>) {
    match mirror {
        Some(Value::Bool(true)) => out.push(prefix),
        Some(Value::Object(map)) => {
            for (key, value) in map {
                mirror_paths(Some(value), format!("{prefix}{}", key_step(key)), out);
            }
        }
        Some(Value::Array(list)) => {
            for (i, value) in list.iter().enumerate() {
                mirror_paths(Some(value), format!("{prefix}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// A resource's values as leaves, hidden where the plan's `*_sensitive` mirror says `true`.
pub(crate) fn plan_leaves(values: &Value, sensitive: Option<&Value>) -> BTreeMap<String, Leaf> {
    let mut paths = Vec::new();
    mirror_paths(sensitive, String::new(), &mut paths);
    flatten(values, &paths)
}

/// Leaves by path (without the leading `.`); empty objects and lists are leaves too, so a
/// list that became empty still shows.
fn flatten(value: &Value, sensitive: &[String]) -> BTreeMap<String, Leaf> {
    let mut leaves = BTreeMap::new();
    walk(value, String::new(), &mut |path, value| {
        let hidden = sensitive.iter().any(|s| is_within(&path, s)) || looks_secret(&path);
        let path = path.strip_prefix('.').unwrap_or(&path).to_string();
        leaves.insert(
            path,
            Leaf {
                value: value.clone(),
                hidden,
            },
        );
    });
    leaves
}

fn walk(value: &Value, path: String, leaf: &mut impl FnMut(String, &Value)) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                walk(value, format!("{path}{}", key_step(key)), leaf);
            }
        }
        Value::Array(list) if !list.is_empty() => {
            for (i, value) in list.iter().enumerate() {
                walk(value, format!("{path}[{i}]"), leaf);
            }
        }
        _ if path.is_empty() => {}
        _ => leaf(path, value),
    }
}

/// `path` is `prefix` or below it (`a.b` is within `a`, `ab` is not).
fn is_within(path: &str, prefix: &str) -> bool {
    path == prefix
        || (path.starts_with(prefix)
            && matches!(path.as_bytes().get(prefix.len()), Some(b'.' | b'[')))
}

/// Attribute names that hold secrets whether or not the provider marked them.
fn looks_secret(path: &str) -> bool {
    path.split(['.', '[']).any(|step| {
        let step = step
            .trim_matches(|c| c == '"' || c == ']')
            .to_ascii_lowercase();
        [
            "password",
            "secret",
            "token",
            "private_key",
            "api_key",
            "access_key",
        ]
        .iter()
        .any(|word| step.contains(word))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_instances_and_hides_marked_and_secret_looking_values() {
        let state = json!({
            "version": 4, "serial": 3, "lineage": "l", "terraform_version": "1.0.3",
            "outputs": { "pw": { "value": "hunter2", "type": "string", "sensitive": true } },
            "resources": [
                { "mode": "managed", "type": "db", "name": "main", "module": "module.app",
                  "instances": [{ "index_key": "eu",
                      "attributes": { "size": 2, "conn": { "user": "u", "pass": "p" },
                                      "db_password": "x", "tags": {}, "ports": [80, 443] },
                      "sensitive_attributes": [[{ "type": "get_attr", "value": "conn" },
                                                { "type": "get_attr", "value": "pass" }]] }] },
                { "mode": "data", "type": "ami", "name": "a", "instances": [{ "attributes": { "id": "1" } }] }
            ]
        });
        let snap = Snapshot::from_state(state.to_string().as_bytes()).unwrap();
        let db = &snap.resources["module.app.db.main[\"eu\"]"];
        assert!(!db["size"].hidden);
        assert!(db["conn.pass"].hidden);
        assert!(!db["conn.user"].hidden);
        assert!(db["db_password"].hidden);
        assert_eq!(db["tags"].value, json!({}));
        assert_eq!(db["ports[1]"].value, json!(443));
        assert!(snap.resources.contains_key("data.ami.a"));
        assert_eq!(snap.resource_count(), 1);
        assert!(snap.outputs["pw"].sensitive);
    }

    #[test]
    fn says_why_a_document_is_not_a_state() {
        assert!(
            Snapshot::from_state(b"{oops")
                .unwrap_err()
                .starts_with("not JSON")
        );
        assert!(
            Snapshot::from_state(b"[1]")
                .unwrap_err()
                .contains("not a JSON object")
        );
        let v3 = Snapshot::from_state(br#"{"version":3,"modules":[]}"#).unwrap_err();
        assert!(v3.contains("version 3"), "{v3}");
    }

    #[test]
    fn reads_a_plans_planned_values() {
        let plan = json!({ "terraform_version": "1.11.0", "planned_values": {
            "outputs": { "x": { "sensitive": false, "value": 1 } },
            "root_module": { "resources": [{ "address": "terraform_data.a", "values": { "input": "s", "output": "s" },
                                               "sensitive_values": { "input": true } }],
                             "child_modules": [{ "resources": [{ "address": "module.m.terraform_data.b", "values": { "id": "1" } }] }] } } });
        let snap = Snapshot::from_plan(&plan).unwrap();
        assert!(snap.resources["terraform_data.a"]["input"].hidden);
        assert!(!snap.resources["terraform_data.a"]["output"].hidden);
        assert!(snap.resources.contains_key("module.m.terraform_data.b"));
    }
}
