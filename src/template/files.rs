//! Where a sync reads a repository's current files from: a checkout on disk (every read
//! through `guard`), or the files of a branch fetched from GitLab's API, for `tfw fleet sync`,
//! which merges and commits without a clone. Planning (`plan`) reads only through here, so
//! both get the same decisions, merges and messages from one piece of code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::guard::{self, Found};
use crate::problem::Problem;

/// A file as GitLab's tree shows it: bytes and mode (a symlink's bytes are its target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    pub bytes: Vec<u8>,
    pub executable: bool,
    pub symlink: bool,
}

/// The files of one repository, by `/`-separated path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Files<'a> {
    Disk(&'a Path),
    /// `shown` names the repository in messages (`group/app@main`).
    Fetched {
        shown: &'a str,
        files: &'a BTreeMap<String, Fetched>,
    },
}

impl Files<'_> {
    /// Where `path` is, for messages: a path on disk, or `group/app@main:path`.
    pub(crate) fn location(&self, path: &str) -> PathBuf {
        match self {
            Files::Disk(dir) => dir.join(path),
            Files::Fetched { shown, .. } => PathBuf::from(format!("{shown}:{path}")),
        }
    }

    /// The symlink that `path` is or goes through, if any (in a fetched tree a symlink is
    /// never followed either: `a/b` under a symlink `a` is behind it).
    fn fetched_symlink(files: &BTreeMap<String, Fetched>, path: &str) -> Option<String> {
        let mut prefix = String::new();
        for part in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if files.get(&prefix).is_some_and(|f| f.symlink) {
                return Some(prefix);
            }
        }
        None
    }

    /// Whether some component of `path` is a symlink (what `--replace-symlinks` replaces).
    pub(crate) fn has_symlink(&self, path: &str) -> bool {
        match self {
            Files::Disk(dir) => guard::has_symlink(dir, path),
            Files::Fetched { files, .. } => Self::fetched_symlink(files, path).is_some(),
        }
    }

    /// Whether anything at all is at `path`: a file, a symlink, or (fetched) a folder
    /// holding files.
    pub(crate) fn exists(&self, path: &str) -> bool {
        match self {
            Files::Disk(dir) => std::fs::symlink_metadata(dir.join(path)).is_ok(),
            Files::Fetched { files, .. } => {
                let below = format!("{path}/");
                files.contains_key(path)
                    || files
                        .range(below.clone()..)
                        .next()
                        .is_some_and(|(p, _)| p.starts_with(&below))
            }
        }
    }

    /// The file at `path`, refusing symlinks (and, on disk, special files) with the path named.
    pub(crate) fn read(&self, path: &str) -> Result<Found, Problem> {
        let (shown, files) = match self {
            Files::Disk(dir) => return guard::read(dir, path),
            Files::Fetched { shown, files } => (shown, files),
        };
        if let Some(link) = Self::fetched_symlink(files, path) {
            let target = String::from_utf8_lossy(&files[&link].bytes).into_owned();
            return Err(Problem::error(format!(
                "`{link}` is a symbolic link (to `{target}`) in {shown}: tfw never writes a template file through one"
            ))
            .at(&self.location(&link), None)
            .hint("replace it with a regular file in the repository, or pass `--replace-symlinks` to let tfw replace the link itself"));
        }
        match files.get(path) {
            Some(file) => Ok(Found::File {
                bytes: file.bytes.clone(),
                executable: file.executable,
            }),
            None => Ok(Found::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_files_refuse_symlinks_like_a_checkout() {
        let mut files = BTreeMap::new();
        let file = |bytes: &str, symlink| Fetched {
            bytes: bytes.as_bytes().to_vec(),
            executable: false,
            symlink,
        };
        files.insert("a.txt".to_string(), file("a\n", false));
        files.insert("link".to_string(), file("/etc", true));
        let tree = Files::Fetched {
            shown: "g/app@main",
            files: &files,
        };
        assert!(matches!(tree.read("a.txt").unwrap(), Found::File { .. }));
        assert!(matches!(tree.read("missing").unwrap(), Found::Missing));
        for behind in ["link", "link/passwd"] {
            let problem = tree.read(behind).unwrap_err();
            assert!(
                problem.message.contains("`link` is a symbolic link"),
                "{problem}"
            );
            assert!(tree.has_symlink(behind));
        }
        assert_eq!(tree.location("x"), PathBuf::from("g/app@main:x"));
    }
}
