//! What a refresh-only plan says about a state: in sync, drifted (which resources and which
//! of their attributes changed outside Terraform, and which outputs), or failed. Read from
//! `show -json` of the plan (`resource_drift`, `output_changes`), with sensitive values
//! compared but never shown, as in `tfw state diff`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::states::diff::{Change, changes, push_outputs, push_resource};
use crate::states::snapshot::plan_leaves;

/// How a state's check ended (`in_sync`, `drifted`, `failed` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    InSync,
    Drifted,
    Failed,
}

/// What `--issues` did with a state's drift issue (its JSON name in snake case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IssueAction {
    Opened,
    Reopened,
    Updated,
    Unchanged,
    Closed,
    /// In sync and no open issue, or the check failed: the issue is left as it is.
    None,
    /// `error` says why.
    Failed,
}

impl IssueAction {
    /// As the report's JSON and table name it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Reopened => "reopened",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Closed => "closed",
            Self::None => "none",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub state: String,
    pub status: Status,
    /// Why it failed (`failed` only).
    pub reason: Option<String>,
    pub resources: Vec<Drifted>,
    pub outputs: Vec<Change>,
    /// What `--issues` did with the state's GitLab issue (`null` without `--issues`).
    pub issue: Option<IssueOutcome>,
}

/// What happened to a state's drift issue.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct IssueOutcome {
    pub action: IssueAction,
    pub iid: Option<u64>,
    pub web_url: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Drifted {
    pub address: String,
    /// Terraform's actions for the drift: `["update"]`, `["delete"]` (gone outside Terraform)...
    pub actions: Vec<String>,
    pub attributes: Vec<Change>,
}

impl Report {
    pub(crate) fn failed(state: &str, reason: String) -> Report {
        Report {
            state: state.to_string(),
            status: Status::Failed,
            reason: Some(reason),
            resources: Vec::new(),
            outputs: Vec::new(),
            issue: None,
        }
    }

    /// From `show -json` of a refresh-only plan; `drifted` is terraform's own verdict (exit 2
    /// of `-detailed-exitcode`), the JSON says what.
    pub(crate) fn from_plan(state: &str, plan: &Value, drifted: bool) -> Report {
        let resources: Vec<Drifted> = plan["resource_drift"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|drift| {
                let change = &drift["change"];
                let before = plan_leaves(&change["before"], change.get("before_sensitive"));
                let after = plan_leaves(&change["after"], change.get("after_sensitive"));
                Drifted {
                    address: drift["address"].as_str().unwrap_or("?").to_string(),
                    actions: change["actions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect(),
                    attributes: changes(&before, &after),
                }
            })
            .collect();
        let outputs: Vec<Change> = plan["output_changes"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, c)| c["actions"] != serde_json::json!(["no-op"]))
            .flat_map(|(name, c)| {
                let side = |key: &str, sensitive: &str| {
                    let mut leaves = plan_leaves(
                        &serde_json::json!({ name.clone(): c[key].clone() }),
                        Some(&serde_json::json!({ name.clone(): c[sensitive].clone() })),
                    );
                    // A value that is null is absent, as terraform means it.
                    leaves.retain(|_, leaf| !leaf.value.is_null());
                    leaves
                };
                changes(
                    &side("before", "before_sensitive"),
                    &side("after", "after_sensitive"),
                )
            })
            .collect();
        let status = if drifted || !resources.is_empty() {
            Status::Drifted
        } else {
            Status::InSync
        };
        Report {
            state: state.to_string(),
            status,
            reason: None,
            resources,
            outputs,
            issue: None,
        }
    }

    /// The report for people, one line per resource and attribute.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut lines = match self.status {
            Status::InSync => vec![format!("`{}`: in sync", self.state)],
            Status::Failed => vec![format!(
                "`{}`: failed: {}",
                self.state,
                self.reason
                    .as_deref()
                    .unwrap_or("see terraform's output above")
            )],
            Status::Drifted => vec![format!(
                "`{}`: DRIFTED ({} resource(s), {} output(s))",
                self.state,
                self.resources.len(),
                self.outputs.len()
            )],
        };
        for drifted in &self.resources {
            let head = format!("~ {} ({})", drifted.address, drifted.actions.join(", "));
            push_resource(&mut lines, head, &drifted.attributes);
        }
        push_outputs(&mut lines, &self.outputs);
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drifted_resources_attributes_and_outputs_with_secrets_hidden() {
        let plan = json!({
            "resource_drift": [{ "address": "aws_instance.web", "change": {
                "actions": ["update"],
                "before": { "type": "t3.micro", "tags": { "env": "prod" }, "password": "old-secret" },
                "after": { "type": "t3.large", "tags": { "env": "prod" }, "password": "new-secret" },
                "before_sensitive": { "password": true }, "after_sensitive": { "password": true } } }],
            "output_changes": {
                "url": { "actions": ["update"], "before": "a", "after": "b", "before_sensitive": false, "after_sensitive": false },
                "same": { "actions": ["no-op"], "before": 1, "after": 1 } }
        });
        let report = Report::from_plan("prod", &plan, true);
        assert_eq!(report.status, Status::Drifted);
        let text = report.lines().join("\n");
        assert!(text.contains("~ aws_instance.web (update)\n    ~ password: (sensitive) changed\n    ~ type: \"t3.micro\" -> \"t3.large\""), "{text}");
        assert!(text.contains("outputs\n  ~ url: \"a\" -> \"b\""), "{text}");
        assert!(
            !text.contains("secret")
                && !serde_json::to_string(&report)
                    .unwrap()
                    .contains("new-secret")
        );
        let clean = Report::from_plan("prod", &json!({}), false);
        assert_eq!(clean.lines(), ["`prod`: in sync"]);
    }
}
