//! When the default protections (`prod`, `production`, `staging`...) still hold: only the
//! team's own `tfw.toml` may replace them. A file in a sub-folder, or a `[roots]` table,
//! protects more, never less: `protected = []` in `envs/dev/tfw.toml` must not unprotect
//! `prod` for that root.

use std::path::{Path, PathBuf};

use super::{DEFAULT_PROTECTED, ProjectFile};
use crate::repo::Levels;

/// Whether the team's file (the repository root's; outside a repository the farthest one)
/// is among the folders whose file sets `protected` at its top level.
pub(super) fn team_protects(
    levels: &Levels,
    layers: &[(PathBuf, ProjectFile)],
    protecting: &[PathBuf],
) -> bool {
    let farthest = || {
        layers
            .last()
            .and_then(|(path, _)| path.parent().map(Path::to_path_buf))
    };
    let Some(team) = levels.repo_root.clone().or_else(farthest) else {
        return false;
    };
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    protecting
        .iter()
        .any(|level| canonical(level) == canonical(&team))
}

/// The defaults added in front of the patterns the levels set.
pub(super) fn keep(protected: &mut Option<Vec<String>>) {
    let Some(patterns) = protected else {
        return;
    };
    for (at, default) in DEFAULT_PROTECTED.iter().enumerate() {
        if !patterns.iter().any(|p| p == default) {
            patterns.insert(at, (*default).to_string());
        }
    }
}
