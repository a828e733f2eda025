//! Decides, file by file, what bringing a repository to a template version means, without
//! touching anything: the writes, moves and removals (`Op`s, which `--dry-run` shows as a
//! diff), the new lock entries, and what to tell the developer. The rules, per owned part
//! (the whole file, or the block):
//! - missing: written (restored when the lock knew it);
//! - changed on either side: as `decide` says (update, keep, 3-way merge, never into markers);
//! - present but never recorded: kept as the local version (adopt replaces known legacy files);
//! - gone from the template: removed if untouched, else kept with a warning;
//! - moved by the template (`renamed_from`): the file is moved, then the rules above apply.
//!
//! Every read goes through `files` (a checkout, read through `guard`, or files fetched over
//! GitLab's API): a symlink or a special file at a managed path stops the plan with its path
//! named (or, with `--replace-symlinks`, counts as missing).

use super::decide::decide;
use super::files::Files;
use super::guard::Found;
use super::lock::Entry;
use super::merge::{Eol, Labels, to_lf};
use super::ops::Op;
use super::policy::{self, Policy};
use super::report::{FileReport, FileStatus};
use super::{Template, TemplateFile};
use crate::fsutil::sha256_hex;
use crate::layout::TEMPLATE_LOCK;
use crate::problem::Problem;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Default)]
pub(crate) struct Mode {
    /// Files that exist, are not in the lock and may be replaced (adopt's legacy files).
    pub replace: HashSet<String>,
    /// What to write instead of the template's text, for files not in the lock (adopt's
    /// `env.example` with the old keys kept, `tfw.toml` with the old scripts' arguments). The
    /// lock's base stays the template's text, so the next sync merges from there.
    pub write_instead: BTreeMap<String, String>,
    /// `--replace-symlinks`: a symlink at a managed path counts as missing and is replaced.
    pub replace_symlinks: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub ops: Vec<Op>,
    pub files: Vec<FileReport>,
    pub entries: BTreeMap<String, Entry>,
    pub warnings: Vec<Problem>,
    /// Files left with conflict markers (written now, or still there from before).
    pub conflicts: usize,
}

/// A managed path's text and exec bit, `None` when missing.
struct Current {
    text: String,
    executable: bool,
}

fn read_text(files: &Files, path: &str, mode: &Mode) -> Result<Option<Current>, Problem> {
    if mode.replace_symlinks && files.has_symlink(path) {
        return Ok(None);
    }
    match files.read(path)? {
        Found::Missing => Ok(None),
        Found::File { bytes, executable } => String::from_utf8(bytes)
            .map(|text| Some(Current { text, executable }))
            .map_err(|_| {
                Problem::error(format!(
                    "`{path}` is not UTF-8 text, so tfw cannot merge it"
                ))
                .at(&files.location(path), None)
                .hint(format!(
                    "fix the file, or set `skip = true` on `{path}` in `{TEMPLATE_LOCK}`"
                ))
            }),
    }
}

/// Plans bringing `files` from the lock's `old` entries (labelled `old_label`) to `template`.
pub(crate) fn plan(
    files: &Files,
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
        plan_file(files, old, file, mode, &labels, &mut plan)?;
    }
    for (path, entry) in old {
        if !claimed.contains(path.as_str()) {
            plan_removal(files, path, entry, mode, &mut plan)?;
        }
    }
    Ok(plan)
}

