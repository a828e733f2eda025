//! `.tfw/template.lock`, committed with the repository: which template (source, requested ref,
//! resolved commit) the repository is at, and per file its policy, the checksum of what tfw
//! last wrote, and the template's text at that version. That text is the base of the next
//! 3-way merge, so a merge works whatever the source: the embedded set of an older tfw, a
//! directory that has changed since, or a git commit no longer fetched.

use crate::layout::TEMPLATE_LOCK;
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::policy::Policy;
use crate::problem::Problem;

const FORMAT: u32 = 1;

const HEADER: &str = "\
# Written by `tfw new`, `tfw adopt` and `tfw sync`: commit this file. It records which template
# version this repository is at, and the template's text of each file (the base of 3-way merges).
# `skip = true` on a file opts this repository out of that file.
";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateLock {
    pub lock_version: u32,
    pub template: Locked,
    #[serde(default)]
    pub files: BTreeMap<String, Entry>,
}

/// The template version, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Locked {
    /// `builtin`, a directory (relative to the repository) or a git URL.
    pub source: String,
    /// The tag, branch or commit asked for (git sources only).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// For a template read from a local checkout (a directory, or a repository by path): its
    /// `origin` remote, which a CI job without that checkout fetches instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The commit it resolved to (a content digest for builtin and directory sources).
    pub commit: String,
    /// The template's own version label (its manifest's `version`).
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub policy: Policy,
    /// sha256 of what tfw last wrote: the whole file, or the block's inside for `block`.
    pub sha256: String,
    /// The template's text at the locked version (every policy but `once`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// This repository opts out of the file: `tfw sync` leaves it alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip: bool,
    /// The template's file was executable at the locked version.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub executable: bool,
}

impl Entry {
    /// The template's `file` recorded as opted out of (`skip`), at its version: what `tfw new
    /// --roots` and `tfw adopt` record for a backend file the repository must not get.
    pub(crate) fn opted_out(file: &super::TemplateFile) -> Entry {
        Entry {
            policy: file.policy,
            sha256: file.sha256.clone(),
            base: Some(file.content.clone()),
            skip: true,
            executable: file.executable,
        }
    }
}

/// Why a lock cannot be used: unreadable or not a lock at all (an error), or a lock whose
/// content contradicts itself (drift: someone edited it by hand).
#[derive(Debug, Clone)]
pub(crate) enum TemplateLockError {
    Broken(Problem),
    Inconsistent(Problem),
}

impl TemplateLockError {
    pub(crate) fn problem(&self) -> &Problem {
        match self {
            TemplateLockError::Broken(problem) | TemplateLockError::Inconsistent(problem) => {
                problem
            }
        }
    }
}

impl TemplateLock {
    /// The lock of the repository at `dir`: `None` when there is none.
    pub(crate) fn read(dir: &Path) -> Result<Option<TemplateLock>, TemplateLockError> {
        // Through the guard: a lock that is a symlink or a FIFO is refused, never followed.
        let bytes =
            match super::guard::read(dir, TEMPLATE_LOCK).map_err(TemplateLockError::Broken)? {
                super::guard::Found::Missing => return Ok(None),
                super::guard::Found::File { bytes, .. } => bytes,
            };
        Self::parse(&bytes).map(Some)
    }

