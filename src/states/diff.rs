//! What changed between two snapshots of a state: resources added, removed and changed (with
//! the attributes that changed), and outputs. GitLab keeps every version but offers no
//! compare; this is the compare, for `tfw state diff` and `tfw state history`. A hidden value
//! (sensitive, or named like a secret) is compared but never carried out of here: the change
//! says only that it changed.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::states::snapshot::{Leaf, Snapshot};

#[derive(Debug, Default, Serialize)]
pub(crate) struct Diff {
    pub resources: ResourceChanges,
    pub outputs: Vec<Change>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct ResourceChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<Changed>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Changed {
    pub address: String,
    pub attributes: Vec<Change>,
}

/// One attribute or output: `change` is `added`, `removed` or `changed`; `from`/`to` are
/// `null` when absent on that side or when `sensitive` (then never shown).
#[derive(Debug, Serialize)]
pub(crate) struct Change {
    #[serde(rename = "path")]
    pub name: String,
    pub change: How,
    pub sensitive: bool,
    pub from: Value,
    pub to: Value,
}

/// How an attribute or output changed (its JSON name in lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum How {
    Added,
    Removed,
    Changed,
}

pub(crate) fn compare(from: &Snapshot, to: &Snapshot) -> Diff {
    let mut diff = Diff::default();
    for (address, before) in &from.resources {
        match to.resources.get(address) {
            None => diff.resources.removed.push(address.clone()),
            Some(after) if after != before => diff.resources.changed.push(Changed {
                address: address.clone(),
                attributes: changes(before, after),
            }),
            Some(_) => {}
        }
    }
    diff.resources.added = to
        .resources
        .keys()
        .filter(|a| !from.resources.contains_key(*a))
        .cloned()
        .collect();
    let as_leaf = |outputs: &BTreeMap<String, crate::states::snapshot::OutputValue>| {
        outputs
            .iter()
            .map(|(name, o)| {
                let leaf = Leaf {
                    value: o.value.clone(),
                    hidden: o.sensitive,
                };
                (name.clone(), leaf)
            })
            .collect::<BTreeMap<_, _>>()
    };
    diff.outputs = changes(&as_leaf(&from.outputs), &as_leaf(&to.outputs));
    diff
}

/// The leaves that differ, hidden values compared but not carried.
pub(crate) fn changes(
    before: &BTreeMap<String, Leaf>,
    after: &BTreeMap<String, Leaf>,
) -> Vec<Change> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let (a, b) = (before.get(name), after.get(name));
            let change = match (a, b) {
                (Some(a), Some(b)) if a == b => return None,
                (Some(_), Some(_)) => How::Changed,
                (None, _) => How::Added,
                (_, None) => How::Removed,
            };
            // Hidden on either side is hidden on both: the other side would give it away.
            let sensitive = a.is_some_and(|l| l.hidden) || b.is_some_and(|l| l.hidden);
            let shown = |leaf: Option<&Leaf>| match leaf {
                Some(leaf) if !sensitive => leaf.value.clone(),
                _ => Value::Null,
            };
            Some(Change {
                name: name.clone(),
                change,
                sensitive,
                from: shown(a),
                to: shown(b),
            })
        })
        .collect()
}

impl Diff {
    pub(crate) fn is_empty(&self) -> bool {
        self.resources.added.is_empty()
            && self.resources.removed.is_empty()
            && self.resources.changed.is_empty()
            && self.outputs.is_empty()
    }

    /// The diff for people: `+`/`-`/`~` per resource, the changed attributes indented.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for address in &self.resources.added {
            lines.push(format!("+ {address}"));
        }
        for address in &self.resources.removed {
            lines.push(format!("- {address}"));
        }
        for changed in &self.resources.changed {
            push_resource(
                &mut lines,
                format!("~ {}", changed.address),
                &changed.attributes,
            );
        }
        push_outputs(&mut lines, &self.outputs);
        lines
    }
}

/// A changed resource's line, then its attributes under it (as `state diff` and `drift`
/// print them).
pub(crate) fn push_resource(lines: &mut Vec<String>, head: String, attributes: &[Change]) {
    lines.push(head);
    lines.extend(attributes.iter().map(|c| format!("    {}", c.line())));
}

/// The changed outputs, under an `outputs` line when there are any.
pub(crate) fn push_outputs(lines: &mut Vec<String>, outputs: &[Change]) {
    if !outputs.is_empty() {
        lines.push("outputs".into());
        lines.extend(outputs.iter().map(|c| format!("  {}", c.line())));
    }
}

impl Change {
    /// `path: "a" -> "b"`, `+ path = 1`, `- path`, `path: (sensitive) changed`.
    pub(crate) fn line(&self) -> String {
        let value = |v: &Value| shorten(&v.to_string(), 120);
        match (self.change, self.sensitive) {
            (How::Added, true) => format!("+ {} = (sensitive)", self.name),
            (How::Added, false) => format!("+ {} = {}", self.name, value(&self.to)),
            (How::Removed, _) => format!("- {}", self.name),
            (How::Changed, true) => format!("~ {}: (sensitive) changed", self.name),
            (How::Changed, false) => format!(
                "~ {}: {} -> {}",
                self.name,
                value(&self.from),
                value(&self.to)
            ),
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snap(resources: Value, outputs: Value) -> Snapshot {
        let doc = json!({ "version": 4, "serial": 1, "lineage": "l", "resources": resources, "outputs": outputs });
        Snapshot::from_state(doc.to_string().as_bytes()).unwrap()
    }

    fn res(name: &str, attributes: Value) -> Value {
        json!({ "mode": "managed", "type": "t", "name": name, "instances": [{ "attributes": attributes,
            "sensitive_attributes": [[{ "type": "get_attr", "value": "secret_value" }]] }] })
    }

    #[test]
    fn resources_attributes_and_outputs() {
        let a = snap(
            json!([
                res("keep", json!({"size": 1, "secret_value": "old-pw"})),
                res("gone", json!({}))
            ]),
            json!({ "url": { "value": "a" }, "pw": { "value": "x", "sensitive": true } }),
        );
        let b = snap(
            json!([
                res(
                    "keep",
                    json!({"size": 2, "secret_value": "new-pw", "extra": true})
                ),
                res("new", json!({}))
            ]),
            json!({ "url": { "value": "b" }, "pw": { "value": "y", "sensitive": true } }),
        );
        let diff = compare(&a, &b);
        assert_eq!(diff.resources.added, ["t.new"]);
        assert_eq!(diff.resources.removed, ["t.gone"]);
        let lines = diff.lines().join("\n");
        assert!(lines.contains("~ t.keep\n    + extra = true\n    ~ secret_value: (sensitive) changed\n    ~ size: 1 -> 2"), "{lines}");
        assert!(
            lines.contains("  ~ pw: (sensitive) changed\n  ~ url: \"a\" -> \"b\""),
            "{lines}"
        );
        let json = serde_json::to_string(&diff).unwrap();
        assert!(
            !json.contains("old-pw") && !json.contains("\"y\""),
            "{json}"
        );
        assert!(compare(&a, &a).is_empty());
    }
}
