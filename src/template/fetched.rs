//! A repository known only through GitLab's API (`tfw fleet sync`): its lock and managed
//! files fetched from one branch, planned against a template by the same code as a checkout
//! (`sync::prepare` over `Files::Fetched`), and turned into the actions of one commit
//! instead of writes to disk.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Template;
use super::files::{Fetched, Files};
use super::lock::{Locked, TemplateLock};
use super::ops::Op;
use super::source::{Location, Resolver, Spec};
use super::sync::{Planned, prepare, refuse_downgrade};
use crate::layout::TEMPLATE_LOCK;
use crate::problem::{Kind, Problem};

/// What one commit does to one file (the commits API's `actions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    Update,
    Delete,
    /// Moved from this path (with the new content).
    Move(String),
    /// Only the exec bit changes.
    Chmod,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub path: String,
    pub action: Action,
    /// The new text (not for `Delete` and `Chmod`).
    pub content: Option<String>,
    /// The exec bit to set (`None`: leave the file's mode).
    pub executable: Option<bool>,
}

/// Every path a plan may read in a repository whose lock is `lock`, for `template`: what to
/// fetch, besides the lock.
pub(crate) fn paths_to_read(lock: &TemplateLock, template: &Template) -> Vec<String> {
    let mut paths: Vec<String> = lock.files.keys().cloned().collect();
    for file in &template.files {
        paths.push(file.path.clone());
        paths.extend(file.renamed_from.iter().cloned());
    }
    paths.sort();
    paths.dedup();
    paths
}

/// How a lock names the template of `spec`: `builtin`, its URL, or for a local checkout the
/// URL it is published at (its `origin`); `None` when a local template is published nowhere.
fn identity(spec: &Spec, template: &Template) -> Option<String> {
    match &spec.location {
        Location::Builtin => Some(super::source::BUILTIN_NAME.to_string()),
        Location::Git(url) if !url.starts_with('/') => Some(url.clone()),
        _ => template.url.clone(),
    }
}

/// Whether the lock names the template `identity` (as its source or its recorded URL; URLs
/// compared without `.git`, a trailing slash or case): a fleet sync of one template leaves
/// repositories made from another alone.
pub(crate) fn follows(locked: &Locked, identity: &str) -> bool {
    let norm = |s: &str| {
        s.trim_end_matches('/')
            .trim_end_matches(".git")
            .to_ascii_lowercase()
    };
    [Some(&locked.source), locked.url.as_ref()]
        .into_iter()
        .flatten()
        .any(|recorded| norm(recorded) == norm(identity))
}

/// The template a fetched repository is compared with or synced to, and what its lock will
/// then record. The lock keeps its own source; `--template` (`over`) names the version (its
/// ref is recorded) and, when it can be told (a URL, or a checkout's published URL), only a
/// lock of the same template follows it. `TFW_TEMPLATE` says where the template is read from
/// here, as for `tfw sync` (the template repository's CI job reads its own checkout): the
/// resolver carries it, as the settings read it.
pub(crate) fn resolve(
    lock: &TemplateLock,
    over: Option<&Spec>,
    resolver: &Resolver,
) -> Result<(Locked, Arc<Template>), Problem> {
    let read_from = match (resolver.override_text(), over) {
        (Some(text), _) => Spec::parse(text, &std::env::current_dir().unwrap_or_default())?,
        (None, Some(spec)) => spec.clone(),
        // Relative sources mean nothing here: `from_lock` falls back to the recorded URL.
        (None, None) => Spec::from_lock(&lock.template, std::path::Path::new("/nonexistent"))?,
    };
    let template = resolver.resolve(&read_from)?;
    if let Some(spec) = over
        && let Some(identity) = identity(spec, &template)
        && !follows(&lock.template, &identity)
    {
        return Err(Problem::error(format!(
            "follows another template (`{}`), not `{identity}`",
            lock.template.source
        ))
        .kind(Kind::FollowsAnotherTemplate));
    }
    refuse_downgrade(lock, &read_from, &template)?;
    let reference = over
        .and_then(|spec| spec.reference.clone())
        .or_else(|| lock.template.reference.clone());
    let wanted = Locked {
        commit: template.commit.clone(),
        version: template.version.clone(),
        reference,
        ..lock.template.clone()
    };
    Ok((wanted, template))
}

/// Plans the fetched repository `shown` (`group/app@main`) against the template.
pub(crate) fn plan(
    shown: &str,
    files: &BTreeMap<String, Fetched>,
    lock: &TemplateLock,
    wanted: Locked,
    template: &Template,
    replace_symlinks: bool,
) -> Result<Planned, Problem> {
    let tree = Files::Fetched { shown, files };
    prepare(&tree, shown, lock, wanted, template, replace_symlinks)
}

