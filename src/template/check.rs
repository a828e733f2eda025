//! `tfw sync --check`: is the repository at the template's version, and are the parts the
//! template owns as it wrote them? Answered from checksums alone (no merge, no git process,
//! the template already resolved and hashed once per command), so checking hundreds of
//! repositories costs a few file reads each.

use std::collections::HashSet;
use std::path::Path;

use super::lock::{Entry, LOCK_PATH, Lock, Locked};
use super::merge::has_conflict_markers;
use super::policy::{self, Policy};
use super::report::{FileReport, State};
use super::{Template, TemplateFile};
use crate::fsutil::sha256_hex;

/// The lock entry for a template file: under its path, or under an earlier one it moved from.
pub fn entry_for<'a>(
    lock: &'a Lock,
    file: &'a TemplateFile,
) -> Option<(&'a Entry, Option<&'a str>)> {
    if let Some(entry) = lock.files.get(&file.path) {
        return Some((entry, None));
    }
    file.renamed_from
        .iter()
        .find_map(|old| lock.files.get(old).map(|entry| (entry, Some(old.as_str()))))
}

/// What the template owns in the file at `path`, as bytes: the whole file, or the inside of
/// its block. `None` when the file (or the block) is missing.
fn owned(dir: &Path, path: &str, policy: Policy) -> Option<Vec<u8>> {
    let bytes = std::fs::read(dir.join(path)).ok()?;
    if policy != Policy::Block {
        return Some(bytes);
    }
    let text = String::from_utf8(bytes).ok()?;
    policy::find(&text, &policy::markers(path)).map(|split| split.inner.as_bytes().to_vec())
}

/// Checks `dir` against `template`; `wanted` is the version a sync would record.
pub fn check(
    dir: &Path,
    lock: &Lock,
    template: &Template,
    wanted: &Locked,
) -> (Vec<FileReport>, State) {
    let mut files = Vec::new();
    let mut claimed: HashSet<&str> = HashSet::new();
    if lock.template.source != wanted.source
        || lock.template.reference != wanted.reference
        || lock.template.commit != wanted.commit
    {
        files.push(FileReport::new(
            LOCK_PATH,
            None,
            "update",
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
        if !claimed.contains(path.as_str()) {
            files.push(FileReport::new(
                path,
                Some(entry.policy),
                "update",
                Some("removed from the template".into()),
            ));
        }
    }
    let state = if files.iter().any(|f| f.status == "drift") {
        State::Drift
    } else if files.iter().any(|f| f.status == "update") {
        State::UpdateAvailable
    } else {
        State::UpToDate
    };
    (files, state)
}

fn check_file(dir: &Path, lock: &Lock, file: &TemplateFile) -> FileReport {
    let report = |status, detail: Option<String>| {
        FileReport::new(&file.path, Some(file.policy), status, detail)
    };
    let Some((entry, moved_from)) = entry_for(lock, file) else {
        return report("update", Some("new in the template".into()));
    };
    if entry.skip {
        return report("skipped", Some("opted out in the lock".into()));
    }
    if let Some(old) = moved_from {
        return report("update", Some(format!("moves from {old}")));
    }
    if entry.policy != file.policy {
        return report(
            "update",
            Some(format!(
                "policy changes from {} to {}",
                entry.policy.as_str(),
                file.policy.as_str()
            )),
        );
    }
    if file.policy == Policy::Once {
        return report("up-to-date", None);
    }
    let base = entry.base.as_deref().unwrap_or_default();
    let base_sha = sha256_hex(base.as_bytes());
    let upstream = file.sha256 != base_sha;
    let drift = match owned(dir, &file.path, file.policy) {
        None if file.policy == Policy::Block => Some("the managed block is missing".to_string()),
        None => Some("missing".to_string()),
        Some(bytes) if has_conflict_markers(&bytes) => {
            Some("unresolved conflict markers".to_string())
        }
        Some(bytes) if file.policy.edits_are_drift() && sha256_hex(&bytes) != base_sha => {
            Some(match file.policy {
                Policy::Block => "the managed block was edited locally".to_string(),
                _ => "edited locally (this file belongs to the template)".to_string(),
            })
        }
        Some(_) => None,
    };
    match (drift, upstream) {
        (Some(drift), true) => report(
            "drift",
            Some(format!("{drift}; the template changed it too")),
        ),
        (Some(drift), false) => report("drift", Some(drift)),
        (None, true) => report("update", Some("changed in the template".into())),
        (None, false) => report("up-to-date", None),
    }
}
