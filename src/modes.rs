//! The files tfw keeps that hold a state, a plan or a secret, and their modes: 0600 files in
//! 0700 folders, whatever the umask. Saved plans hold the values of `sensitive` variables and
//! the whole state in clear; backups and `errored.tfstate` are states; `.tfw/env-backups/`
//! holds old tokens. New ones are made private as they are written (`fsutil::private_dir`,
//! `write_atomic` with 0600, and after terraform, `protect_after_terraform`); `tfw doctor`
//! finds older or widened ones, and `tfw clean --fix-modes` narrows them.

use std::path::{Path, PathBuf};

use crate::layout;

/// A file or folder readable by more people than it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loose {
    pub path: PathBuf,
    pub mode: u32,
    pub wanted: u32,
    /// What it holds, for the message.
    pub holds: &'static str,
}

/// The private folders below `.tfw/`, and what their files hold.
type Folder = fn(&Path) -> PathBuf;
const FOLDERS: [(Folder, &str); 3] = [
    (
        layout::plans,
        "a saved plan (sensitive values and the state)",
    ),
    (layout::backups, "a state backup"),
    (layout::env_backups, "a copy of `.env` (a token)"),
];

/// Every private file or folder of the working directory `dir` (and `.env` when given and
/// a plain file) whose group or other permission bits are set.
pub(crate) fn loose(dir: &Path, env_file: Option<&Path>) -> Vec<Loose> {
    let mut found = Vec::new();
    for (folder, holds) in FOLDERS {
        let root = folder(dir);
        check(&root, 0o700, holds, &mut found);
        walk(&root, holds, &mut found);
    }
    check(&dir.join("errored.tfstate"), 0o600, "a state", &mut found);
    if let Some(env) = env_file {
        check(env, 0o600, "the token", &mut found);
    }
    found
}

fn walk(folder: &Path, holds: &'static str, found: &mut Vec<Loose>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            check(&path, 0o700, holds, found);
            walk(&path, holds, found);
        } else {
            check(&path, 0o600, holds, found);
        }
    }
}

fn check(path: &Path, wanted: u32, holds: &'static str, found: &mut Vec<Loose>) {
    use std::os::unix::fs::PermissionsExt;
    // A link is not followed: what it points to is not tfw's to judge or change.
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.file_type().is_symlink() && mode & 0o077 != 0 {
        found.push(Loose {
            path: path.to_path_buf(),
            mode,
            wanted,
            holds,
        });
    }
}

/// Narrows each of them to the mode it should have.
pub(crate) fn repair(loose: &[Loose]) -> Vec<(PathBuf, std::io::Error)> {
    use std::os::unix::fs::PermissionsExt;
    loose
        .iter()
        .filter_map(|l| {
            std::fs::set_permissions(&l.path, std::fs::Permissions::from_mode(l.wanted))
                .err()
                .map(|err| (l.path.clone(), err))
        })
        .collect()
}

/// After terraform ran in `dir`: what it wrote with its umask's modes and holds a state or
/// a plan (`errored.tfstate`, the plan file of `plan -out`) is narrowed to 0600.
pub(crate) fn protect_after_terraform(dir: &Path) {
    crate::fsutil::narrow(&dir.join("errored.tfstate"), 0o600);
    if let Ok(entries) = std::fs::read_dir(layout::plans(dir)) {
        for entry in entries.flatten() {
            crate::fsutil::narrow(&entry.path(), 0o600);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn finds_and_repairs_what_others_could_read() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join(".tfw/backups/dev")).unwrap();
        std::fs::create_dir_all(d.join(".tfw/plans")).unwrap();
        std::fs::write(d.join(".tfw/backups/dev/1.tfstate"), "{}").unwrap();
        std::fs::write(d.join(".tfw/plans/dev.tfplan"), "zip").unwrap();
        std::fs::write(d.join("errored.tfstate"), "{}").unwrap();
        std::fs::write(d.join(".tfw/init.json"), "{}").unwrap();
        chmod(&d.join(".tfw/backups"), 0o755);
        chmod(&d.join(".tfw/backups/dev"), 0o700);
        chmod(&d.join(".tfw/plans"), 0o700);
        chmod(&d.join(".tfw/backups/dev/1.tfstate"), 0o644);
        chmod(&d.join(".tfw/plans/dev.tfplan"), 0o640);
        chmod(&d.join("errored.tfstate"), 0o604);
        chmod(&d.join(".tfw/init.json"), 0o644);
        let found = loose(d, None);
        let names: Vec<_> = found
            .iter()
            .map(|l| l.path.strip_prefix(d).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                ".tfw/plans/dev.tfplan",
                ".tfw/backups",
                ".tfw/backups/dev/1.tfstate",
                "errored.tfstate"
            ]
        );
        assert!(repair(&found).is_empty());
        assert!(loose(d, None).is_empty());
        let mode = |p: &str| std::fs::metadata(d.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(".tfw/backups"), 0o700);
        assert_eq!(mode(".tfw/backups/dev/1.tfstate"), 0o600);
        // Not a secret: left alone.
        assert_eq!(mode(".tfw/init.json"), 0o644);
    }
}
