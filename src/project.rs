//! `tfw.toml`: the committed, shared part of the configuration (which binary, which states
//! are protected, how personal states are named). Everything personal stays in `.env`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::problem::Problem;

pub const FILE_NAME: &str = "tfw.toml";

/// Protected when the repository has no `tfw.toml` (or it lists none): the usual names, and
/// the same followed by a separator (`prod-eu`, `staging_2`, `production.us`).
pub const DEFAULT_PROTECTED: &[&str] = &[
    "prod",
    "production",
    "staging",
    "prod[-_./]*",
    "production[-_./]*",
    "staging[-_./]*",
];

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// `tofu`, `terraform`, or a path.
    pub binary: Option<String>,
    /// A version constraint the binary must satisfy, e.g. `">= 1.0, < 2.0"` or `"~> 1.6"`.
    pub version: Option<String>,
    /// Glob patterns of shared states that need a typed confirmation.
    pub protected: Option<Vec<String>>,
    /// How a developer's own state is named; `{username}` is `TF_HTTP_USERNAME`.
    pub personal: Option<String>,
    /// The state CI uses when `TF_STATE_NAME` is not set.
    pub ci_state: Option<String>,
    /// How many backups to keep per state (the newest is never pruned).
    pub backups_keep: Option<usize>,
    /// Terraform arguments the team always passes (`tfw adopt` carries the old scripts' here).
    #[serde(default)]
    pub args: ExtraArgs,
}

/// `[args]`: added before the command line's own extra arguments, so those still win.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraArgs {
    /// Every plan tfw makes for `plan` and `apply`.
    #[serde(default)]
    pub plan: Vec<String>,
    /// `terraform apply` of a saved plan (apply and destroy).
    #[serde(default)]
    pub apply: Vec<String>,
    /// The plan of `tfw destroy`.
    #[serde(default)]
    pub destroy: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub path: Option<PathBuf>,
    pub file: ProjectFile,
}

impl Project {
    pub fn load(dir: &Path) -> Result<Self, Problem> {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: None,
                    file: ProjectFile::default(),
                });
            }
            Err(err) => {
                return Err(Problem::error(format!(
                    "cannot read `{}`: {err}",
                    path.display()
                )));
            }
        };
        let file: ProjectFile = toml::from_str(&text).map_err(|err| {
            let line = err
                .span()
                .map(|span| text[..span.start].matches('\n').count() + 1);
            Problem::error(format!("invalid {FILE_NAME}: {}", err.message()))
                .at(&path, line)
                .hint("known keys: binary, version, protected, personal, ci_state, backups_keep, [args] plan/apply/destroy")
        })?;
        Ok(Self {
            path: Some(path),
            file,
        })
    }

    pub fn protected_patterns(&self) -> Vec<String> {
        match &self.file.protected {
            Some(patterns) => patterns.clone(),
            None => DEFAULT_PROTECTED.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Case does not matter: `Prod` is as shared as `prod`, and GitLab keeps both.
    pub fn is_protected(&self, state: &str) -> bool {
        let options = glob::MatchOptions {
            case_sensitive: false,
            ..glob::MatchOptions::new()
        };
        self.protected_patterns().iter().any(|pattern| {
            glob::Pattern::new(pattern)
                .map(|p| p.matches_with(state, options))
                .unwrap_or(pattern.eq_ignore_ascii_case(state))
        })
    }

    pub fn personal_state(&self, username: &str) -> String {
        self.file
            .personal
            .as_deref()
            .unwrap_or("dev-{username}")
            .replace("{username}", username)
    }

    pub fn is_personal(&self, state: &str, username: Option<&str>) -> bool {
        let rule = self.file.personal.as_deref().unwrap_or("dev-{username}");
        match username {
            Some(user) => state == rule.replace("{username}", user),
            None => {
                glob::Pattern::new(&rule.replace("{username}", "*")).is_ok_and(|p| p.matches(state))
            }
        }
    }

    /// Any developer's personal state (for `state prune`): the rule with `*` for the name.
    pub fn looks_personal(&self, state: &str) -> bool {
        self.is_personal(state, None)
    }

    pub fn backups_keep(&self) -> usize {
        self.file.backups_keep.unwrap_or(20).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_protect_prod_and_staging() {
        let project = Project {
            path: None,
            file: ProjectFile::default(),
        };
        assert!(project.is_protected("prod"));
        assert!(project.is_protected("staging"));
        assert!(!project.is_protected("dev-alice"));
        for name in [
            "Production",
            "PROD",
            "prod-eu",
            "staging_2",
            "prod.us",
            "Staging-EU",
        ] {
            assert!(project.is_protected(name), "{name}");
        }
        for name in ["product", "prodigy", "staginglab", "preprod", "dev-prod"] {
            assert!(!project.is_protected(name), "{name}");
        }
        assert_eq!(project.personal_state("alice"), "dev-alice");
    }

    #[test]
    fn globs() {
        let file: ProjectFile = toml::from_str("protected = [\"prod\", \"staging*\"]").unwrap();
        let project = Project { path: None, file };
        assert!(project.is_protected("staging-eu"));
        assert!(project.is_protected("STAGING-eu"));
        assert!(!project.is_protected("production"));
    }

    #[test]
    fn unknown_key_points_at_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            "binary = \"tofu\"\nprotect = []\n",
        )
        .unwrap();
        let err = Project::load(dir.path()).unwrap_err();
        assert_eq!(err.location.unwrap().line, Some(2));
    }
}
