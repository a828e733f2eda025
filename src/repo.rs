//! The folders a working directory inherits shared settings from: itself, then each parent
//! up to the repository root (the folder holding `.git`), where `tfw.toml` and `.env` are
//! looked up. Without it, `tfw -C envs/prod` (and CI's `TF_ROOT`) ignored the protections of
//! the repository's own `tfw.toml`.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub(crate) struct Levels {
    /// Nearest first: the working directory as given, then its parents (canonical).
    pub dirs: Vec<PathBuf>,
    /// The folder holding `.git` (a folder, or the file of a worktree or submodule); `None`
    /// outside a repository, where the walk went up to the filesystem root.
    pub repo_root: Option<PathBuf>,
    /// The working directory with symlinks resolved, when it could be: the parents in `dirs`
    /// are its ancestors, so they are canonical too. Kept because resolving is a `readlink`
    /// per path component, and `tfw prompt` runs before every shell prompt.
    pub(crate) canonical: Option<PathBuf>,
}

impl Levels {
    /// Stats only: a few `stat` calls per level, no file is read.
    pub(crate) fn of(dir: &Path) -> Self {
        let resolved = std::fs::canonicalize(dir).ok();
        let canonical = resolved.as_deref().unwrap_or(dir);
        let mut dirs = vec![dir.to_path_buf()];
        let mut repo_root = None;
        for (index, level) in canonical.ancestors().enumerate() {
            if index > 0 {
                dirs.push(level.to_path_buf());
            }
            if std::fs::symlink_metadata(level.join(".git")).is_ok() {
                repo_root = Some(level.to_path_buf());
                break;
            }
        }
        Self {
            dirs,
            repo_root,
            canonical: resolved,
        }
    }

    /// The folder `dirs[index]` with symlinks resolved (itself when that fails).
    pub(crate) fn canonical(&self, index: usize) -> PathBuf {
        let level = &self.dirs[index];
        match (&self.canonical, index) {
            (Some(canonical), 0) => canonical.clone(),
            (Some(_), _) => level.clone(),
            (None, _) => std::fs::canonicalize(level).unwrap_or_else(|_| level.clone()),
        }
    }

    /// The working directory's path relative to the repository root (`envs/prod`, `.` for
    /// the root itself); `None` outside a repository.
    pub(crate) fn relative(&self) -> Option<String> {
        let root = self.repo_root.as_ref()?;
        Some(slash_path(
            self.canonical.as_ref()?.strip_prefix(root).ok()?,
        ))
    }
}

/// A relative path as written in `tfw.toml`: `/`-separated, `.` when empty.
pub(crate) fn slash_path(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_repository_root() {
        let top = tempfile::tempdir().unwrap();
        let repo = top.path().join("infra");
        let root = repo.join("envs/prod");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        let levels = Levels::of(&root);
        assert_eq!(levels.dirs.len(), 3);
        let canonical_repo = std::fs::canonicalize(&repo).unwrap();
        assert_eq!(levels.repo_root.as_deref(), Some(canonical_repo.as_path()));
        assert_eq!(levels.relative().as_deref(), Some("envs/prod"));
        assert_eq!(Levels::of(&repo).relative().as_deref(), Some("."));
    }
}
