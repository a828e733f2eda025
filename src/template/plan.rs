//! Decides, file by file, what bringing a repository to a template version means, without
//! touching anything: the writes, moves and removals (`Op`s, which `--dry-run` shows as a
//! diff), the new lock entries, and what to tell the developer. The rules, per owned part
//! (the whole file, or the block):
//! - missing: written (restored when the lock knew it);
//! - untouched locally, changed upstream: updated;
//! - edited locally, unchanged upstream: kept (drift, for `managed` and `block`);
//! - both changed: 3-way merged with the lock's base; conflicts become markers, never `.rej`;
//! - present but never recorded: kept as the local version (adopt replaces known legacy files);
//! - gone from the template: removed if untouched, else kept with a warning;
//! - moved by the template (`renamed_from`): the file is moved, then the rules above apply.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::lock::{Entry, LOCK_PATH};
use super::merge::{Labels, Merged, has_conflict_markers, merge3};
use super::ops::Op;
use super::policy::{self, Policy};
use super::report::FileReport;
use super::{Template, TemplateFile};
use crate::fsutil::sha256_hex;
use crate::problem::Problem;

#[derive(Debug, Default)]
pub struct Mode {
    /// Files that exist, are not in the lock and may be replaced (adopt's legacy files).
    pub replace: HashSet<String>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub ops: Vec<Op>,
    pub files: Vec<FileReport>,
    pub entries: BTreeMap<String, Entry>,
    pub warnings: Vec<Problem>,
    pub conflicts: usize,
}

fn read_text(dir: &Path, path: &str) -> Result<Option<String>, Problem> {
    match std::fs::read(dir.join(path)) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            Problem::error(format!(
                "`{path}` is not UTF-8 text, so tfw cannot merge it"
            ))
            .at(&dir.join(path), None)
            .hint(format!(
                "fix the file, or set `skip = true` on `{path}` in `{LOCK_PATH}`"
            ))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => {
            Err(Problem::error(format!("cannot read `{path}`: {err}")).at(&dir.join(path), None))
        }
    }
}

/// What happens to one owned part.
struct Decision {
    /// The new owned text, when it changes.
    write: Option<String>,
    status: &'static str,
    detail: Option<String>,
    conflict: bool,
    /// Local edits to a part the template owns were kept.
    drift: bool,
}

impl Decision {
    fn new(write: Option<String>, status: &'static str, detail: Option<&str>) -> Self {
        Self {
            write,
            status,
            detail: detail.map(str::to_string),
            conflict: false,
            drift: false,
        }
    }
}

fn decide(
    base: Option<&str>,
    ours: Option<&str>,
    theirs: &str,
    replace: bool,
    labels: &Labels,
) -> Decision {
    let (Some(ours), base) = (ours, base) else {
        let status = if base.is_some() {
            "restored"
        } else {
            "created"
        };
        return Decision::new(Some(theirs.to_string()), status, None);
    };
    if ours == theirs {
        return Decision::new(None, "unchanged", None);
    }
    let Some(base) = base else {
        if replace {
            return Decision::new(
                Some(theirs.to_string()),
                "updated",
                Some("replaced by the template's version"),
            );
        }
        let mut decision = Decision::new(
            None,
            "kept",
            Some("exists and differs from the template: kept as the local version"),
        );
        decision.drift = true;
        return decision;
    };
    if theirs == base {
        let mut decision = Decision::new(None, "kept", Some("edited locally"));
        decision.drift = true;
        return decision;
    }
    if ours == base {
        return Decision::new(Some(theirs.to_string()), "updated", None);
    }
    match merge3(base, ours, theirs, labels) {
        Merged::Clean(text) => Decision::new(Some(text), "merged", Some("local edits kept")),
        Merged::Conflict(text) => Decision {
            conflict: true,
            ..Decision::new(Some(text), "conflict", Some("resolve the <<<<<<< markers"))
        },
    }
}

/// Plans bringing `dir` from the lock's `old` entries (labelled `old_label`) to `template`.
pub fn plan(
    dir: &Path,
    old: &BTreeMap<String, Entry>,
    old_label: &str,
    template: &Template,
    mode: &Mode,
) -> Result<Plan, Problem> {
    let theirs_label = template.label();
    let labels = Labels {
        base: old_label,
        theirs: &theirs_label,
    };
    let mut plan = Plan::default();
    let mut claimed: HashSet<&str> = HashSet::new();
    for file in &template.files {
        claimed.insert(&file.path);
        claimed.extend(file.renamed_from.iter().map(String::as_str));
        plan_file(dir, old, file, mode, &labels, &mut plan)?;
    }
    for (path, entry) in old {
        if !claimed.contains(path.as_str()) {
            plan_removal(dir, path, entry, &mut plan)?;
        }
    }
    Ok(plan)
}

