//! `tfw sync --check`: is the repository at the template's version, and are the parts the
//! template owns as it wrote them? Answered by comparing texts (no merge, no git process, the
//! template already resolved once per command), so checking hundreds of repositories costs a
//! few file reads each. Drift (exit 3) wins over an update (exit 2), also when the template
//! moves, drops or re-policies an edited file: the edit is what CI must not let through.
//!
//! The texts come from `Files`: a checkout (through `guard`), or the files of a default
//! branch read over GitLab's API by `tfw fleet status`, so both decide the same way.

use std::collections::HashSet;
use std::path::Path;

use super::files::Files;
use super::guard::Found;
use super::lock::{Entry, Locked, TemplateLock};
use super::merge::{has_conflict_markers, to_lf};
use super::policy::{self, Policy};
use super::report::{FileReport, FileStatus, State};
use super::{Template, TemplateFile};
use crate::layout::TEMPLATE_LOCK;

/// The lock entry for a template file: under its path, or under an earlier one it moved from.
pub(crate) fn entry_for<'a>(
    lock: &'a TemplateLock,
    file: &'a TemplateFile,
) -> Option<(&'a Entry, Option<&'a str>)> {
    if let Some(entry) = lock.files.get(&file.path) {
        return Some((entry, None));
    }
    file.renamed_from
        .iter()
        .find_map(|old| lock.files.get(old).map(|entry| (entry, Some(old.as_str()))))
}

/// Why what the template owns at `path` (under the lock's policy and base) is not as tfw
/// left it, if it is not. A symlink or a special file is refused unread, and reported.
fn drift_at(files: &Files, path: &str, entry: &Entry, missing_is_drift: bool) -> Option<String> {
    let bytes = match files.read(path) {
        Err(problem) => return Some(problem.message),
        Ok(Found::Missing) if !missing_is_drift => return None,
        Ok(Found::Missing) if entry.policy == Policy::Block => {
            return Some("the file holding the managed block is missing".into());
        }
        Ok(Found::Missing) => return Some("missing".into()),
        Ok(Found::File { bytes, .. }) => bytes,
    };
    if has_conflict_markers(&bytes) {
        return Some("unresolved conflict markers".into());
    }
    if !entry.policy.edits_are_drift() {
        return None;
    }
    let base = to_lf(entry.base.as_deref().unwrap_or_default());
    let text = String::from_utf8_lossy(&bytes);
    let owned = match entry.policy {
        Policy::Block => {
            let markers = policy::markers(path);
            if let Some((line, missing)) = policy::broken(&text, &markers) {
                return Some(format!(
                    "the managed block is broken: line {line} has no {} marker",
                    missing.as_str()
                ));
            }
            match policy::find(&text, &markers) {
                Some(split) => split.inner.to_string(),
                None if missing_is_drift => return Some("the managed block is missing".into()),
                None => return None,
            }
        }
        _ => text.into_owned(),
    };
    (to_lf(&owned) != base).then(|| match entry.policy {
        Policy::Block => "the managed block was edited locally".to_string(),
        _ => "edited locally (this file belongs to the template)".to_string(),
    })
}

/// Checks `dir` against `template`; `wanted` is the version a sync would record. Only what
/// the template's files are counts as an update: a new commit that changes none of the files
/// the manifest lists leaves the repository up to date.
pub(crate) fn check(
    dir: &Path,
    lock: &TemplateLock,
    template: &Template,
    wanted: &Locked,
) -> (Vec<FileReport>, State) {
    check_files(&Files::Disk(dir), lock, template, wanted)
}

/// `check` over any `Files`.
pub(crate) fn check_files(
    dir: &Files,
    lock: &TemplateLock,
    template: &Template,
    wanted: &Locked,
) -> (Vec<FileReport>, State) {
    let mut files = Vec::new();
    let mut claimed: HashSet<&str> = HashSet::new();
    if lock.template.source != wanted.source || lock.template.reference != wanted.reference {
        files.push(FileReport::new(
            TEMPLATE_LOCK,
            None,
            FileStatus::Update,
            Some(format!(
                "at {}, the template is at {}",
                super::label(&lock.template.version, &lock.template.commit),
                template.label()
            )),
        ));
    }
    for file in &template.files {
        claimed.insert(&file.path);
        claimed.extend(file.renamed_from.iter().map(String::as_str));
        files.push(check_file(dir, lock, file));
    }
    for (path, entry) in &lock.files {
        if claimed.contains(path.as_str()) {
            continue;
        }
        let drift = match entry.skip || entry.policy == Policy::Once {
            true => None,
            false => drift_at(dir, path, entry, false),
        };
        files.push(match drift {
            Some(drift) => FileReport::new(
                path,
                Some(entry.policy),
                FileStatus::Drift,
                Some(format!("{drift}; the template removed it")),
            ),
            None => FileReport::new(
                path,
                Some(entry.policy),
                FileStatus::Update,
                Some("removed from the template".into()),
            ),
        });
    }
    let state = if files.iter().any(|f| f.status == FileStatus::Drift) {
        State::Drift
    } else if files.iter().any(|f| f.status == FileStatus::Update) {
        State::UpdateAvailable
    } else {
        State::UpToDate
    };
    (files, state)
}

fn check_file(dir: &Files, lock: &TemplateLock, file: &TemplateFile) -> FileReport {
    let report = |status, detail: Option<String>| {
        FileReport::new(&file.path, Some(file.policy), status, detail)
    };
    let Some((entry, moved_from)) = entry_for(lock, file) else {
        return report(FileStatus::Update, Some("new in the template".into()));
    };
    if entry.skip {
        return report(FileStatus::Skipped, Some("opted out in the lock".into()));
    }
    // Drift is judged where the file is now, as the lock owned it: a move or a new policy
    // upstream does not make a local edit any less of one.
    let at = match moved_from {
        Some(old) if dir.exists(old) && !dir.exists(&file.path) => old,
        _ => file.path.as_str(),
    };
    let drift = match entry.policy {
        Policy::Once => None,
        _ => drift_at(dir, at, entry, true),
    };
    let mut changes = Vec::new();
    if let Some(old) = moved_from {
        changes.push(format!("moves from {old}"));
    }
    if entry.policy != file.policy {
        changes.push(format!(
            "policy changes from {} to {}",
            entry.policy.as_str(),
            file.policy.as_str()
        ));
    }
    let base = to_lf(entry.base.as_deref().unwrap_or_default());
    if file.policy != Policy::Once && entry.policy != Policy::Once && to_lf(&file.content) != base {
        changes.push("changed in the template".into());
    }
    if file.policy != Policy::Block && entry.executable != file.executable {
        changes.push("its exec bit changes".into());
    }
    let changes = changes.join("; ");
    match (drift, changes.is_empty()) {
        (Some(drift), false) => report(
            FileStatus::Drift,
            Some(format!(
                "{drift}; the template {}",
                changes.replace("; ", " and ")
            )),
        ),
        (Some(drift), true) => report(FileStatus::Drift, Some(drift)),
        (None, false) => report(FileStatus::Update, Some(changes)),
        (None, true) => report(FileStatus::UpToDate, None),
    }
}
