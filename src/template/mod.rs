//! Template files: tfw's own set (embedded from `templates/`) or a team's (a directory or a git
//! repository), written into repositories by `tfw new`/`tfw adopt` and kept up to date by
//! `tfw sync`, with a committed lock file and 3-way merges, so a template change reaches every
//! repository without a rebase and without losing a local edit.
//!
//! A template is resolved once per command (`source`), then compared with each repository's
//! lock: cheaply by checksums for `--check` (`check`), or planned and written (`plan`, `sync`).

pub(crate) mod carry;
pub(crate) mod check;
pub(crate) mod decide;
pub(crate) mod fetched;
pub(crate) mod files;
pub(crate) mod fleet;
pub(crate) mod git;
pub(crate) mod guard;
pub(crate) mod legacy;
pub(crate) mod lock;
pub(crate) mod manifest;
pub(crate) mod merge;
pub(crate) mod ops;
pub(crate) mod plan;
pub(crate) mod policy;
pub(crate) mod report;
pub(crate) mod source;
pub(crate) mod spec;
pub(crate) mod sync;

use policy::Policy;

/// One template version, with every file's text in memory.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    /// Resolved commit, or a content digest for builtin and directory sources.
    pub commit: String,
    /// The manifest's `version` label (may be empty).
    pub version: String,
    /// Where a local checkout's template is published (its `origin` remote), if anywhere.
    pub url: Option<String>,
    pub files: Vec<TemplateFile>,
}

#[derive(Debug, Clone)]
pub(crate) struct TemplateFile {
    /// Destination in the repository (`/`-separated, relative).
    pub path: String,
    pub policy: Policy,
    /// Earlier destinations: a repository still holding one is moved, not recreated.
    pub renamed_from: Vec<String>,
    /// The text tfw owns: the whole file, or the block's inside for `block`.
    pub content: String,
    pub sha256: String,
    /// The template's file is executable: so is the file written (not for `block`).
    pub executable: bool,
}

impl TemplateFile {
    /// A `*.tf` file declaring a backend (of any type): a repository may hold one only, and
    /// a repository of roots none at its top.
    pub(crate) fn declares_backend(&self) -> bool {
        self.path.ends_with(".tf") && self.content.contains("backend \"")
    }
}

impl Template {
    /// How conflict markers and messages name this version: `template 2 (1a2b3c4d)`.
    pub(crate) fn label(&self) -> String {
        label(&self.version, &self.commit)
    }

    pub(crate) fn file(&self, path: &str) -> Option<&TemplateFile> {
        self.files.iter().find(|file| file.path == path)
    }
}

pub(crate) fn label(version: &str, commit: &str) -> String {
    let short: String = commit.chars().take(8).collect();
    if version.is_empty() {
        format!("template {short}")
    } else {
        format!("template {version} ({short})")
    }
}

/// A relative path, already normalised (no `.`, `..` or empty part: nothing to resolve), that
/// stays inside the repository and out of git's own files: a `.git` part in any case (a
/// case-insensitive file system would take `.GIT/config` for `.git/config`) is refused, since
/// git runs what `.git/config` says (`core.fsmonitor`).
pub(crate) fn is_repo_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains(['\\', '\0'])
        && path.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part
                    .trim_end_matches(['.', ' '])
                    .eq_ignore_ascii_case(".git")
        })
        && path != crate::layout::TEMPLATE_LOCK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_paths() {
        assert!(is_repo_path(".gitignore"));
        assert!(is_repo_path("ci/jobs.yml"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            ".tfw/template.lock",
            ".git/config",
            "sub/.git/hooks/pre-commit",
            ".GIT/config",
            ".git./config",
            "a\0b",
        ] {
            assert!(!is_repo_path(bad), "{bad}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(label("2", "1a2b3c4d5e"), "template 2 (1a2b3c4d)");
        assert_eq!(label("", "1a2b3c4d5e"), "template 1a2b3c4d");
    }
}