fn plan_file(
    dir: &Path,
    old: &BTreeMap<String, Entry>,
    file: &TemplateFile,
    mode: &Mode,
    labels: &Labels,
    plan: &mut Plan,
) -> Result<(), Problem> {
    let found = old.get(&file.path).map(|entry| (entry, None)).or_else(|| {
        file.renamed_from
            .iter()
            .find_map(|from| old.get(from).map(|entry| (entry, Some(from.as_str()))))
    });
    let entry = found.map(|(entry, _)| entry);
    if let Some(entry) = entry.filter(|entry| entry.skip) {
        plan.entries.insert(
            file.path.clone(),
            Entry {
                policy: file.policy,
                ..entry.clone()
            },
        );
        plan.files.push(FileReport::new(
            &file.path,
            Some(file.policy),
            "skipped",
            None,
        ));
        return Ok(());
    }
    let mut current_path = file.path.as_str();
    let mut moved = None;
    if let Some((_, Some(from))) = found {
        let (from_exists, to_exists) = (dir.join(from).exists(), dir.join(&file.path).exists());
        if from_exists && !to_exists {
            plan.ops.push(Op::Rename {
                from: from.to_string(),
                to: file.path.clone(),
            });
            current_path = from;
            moved = Some(from);
        } else if from_exists {
            plan.warnings.push(Problem::warning(format!(
                "the template moved `{from}` to `{}`, and both exist: `{from}` is left alone",
                file.path
            )));
        }
    }
    let current = read_text(dir, current_path)?;

    if file.policy == Policy::Once {
        let (status, sha256) = match (entry, &current) {
            (Some(entry), _) if entry.policy == Policy::Once => ("unchanged", entry.sha256.clone()),
            (_, Some(text)) => ("recorded", sha256_hex(text.as_bytes())),
            (_, None) => {
                plan.ops.push(Op::Write {
                    path: file.path.clone(),
                    before: None,
                    after: file.content.clone(),
                });
                ("created", file.sha256.clone())
            }
        };
        plan.entries.insert(
            file.path.clone(),
            Entry {
                policy: Policy::Once,
                sha256,
                base: None,
                skip: false,
            },
        );
        let status = if moved.is_some() && status == "unchanged" {
            "renamed"
        } else {
            status
        };
        plan.files.push(FileReport::new(
            &file.path,
            Some(file.policy),
            status,
            moved.map(|m| format!("moved from {m}")),
        ));
        return Ok(());
    }

    let markers = policy::markers(&file.path);
    let ours = match file.policy {
        Policy::Block => current
            .as_deref()
            .and_then(|text| policy::find(text, &markers).map(|split| split.inner)),
        _ => current.as_deref(),
    };
    let base = entry.and_then(|entry| entry.base.as_deref());
    // A block found between markers but not recorded is tfw's own from an earlier life.
    let replace =
        mode.replace.contains(&file.path) || (file.policy == Policy::Block && ours.is_some());
    let mut decision = decide(base, ours, &file.content, replace, labels);
    if file.policy == Policy::Block && ours.is_none() && current.is_some() {
        decision.status = "updated";
        decision.detail = Some("managed block added".into());
    }
    let owned_now = decision
        .write
        .as_deref()
        .or(ours)
        .unwrap_or(&file.content)
        .to_string();
    if let Some(owned) = &decision.write {
        let after = match file.policy {
            Policy::Block => policy::put(current.as_deref(), &markers, owned),
            _ => owned.clone(),
        };
        plan.ops.push(Op::Write {
            path: file.path.clone(),
            before: current.clone(),
            after,
        });
    }
    if decision.conflict {
        plan.conflicts += 1;
        plan.warnings.push(
            Problem::warning(format!(
                "conflict in `{}`: both the template and this repository changed the same lines",
                file.path
            ))
            .hint("resolve the <<<<<<< local / >>>>>>> template markers, then commit"),
        );
    } else if decision.write.is_none()
        && ours.is_some_and(|text| has_conflict_markers(text.as_bytes()))
    {
        plan.warnings.push(
            Problem::warning(format!(
                "`{}` still holds conflict markers from an earlier sync",
                file.path
            ))
            .hint("resolve the <<<<<<< markers, then commit"),
        );
    } else if decision.drift && file.policy.edits_are_drift() {
        plan.warnings.push(
            Problem::warning(format!(
                "`{}` differs from the template, which owns it: local edits kept (`tfw sync --check` reports drift)",
                file.path
            ))
            .hint(format!("to take the template's version, delete `{}` and run `tfw sync`", file.path)),
        );
    }
    let status = if moved.is_some() && decision.status == "unchanged" {
        "renamed"
    } else {
        decision.status
    };
    let detail = match (moved, decision.detail) {
        (Some(from), Some(detail)) => Some(format!("moved from {from}; {detail}")),
        (Some(from), None) => Some(format!("moved from {from}")),
        (None, detail) => detail,
    };
    plan.files.push(FileReport::new(
        &file.path,
        Some(file.policy),
        status,
        detail,
    ));
    plan.entries.insert(
        file.path.clone(),
        Entry {
            policy: file.policy,
            sha256: sha256_hex(owned_now.as_bytes()),
            base: Some(file.content.clone()),
            skip: false,
        },
    );
    Ok(())
}