fn plan_file(
    files: &Files,
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
            FileStatus::Skipped,
            None,
        ));
        return Ok(());
    }
    let mut current = read_text(files, &file.path, mode)?;
    let mut moved = None;
    if let Some((_, Some(from))) = found {
        let from_current = read_text(files, from, mode)?;
        match (from_current, &current) {
            (Some(text), None) => {
                plan.ops.push(Op::Rename {
                    from: from.to_string(),
                    to: file.path.clone(),
                });
                current = Some(text);
                moved = Some(from);
            }
            (Some(_), Some(_)) => plan.warnings.push(Problem::warning(format!(
                "the template moved `{from}` to `{}`, and both exist: `{from}` is left alone",
                file.path
            ))),
            (None, _) => {}
        }
    }
    let moved_detail = |detail: Option<String>| match (moved, detail) {
        (Some(from), Some(detail)) => Some(format!("moved from {from}; {detail}")),
        (Some(from), None) => Some(format!("moved from {from}")),
        (None, detail) => detail,
    };
    let renamed = |status| match (moved, status) {
        (Some(_), FileStatus::Unchanged) => FileStatus::Renamed,
        (_, status) => status,
    };

    if file.policy == Policy::Once {
        let (status, sha256) = match (entry, &current) {
            (Some(entry), _) if entry.policy == Policy::Once => {
                (FileStatus::Unchanged, entry.sha256.clone())
            }
            (_, Some(found)) => (FileStatus::Recorded, sha256_hex(found.text.as_bytes())),
            (_, None) => {
                plan.ops.push(Op::Write {
                    path: file.path.clone(),
                    before: None,
                    after: file.content.clone(),
                    executable: Some(file.executable),
                });
                (FileStatus::Created, file.sha256.clone())
            }
        };
        plan.entries.insert(
            file.path.clone(),
            Entry {
                policy: Policy::Once,
                sha256,
                base: None,
                skip: false,
                executable: file.executable,
            },
        );
        plan.files.push(FileReport::new(
            &file.path,
            Some(file.policy),
            renamed(status),
            moved_detail(None),
        ));
        return Ok(());
    }

    let current_text = current.as_ref().map(|c| c.text.as_str());
    let markers = policy::markers(&file.path);
    let ours = match (file.policy, current_text) {
        (Policy::Block, Some(text)) => {
            policy::check_block(&files.location(&file.path), &file.path, text)?;
            policy::find(text, &markers).map(|split| split.inner)
        }
        (_, text) => text,
    };
    let base = entry.and_then(|entry| entry.base.as_deref());
    // A block found between markers but not recorded is tfw's own from an earlier life.
    let replace =
        mode.replace.contains(&file.path) || (file.policy == Policy::Block && ours.is_some());
    let mut decision = decide(base, ours, &file.content, replace, labels);
    if entry.is_none()
        && let Some(instead) = mode.write_instead.get(&file.path)
        && ours != Some(instead.as_str())
    {
        if decision.write.is_none() {
            decision.status = FileStatus::Updated;
        }
        decision.write = Some(instead.clone());
        decision.drift = false;
    }
    if file.policy == Policy::Block && ours.is_none() && current.is_some() {
        decision.status = FileStatus::Updated;
        decision.detail = Some("managed block added".into());
    }
    // The exec bit is the template's for files it owns whole; a block's file is the user's.
    let executable = (file.policy != Policy::Block).then_some(file.executable);
    if let Some(owned) = &decision.write {
        let after = match (file.policy, current_text) {
            (Policy::Block, Some(text)) => {
                policy::put(Some(text), &markers, &Eol::of(text).apply(owned))
            }
            (Policy::Block, None) => policy::put(None, &markers, owned),
            _ => owned.clone(),
        };
        plan.ops.push(Op::Write {
            path: file.path.clone(),
            before: current_text.map(str::to_string),
            after,
            executable,
        });
    } else if let (Some(found), Some(wanted)) = (&current, executable)
        && found.executable != wanted
        && entry.is_none_or(|entry| entry.executable != wanted)
    {
        plan.ops.push(Op::Mode {
            path: file.path.clone(),
            executable: wanted,
        });
    }
    if decision.conflict {
        plan.conflicts += 1;
        let message = match decision.refused {
            true => format!(
                "`{}` still holds conflict markers: nothing was merged into it",
                file.path
            ),
            false => format!(
                "conflict in `{}`: both the template and this repository changed the same lines",
                file.path
            ),
        };
        plan.warnings.push(
            Problem::warning(message)
                .hint("resolve the <<<<<<< local / >>>>>>> template markers, then commit; until then `tfw sync` exits 3"),
        );
    } else if decision.drift && file.policy.edits_are_drift() {
        plan.warnings.push(
            Problem::warning(format!(
                "`{}` differs from the template, which owns it: local edits kept (`tfw sync --check` reports drift)",
                file.path
            ))
            .hint(match file.policy {
                Policy::Block => format!("to take the template's block, delete it from `{}` with its two marker lines and run `tfw sync` (the rest of the file stays)", file.path),
                _ => format!("to take the template's version, delete `{}` and run `tfw sync`", file.path),
            }),
        );
    }
    plan.files.push(FileReport::new(
        &file.path,
        Some(file.policy),
        renamed(decision.status),
        moved_detail(decision.detail.clone()),
    ));
    let entry_now = match (decision.refused, entry) {
        // Nothing merged: the next merge, once the markers are resolved, starts from the old base.
        (true, Some(entry)) => entry.clone(),
        _ => {
            let owned_now = decision.write.as_deref().or(ours).unwrap_or(&file.content);
            Entry {
                policy: file.policy,
                sha256: sha256_hex(owned_now.as_bytes()),
                base: Some(file.content.clone()),
                skip: false,
                executable: file.executable,
            }
        }
    };
    plan.entries.insert(file.path.clone(), entry_now);
    Ok(())
}

/// A file the lock knows but the template no longer lists.
fn plan_removal(
    files: &Files,
    path: &str,
    entry: &Entry,
    mode: &Mode,
    plan: &mut Plan,
) -> Result<(), Problem> {
    let report = |status, detail: &str| {
        FileReport::new(path, Some(entry.policy), status, Some(detail.to_string()))
    };
    if entry.skip || entry.policy == Policy::Once {
        plan.files.push(report(
            FileStatus::Released,
            "removed from the template; the file stays, no longer managed",
        ));
        return Ok(());
    }
    let gone = "removed from the template (already gone here)";
    let Some(Current { text: current, .. }) = read_text(files, path, mode)? else {
        plan.files.push(report(FileStatus::Removed, gone));
        return Ok(());
    };
    let base = entry.base.as_deref().unwrap_or_default();
    let markers = policy::markers(path);
    let ours = match entry.policy {
        Policy::Block => {
            policy::check_block(&files.location(path), path, &current)?;
            policy::find(&current, &markers).map(|split| split.inner)
        }
        _ => Some(current.as_str()),
    };
    match ours {
        None => plan.files.push(report(FileStatus::Removed, gone)),
        Some(ours) if to_lf(ours) == to_lf(base) => {
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
                    executable: None,
                });
            }
            plan.files
                .push(report(FileStatus::Removed, "removed from the template"));
        }
        Some(_) => {
            plan.warnings.push(
                Problem::warning(format!(
                    "`{path}` was removed from the template but has local edits: kept, no longer managed"
                ))
                .hint(format!("delete `{path}` yourself if it is not needed any more")),
            );
            plan.files.push(report(
                FileStatus::Kept,
                "removed from the template; local edits kept",
            ));
        }
    }
    Ok(())
}
