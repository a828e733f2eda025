//! Saved plans: "apply exactly what was reviewed". `tfw plan` keeps the plan of each state in
//! `.tfw/plans/<state>.tfplan` with metadata (state, address, binary and version, time, and a
//! hash of the configuration it was made from); `tfw apply` never applies a plan made for
//! another state, by another binary, or from files that have changed since: it plans again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, file_name};
use crate::engine::EngineInfo;
use crate::runner::strip_ansi;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub add: u64,
    pub change: u64,
    pub destroy: u64,
    #[serde(default)]
    pub import: u64,
}

impl Summary {
    /// Reads terraform's own "Plan: N to add, M to change, K to destroy." (a replace is one
    /// add and one destroy, as GitLab counts) or "No changes.", or with `-json` the
    /// `change_summary` event: what terraform printed anyway, so no second run is needed.
    pub(crate) fn from_plan_output(stdout: &str) -> Option<Self> {
        let text = strip_ansi(stdout);
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('{') {
                if let Some(summary) = Self::from_json_event(line) {
                    return Some(summary);
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("Plan: ") {
                let mut summary = Summary::default();
                for part in rest.trim_end_matches('.').split(',') {
                    let mut words = part.split_whitespace();
                    let (Some(n), Some(_to), Some(kind)) =
                        (words.next(), words.next(), words.next())
                    else {
                        continue;
                    };
                    let Ok(n) = n.parse() else { continue };
                    match kind {
                        "add" => summary.add = n,
                        "change" => summary.change = n,
                        "destroy" => summary.destroy = n,
                        "import" => summary.import = n,
                        _ => {}
                    }
                }
                return Some(summary);
            }
            if line.starts_with("No changes.") {
                return Some(Summary::default());
            }
        }
        // Only output values change: terraform prints no "Plan:" line.
        if text.contains("Changes to Outputs:") {
            return Some(Summary::default());
        }
        None
    }

    /// `{"type":"change_summary","changes":{"add":1,"change":0,"remove":0,"import":0}}`
    fn from_json_event(line: &str) -> Option<Self> {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        if event["type"] != "change_summary" {
            return None;
        }
        let changes = &event["changes"];
        let count = |key: &str| changes[key].as_u64().unwrap_or(0);
        Some(Summary {
            add: count("add"),
            change: count("change"),
            destroy: count("remove"),
            import: count("import"),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.add == 0 && self.change == 0 && self.destroy == 0 && self.import == 0
    }

    /// The counts as a person says them: only what is not zero ("2 to add, 1 to destroy"),
    /// "no changes" when all are.
    pub(crate) fn phrase(&self) -> String {
        let parts: Vec<String> = [
            (self.import, "import"),
            (self.add, "add"),
            (self.change, "change"),
            (self.destroy, "destroy"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} to {what}"))
        .collect();
        if parts.is_empty() {
            "no changes".into()
        } else {
            parts.join(", ")
        }
    }

    /// Counts as GitLab's own CI wrapper does, from `show -json <plan>`: each `create`,
    /// `update` and `delete` in `resource_changes[].change.actions`. A replace is one delete and
    /// one create; `read` (data sources) and `no-op` change nothing.
    pub(crate) fn from_show_json(plan: &serde_json::Value) -> Self {
        let mut summary = Summary::default();
        let changes = plan["resource_changes"].as_array().into_iter().flatten();
        let actions = changes.filter_map(|change| change["change"]["actions"].as_array());
        for action in actions.flatten() {
            match action.as_str() {
                Some("create") => summary.add += 1,
                Some("update") => summary.change += 1,
                Some("delete") => summary.destroy += 1,
                _ => {}
            }
        }
        summary
    }

    /// GitLab's merge-request widget report.
    pub(crate) fn gitlab_report(&self) -> serde_json::Value {
        serde_json::json!({ "create": self.add, "update": self.change, "delete": self.destroy })
    }
}

/// What a plan file does: terraform's own verdict (`show -json`), read by the process about
/// to apply it, never taken from a file (`.tfw/plans/` is as writable as the plan), and bound
/// to the bytes it judged by their SHA-256.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlanChanges {
    pub plan_sha256: String,
    pub summary: Summary,
    pub destroyed: Vec<String>,
    pub replaced: Vec<String>,
    /// `removed { lifecycle { destroy = false } }`: left running but no longer managed here.
    #[serde(default)]
    pub forgotten: Vec<String>,
    /// The outputs whose value changes: a plan changing only outputs still has work to do.
    #[serde(default)]
    pub outputs: Vec<String>,
}

impl PlanChanges {
    /// Reads `resource_changes[].change.actions`: `["delete"]` destroys, a delete with a
    /// create (either order) replaces.
    pub(crate) fn from_show_json(plan: &serde_json::Value, plan_sha256: String) -> Self {
        let mut changes = Self {
            plan_sha256,
            summary: Summary::from_show_json(plan),
            ..Self::default()
        };
        for change in plan["resource_changes"].as_array().into_iter().flatten() {
            let actions: Vec<&str> = change["change"]["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str())
                .collect();
            let address = change["address"].as_str().unwrap_or("?").to_string();
            match (actions.contains(&"delete"), actions.contains(&"create")) {
                (true, true) => changes.replaced.push(address),
                (true, false) => changes.destroyed.push(address),
                _ if actions.contains(&"forget") => changes.forgotten.push(address),
                _ => {}
            }
        }
        if let Some(outputs) = plan["output_changes"].as_object() {
            for (name, change) in outputs {
                let actions = change["actions"].as_array().into_iter().flatten();
                if actions.filter_map(|a| a.as_str()).any(|a| a != "no-op") {
                    changes.outputs.push(name.clone());
                }
            }
        }
        changes
    }
}

/// The SHA-256 of a plan file, to tell it is the one that was judged.
pub(crate) fn plan_sha256(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|bytes| crate::fsutil::sha256_hex(&bytes))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlanMeta {
    pub state: String,
    pub address: String,
    pub program: PathBuf,
    pub product: String,
    pub version: String,
    pub created: String,
    pub files_hash: String,
    pub summary: Summary,
    pub destroy: bool,
    pub tfw_version: String,
    /// The SHA-256 of the plan file as terraform wrote it: the file whose output was shown
    /// is the file applied (empty in plans saved by an older tfw).
    #[serde(default)]
    pub plan_sha256: String,
    /// terraform said "No changes." (or `-detailed-exitcode` exited 0): `tfw --all apply`
    /// leaves the root alone without reading the plan. Anything else (an output, a `forget`,
    /// which terraform 1.11 counts nowhere in "Plan: ...") is read and judged.
    #[serde(default)]
    pub no_changes: bool,
}

pub(crate) struct PlanFiles {
    pub plan: PathBuf,
    pub meta: PathBuf,
}

pub(crate) fn files_for(dir: &Path, state: &str) -> PlanFiles {
    let base = crate::layout::plans(dir).join(file_name(state));
    PlanFiles {
        plan: base.with_extension("tfplan"),
        meta: base.with_extension("json"),
    }
}

impl PlanFiles {
    pub(crate) fn load_meta(&self) -> Option<PlanMeta> {
        if !self.plan.is_file() {
            return None;
        }
        serde_json::from_slice(&std::fs::read(&self.meta).ok()?).ok()
    }

    pub(crate) fn remove(&self) {
        let _ = std::fs::remove_file(&self.plan);
        let _ = std::fs::remove_file(&self.meta);
    }
}

/// The newest saved plan made for a state other than `state`, if any: a plan someone
/// reviewed and has not applied, which `tfw apply` on another state must not silently skip.
pub(crate) fn pending_elsewhere(dir: &Path, state: &str) -> Option<PlanMeta> {
    let entries = std::fs::read_dir(crate::layout::plans(dir)).ok()?;
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|meta| {
            let files = PlanFiles {
                plan: meta.with_extension("tfplan"),
                meta,
            };
            files.load_meta()
        })
        .filter(|meta| meta.state != state)
        .max_by(|a, b| a.created.cmp(&b.created))
}

/// A hash of everything that shapes a plan: `*.tf`, `*.tf.json`, `*.tfvars`, `*.tfvars.json`
/// below the directory and in the local modules it calls from elsewhere, skipping
/// `.terraform`, `.tfw` and `.git`.
pub(crate) fn config_hash(dir: &Path) -> String {
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    // The local modules it calls from outside its folder (`../../modules/net`) shape the
    // plan as much as its own files do.
    for module in crate::local_modules::called(dir, Path::new("/")).into_keys() {
        if !module.starts_with(dir) {
            let mut theirs = Vec::new();
            collect(&module, &module, &mut theirs);
            // Named from the root (`../../modules/net`): a CI artifact is applied in
            // another folder than the one it was planned in.
            let name = crate::local_modules::relative(dir, &module);
            files.extend(theirs.into_iter().map(|(r, p)| (format!("{name}//{r}"), p)));
        }
    }
    files.sort();
    let mut data = Vec::new();
    for (relative, path) in files {
        data.extend_from_slice(relative.as_bytes());
        data.push(0);
        data.extend_from_slice(&std::fs::read(path).unwrap_or_default());
        data.push(0);
    }
    crate::fsutil::sha256_hex(&data)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !name.starts_with('.') {
                collect(root, &path, out);
            }
        } else if [".tf", ".tf.json", ".tfvars", ".tfvars.json"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            out.push((relative, path));
        }
    }
}

/// Why a saved plan may not be applied to this state now, if it may not: `tfw apply` then
/// plans again (in CI, where only a reviewed plan is applied, it refuses).
pub(crate) fn check_fresh(
    meta: &PlanMeta,
    backend: &Backend,
    engine: &EngineInfo,
    files_hash: &str,
) -> Result<(), String> {
    if meta.state != backend.state_name() {
        return Err(format!(
            "it was made for state `{}`, and the current state is `{}`",
            meta.state,
            backend.state_name()
        ));
    }
    if meta.address != backend.address() {
        return Err(format!(
            "it was made for another address ({})",
            meta.address
        ));
    }
    if meta.product != engine.product || meta.version != engine.version {
        return Err(format!(
            "it was made by {} {}, and this is {} {}",
            meta.product, meta.version, engine.product, engine.version
        ));
    }
    if meta.files_hash != files_hash {
        return Err(format!(
            "the configuration (*.tf, *.tfvars) changed since it was made at {}",
            meta.created
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
