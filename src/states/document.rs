//! What a state document holds, for `tfw state show` and `tfw state versions`: serial,
//! lineage, Terraform version, resources, outputs. Sensitive outputs never leave this module
//! with their value; everything else is read leniently (a state written by another tool still
//! shows what it can).

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Summary {
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    pub terraform_version: Option<String>,
    /// Managed resources (`resources[]` with `mode: managed`).
    pub resources: usize,
    /// Data sources (`mode: data`).
    pub data_sources: usize,
    pub outputs: Vec<Output>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Output {
    pub name: String,
    pub sensitive: bool,
    /// `null` when sensitive.
    pub value: Value,
}

impl Summary {
    /// `None` when the bytes are not a JSON object (not a state document at all).
    pub(crate) fn parse(bytes: &[u8]) -> Option<Summary> {
        let doc: Value = serde_json::from_slice(bytes).ok()?;
        let doc = doc.as_object()?;
        let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_string);
        let resources = doc.get("resources").and_then(Value::as_array);
        let count = |mode: &str| {
            resources.map_or(0, |list| {
                list.iter()
                    .filter(|r| r.get("mode").and_then(Value::as_str).unwrap_or("managed") == mode)
                    .count()
            })
        };
        let outputs = doc
            .get("outputs")
            .and_then(Value::as_object)
            .map(|outputs| {
                outputs
                    .iter()
                    .map(|(name, output)| {
                        let sensitive = output
                            .get("sensitive")
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        let value = if sensitive {
                            Value::Null
                        } else {
                            output.get("value").cloned().unwrap_or(Value::Null)
                        };
                        Output {
                            name: name.clone(),
                            sensitive,
                            value,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Summary {
            serial: crate::backups::serial_of(bytes),
            lineage: text("lineage"),
            terraform_version: text("terraform_version"),
            resources: count("managed"),
            data_sources: count("data"),
            outputs,
        })
    }
}

impl Output {
    /// `(sensitive)`, or the value as compact JSON, cut at `max` characters.
    pub(crate) fn shown(&self, max: usize) -> String {
        if self.sensitive {
            return "(sensitive)".into();
        }
        let text = self.value.to_string();
        if text.chars().count() <= max {
            text
        } else {
            let cut: String = text.chars().take(max).collect();
            format!("{cut}…")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_sensitive_outputs_and_counts_resources() {
        let state = br#"{"version":4,"terraform_version":"1.0.3","serial":7,"lineage":"abc",
            "outputs":{"db_password":{"value":"hunter2","type":"string","sensitive":true},
                       "url":{"value":"https://x","type":"string"}},
            "resources":[{"mode":"managed","type":"null_resource","name":"a","instances":[]},
                         {"mode":"data","type":"external","name":"b","instances":[]}]}"#;
        let summary = Summary::parse(state).unwrap();
        assert_eq!(summary.serial, Some(7));
        assert_eq!(summary.lineage.as_deref(), Some("abc"));
        assert_eq!((summary.resources, summary.data_sources), (1, 1));
        let password = &summary.outputs[0];
        assert!(password.sensitive);
        assert_eq!(password.value, Value::Null);
        assert_eq!(password.shown(80), "(sensitive)");
        assert_eq!(summary.outputs[1].shown(80), "\"https://x\"");
        assert!(!format!("{summary:?}").contains("hunter2"));
    }

    #[test]
    fn not_a_state() {
        assert_eq!(Summary::parse(b"[1,2]"), None);
        assert_eq!(Summary::parse(b"nope"), None);
    }
}
