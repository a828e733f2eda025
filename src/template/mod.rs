//! Template files: tfw's own set (embedded from `templates/`) or a team's (a directory or a git
//! repository), written into repositories by `tfw new`/`tfw adopt` and kept up to date by
//! `tfw sync`, with a committed lock file and 3-way merges, so a template change reaches every
//! repository without a rebase and without losing a local edit.
//!
//! A template is resolved once per command (`source`), then compared with each repository's
//! lock: cheaply by checksums for `--check` (`check`), or planned and written (`plan`, `sync`).

pub mod check;
pub mod fleet;
pub mod git;
pub mod lock;
pub mod manifest;
pub mod merge;
pub mod ops;
pub mod plan;
pub mod policy;
pub mod report;
pub mod source;
pub mod sync;

use policy::Policy;

/// One template version, with every file's text in memory.
#[derive(Debug, Clone)]
pub struct Template {
    /// Resolved commit, or a content digest for builtin and directory sources.
    pub commit: String,
    /// The manifest's `version` label (may be empty).
    pub version: String,
    pub files: Vec<TemplateFile>,
}

#[derive(Debug, Clone)]
pub struct TemplateFile {
    /// Destination in the repository (`/`-separated, relative).
    pub path: String,
    pub policy: Policy,
    /// Earlier destinations: a repository still holding one is moved, not recreated.
    pub renamed_from: Vec<String>,
    /// The text tfw owns: the whole file, or the block's inside for `block`.
    pub content: String,
    pub sha256: String,
}

impl Template {
    /// How conflict markers and messages name this version: `template 2 (1a2b3c4d)`.
    pub fn label(&self) -> String {
        label(&self.version, &self.commit)
    }

    pub fn file(&self, path: &str) -> Option<&TemplateFile> {
        self.files.iter().find(|file| file.path == path)
    }
}

pub fn label(version: &str, commit: &str) -> String {
    let short: String = commit.chars().take(8).collect();
    if version.is_empty() {
        format!("template {short}")
    } else {
        format!("template {version} ({short})")
    }
}

/// A relative, normalised path that stays inside the repository.
pub fn is_repo_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && path != lock::LOCK_PATH
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