    /// A lock's bytes, as read from a checkout or fetched from GitLab's API.
    pub(crate) fn parse(bytes: &[u8]) -> Result<TemplateLock, TemplateLockError> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            TemplateLockError::Broken(
                Problem::error("the template lock is not UTF-8 text")
                    .at(Path::new(TEMPLATE_LOCK), None)
                    .hint("restore it from git (`git checkout -- .tfw/template.lock`)"),
            )
        })?;
        let lock: TemplateLock = toml::from_str(text).map_err(|err| {
            let line = err
                .span()
                .map(|span| text[..span.start].matches('\n').count() + 1);
            TemplateLockError::Broken(
                Problem::error(format!("the template lock is not valid: {}", err.message()))
                    .at(Path::new(TEMPLATE_LOCK), line)
                    .hint("restore it from git (`git checkout -- .tfw/template.lock`)"),
            )
        })?;
        lock.validate()?;
        Ok(lock)
    }

    fn validate(&self) -> Result<(), TemplateLockError> {
        let invalid = |message: String| {
            TemplateLockError::Inconsistent(
                Problem::error(format!("the template lock is inconsistent: {message}"))
                    .at(Path::new(TEMPLATE_LOCK), None)
                    .hint("restore it from git (`git checkout -- .tfw/template.lock`)"),
            )
        };
        if self.lock_version > FORMAT {
            return Err(TemplateLockError::Broken(
                Problem::error(format!(
                    "the template lock has format {}, newer than this tfw understands ({FORMAT})",
                    self.lock_version
                ))
                .at(Path::new(TEMPLATE_LOCK), None)
                .hint("upgrade tfw"),
            ));
        }
        for (path, entry) in &self.files {
            if !super::is_repo_path(path) {
                return Err(invalid(format!(
                    "`{path}` is not a path inside the repository"
                )));
            }
            if entry.sha256.len() != 64 || !entry.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!("`{path}` has no valid sha256")));
            }
            if entry.base.is_none() && entry.policy != Policy::Once && !entry.skip {
                return Err(invalid(format!("`{path}` has no base text")));
            }
        }
        Ok(())
    }

    pub(crate) fn to_text(&self) -> String {
        let body = toml::to_string(self).expect("a lock always serialises");
        format!("{HEADER}\n{body}")
    }

    pub(crate) fn new(template: Locked, files: BTreeMap<String, Entry>) -> Self {
        Self {
            lock_version: FORMAT,
            template,
            files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_file_opted_out_of_keeps_its_version_and_is_skipped() {
        let file = |path: &str, content: &str| super::super::TemplateFile {
            path: path.into(),
            policy: Policy::Managed,
            renamed_from: Vec::new(),
            content: content.into(),
            sha256: "abc".into(),
            executable: false,
        };
        let backend = file("backend.tf", "terraform {\n  backend \"http\" {}\n}\n");
        assert!(backend.declares_backend());
        assert!(!file("main.tf", "resource \"null\" \"x\" {}\n").declares_backend());
        assert!(!file("README.md", "backend \"http\"").declares_backend());
        let entry = Entry::opted_out(&backend);
        assert!(entry.skip);
        assert_eq!(entry.sha256, "abc");
        assert_eq!(entry.base.as_deref(), Some(backend.content.as_str()));
    }

    fn sample() -> TemplateLock {
        let mut files = BTreeMap::new();
        files.insert(
            ".gitignore".to_string(),
            Entry {
                policy: Policy::Block,
                sha256: "a".repeat(64),
                base: Some(".env\n\"quoted\" '''\n".into()),
                skip: false,
                executable: false,
            },
        );
        files.insert(
            "tfw.toml".to_string(),
            Entry {
                policy: Policy::Once,
                sha256: "b".repeat(64),
                base: None,
                skip: false,
                executable: false,
            },
        );
        TemplateLock::new(
            Locked {
                source: "../template".into(),
                reference: Some("v2".into()),
                url: Some("https://gitlab.example.com/platform/template.git".into()),
                commit: "c".repeat(40),
                version: "2".into(),
            },
            files,
        )
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let lock = sample();
        crate::fsutil::write_atomic(
            &dir.path().join(TEMPLATE_LOCK),
            lock.to_text().as_bytes(),
            0o644,
        )
        .unwrap();
        assert_eq!(TemplateLock::read(dir.path()).unwrap(), Some(lock));
    }

    #[test]
    fn missing_is_none_and_garbage_points_at_the_line() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(TemplateLock::read(dir.path()).unwrap(), None);
        std::fs::create_dir_all(dir.path().join(".tfw")).unwrap();
        std::fs::write(
            dir.path().join(TEMPLATE_LOCK),
            "lock_version = 1\n[template\n",
        )
        .unwrap();
        let err = TemplateLock::read(dir.path()).unwrap_err();
        assert!(matches!(err, TemplateLockError::Broken(_)));
        assert_eq!(err.problem().location.clone().unwrap().line, Some(2));
    }

    #[test]
    fn paths_escaping_the_repository_are_rejected() {
        let mut lock = sample();
        let entry = lock.files.remove("tfw.toml").unwrap();
        lock.files.insert("../outside".into(), entry);
        assert!(matches!(
            lock.validate(),
            Err(TemplateLockError::Inconsistent(_))
        ));
    }
}