/// A file the lock knows but the template no longer lists.
fn plan_removal(dir: &Path, path: &str, entry: &Entry, plan: &mut Plan) -> Result<(), Problem> {
    let report = |status, detail: &str| {
        FileReport::new(path, Some(entry.policy), status, Some(detail.to_string()))
    };
    if entry.skip || entry.policy == Policy::Once {
        plan.files.push(report(
            "released",
            "removed from the template; the file stays, no longer managed",
        ));
        return Ok(());
    }
    let Some(current) = read_text(dir, path)? else {
        plan.files.push(report(
            "removed",
            "removed from the template (already gone here)",
        ));
        return Ok(());
    };
    let base = entry.base.as_deref().unwrap_or_default();
    let markers = policy::markers(path);
    let ours = match entry.policy {
        Policy::Block => policy::find(&current, &markers).map(|split| split.inner),
        _ => Some(current.as_str()),
    };
    match ours {
        None => plan.files.push(report(
            "removed",
            "removed from the template (already gone here)",
        )),
        Some(ours) if ours == base => {
            let after = match entry.policy {
                Policy::Block => policy::remove(&current, &markers),
                _ => String::new(),
            };
            if after.trim().is_empty() {
                plan.ops.push(Op::Remove {
                    path: path.to_string(),
                    before: current.clone(),
                });
            } else {
                plan.ops.push(Op::Write {
                    path: path.to_string(),
                    before: Some(current.clone()),
                    after,
                });
            }
            plan.files
                .push(report("removed", "removed from the template"));
        }
        Some(_) => {
            plan.warnings.push(
                Problem::warning(format!(
                    "`{path}` was removed from the template but has local edits: kept, no longer managed"
                ))
                .hint(format!("delete `{path}` yourself if it is not needed any more")),
            );
            plan.files.push(report(
                "kept",
                "removed from the template; local edits kept",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::merge::tests::LABELS;

    #[test]
    fn the_four_cases_of_a_synced_file() {
        let d = |ours, theirs| decide(Some("a\nb\nc\n"), ours, theirs, false, &LABELS);
        assert_eq!(d(Some("a\nb\nc\n"), "a\nB\nc\n").status, "updated");
        let kept = d(Some("A\nb\nc\n"), "a\nb\nc\n");
        assert_eq!((kept.status, kept.write, kept.drift), ("kept", None, true));
        assert_eq!(
            d(Some("A\nb\nc\n"), "a\nb\nC\n").write.as_deref(),
            Some("A\nb\nC\n")
        );
        let conflict = d(Some("a\nmine\nc\n"), "a\ntheirs\nc\n");
        assert!(conflict.conflict);
        assert!(conflict.write.unwrap().contains("<<<<<<< local\nmine\n"));
        assert_eq!(d(None, "x\n").status, "restored");
    }

    #[test]
    fn an_unrecorded_file_is_kept_unless_replaced() {
        assert_eq!(
            decide(None, Some("mine\n"), "t\n", false, &LABELS).status,
            "kept"
        );
        assert_eq!(
            decide(None, Some("mine\n"), "t\n", true, &LABELS)
                .write
                .as_deref(),
            Some("t\n")
        );
        assert_eq!(
            decide(None, Some("t\n"), "t\n", false, &LABELS).status,
            "unchanged"
        );
    }
}