/// The commit's actions for a plan: every op in order, a move and the write to its new
/// path folded into one action, and the lock last when it changes.
pub(crate) fn changes(planned: &Planned, files: &BTreeMap<String, Fetched>) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    for op in &planned.plan.ops {
        match op {
            Op::Write {
                path,
                after,
                executable,
                ..
            } => {
                if let Some(moved) = changes
                    .iter_mut()
                    .find(|c| &c.path == path && matches!(c.action, Action::Move(_)))
                {
                    moved.content = Some(after.clone());
                    moved.executable = *executable;
                    continue;
                }
                let action = match files.contains_key(path) {
                    true => Action::Update,
                    false => Action::Create,
                };
                changes.push(Change {
                    path: path.clone(),
                    action,
                    content: Some(after.clone()),
                    executable: *executable,
                });
            }
            Op::Mode { path, executable } => changes.push(Change {
                path: path.clone(),
                action: Action::Chmod,
                content: None,
                executable: Some(*executable),
            }),
            Op::Rename { from, to } => changes.push(Change {
                path: to.clone(),
                action: Action::Move(from.clone()),
                content: None,
                executable: None,
            }),
            Op::Remove { path, .. } => changes.push(Change {
                path: path.clone(),
                action: Action::Delete,
                content: None,
                executable: None,
            }),
        }
    }
    if planned.lock_changes || !planned.plan.ops.is_empty() {
        let action = match files.contains_key(TEMPLATE_LOCK) {
            true => Action::Update,
            false => Action::Create,
        };
        changes.push(Change {
            path: TEMPLATE_LOCK.to_string(),
            action,
            content: Some(planned.lock_text.clone()),
            executable: None,
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::lock::Entry;
    use crate::template::policy::Policy;
    use crate::template::report::FileStatus;
    use crate::template::{TemplateFile, merge::has_conflict_markers};

    fn fetched(text: &str) -> Fetched {
        Fetched {
            bytes: text.as_bytes().to_vec(),
            executable: false,
            symlink: false,
        }
    }

    fn template(files: &[(&str, &str)], version: &str) -> Template {
        Template {
            commit: format!("{version:0>40}"),
            version: version.into(),
            url: None,
            files: files
                .iter()
                .map(|(path, content)| TemplateFile {
                    path: path.to_string(),
                    policy: Policy::Merge,
                    renamed_from: Vec::new(),
                    content: content.to_string(),
                    sha256: crate::fsutil::sha256_hex(content.as_bytes()),
                    executable: false,
                })
                .collect(),
        }
    }

    fn lock_at(base: &[(&str, &str)]) -> TemplateLock {
        let files = base
            .iter()
            .map(|(path, text)| {
                let entry = Entry {
                    policy: Policy::Merge,
                    sha256: crate::fsutil::sha256_hex(text.as_bytes()),
                    base: Some(text.to_string()),
                    skip: false,
                    executable: false,
                };
                (path.to_string(), entry)
            })
            .collect();
        let locked = Locked {
            source: "https://gitlab.example.com/platform/template.git".into(),
            reference: Some("v1".into()),
            url: None,
            commit: "1".repeat(40),
            version: "1".into(),
        };
        TemplateLock::new(locked, files)
    }

    #[test]
    fn a_fetched_repository_merges_like_a_checkout_and_becomes_commit_actions() {
        let lock = lock_at(&[("a.txt", "a\nb\nc\nd\n"), ("c.txt", "x\n")]);
        let mut files = BTreeMap::new();
        files.insert("a.txt".to_string(), fetched("A local\nb\nc\nd\n"));
        files.insert("c.txt".to_string(), fetched("mine\n"));
        files.insert(TEMPLATE_LOCK.to_string(), fetched(&lock.to_text()));
        let new = template(
            &[
                ("a.txt", "a\nb\nc\nD upstream\n"),
                ("b.txt", "new\n"),
                ("c.txt", "theirs\n"),
            ],
            "2",
        );
        let wanted = Locked {
            commit: new.commit.clone(),
            version: "2".into(),
            ..lock.template.clone()
        };
        let planned = plan("g/app@main", &files, &lock, wanted, &new, false).unwrap();
        let status = |path: &str| {
            planned
                .report
                .files
                .iter()
                .find(|f| f.path == path)
                .unwrap()
                .status
        };
        assert_eq!(status("a.txt"), FileStatus::Merged);
        assert_eq!(status("b.txt"), FileStatus::Created);
        assert_eq!(status("c.txt"), FileStatus::Conflict);
        let changes = changes(&planned, &files);
        let summary: Vec<(&str, &Action)> = changes
            .iter()
            .map(|c| (c.path.as_str(), &c.action))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a.txt", &Action::Update),
                ("b.txt", &Action::Create),
                ("c.txt", &Action::Update),
                (TEMPLATE_LOCK, &Action::Update),
            ]
        );
        assert_eq!(
            changes[0].content.as_deref(),
            Some("A local\nb\nc\nD upstream\n")
        );
        assert!(has_conflict_markers(
            changes[2].content.as_deref().unwrap().as_bytes()
        ));
        let recorded =
            TemplateLock::parse(changes[3].content.as_deref().unwrap().as_bytes()).unwrap();
        assert_eq!(recorded.template.version, "2");
    }

    #[test]
    fn an_up_to_date_repository_needs_no_commit() {
        let lock = lock_at(&[("a.txt", "a\n")]);
        let mut files = BTreeMap::new();
        files.insert("a.txt".to_string(), fetched("a\n"));
        let same = template(&[("a.txt", "a\n")], "1");
        let wanted = Locked {
            commit: same.commit.clone(),
            ..lock.template.clone()
        };
        let planned = plan("g/app@main", &files, &lock, wanted, &same, false).unwrap();
        assert!(planned.is_noop(), "{:?}", planned.plan.ops);
        assert!(changes(&planned, &files).is_empty());
    }

    #[test]
    fn only_repositories_of_the_same_template_follow_it() {
        let lock = lock_at(&[]);
        let follows = |identity: &str| follows(&lock.template, identity);
        assert!(follows("https://gitlab.example.com/platform/template"));
        assert!(follows("https://GITLAB.example.com/platform/template.git/"));
        assert!(!follows("https://gitlab.example.com/other/template.git"));
        assert!(!follows("builtin"));
    }
}
