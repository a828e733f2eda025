//! The one gate between templates and the file system. A template (or a repository) is data
//! written by others: a committed symlink at a managed path, a manifest destination under
//! `.git/`, a template file linking to `~/.gitconfig` or a FIFO must never make tfw read or
//! write anything outside the repository (or the template), nor hang. So every path tfw
//! reads or writes for a template goes through here: each component is looked at without
//! following it (`symlink_metadata`), files are opened with `O_NOFOLLOW | O_NONBLOCK`, and
//! anything but a directory or a regular file is refused with its path named.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::problem::Problem;

/// What is at a path, once every component was checked.
#[derive(Debug)]
pub(crate) enum Found {
    Missing,
    File { bytes: Vec<u8>, executable: bool },
}

/// What kind of thing a non-regular file is, for messages (the rule is fsutil's).
fn kind(meta: &Metadata) -> Option<&'static str> {
    crate::fsutil::special_kind(meta)
}

fn symlink_refused(root: &Path, shown: &str, at: &Path) -> Problem {
    let target = std::fs::read_link(at)
        .map(|t| format!(" (to `{}`)", t.display()))
        .unwrap_or_default();
    Problem::error(format!(
        "`{shown}` is a symbolic link{target}: tfw never reads or writes a template file through one"
    ))
    .at(&root.join(shown), None)
    .hint("replace it with a regular file, or pass `--replace-symlinks` to let tfw replace the link itself (what it points to is left alone)")
}

fn special_refused(root: &Path, shown: &str, what: &str) -> Problem {
    Problem::error(format!(
        "`{shown}` is {what}, not a regular file: tfw does not open it"
    ))
    .at(&root.join(shown), None)
    .hint(format!("remove `{shown}`, then run the command again"))
}

/// Walks `rel` below `root` without following anything. `Ok(None)` when a component is
/// missing; a symlink (or a non-directory parent, or a special file) is an error naming it.
fn walk(root: &Path, rel: &str) -> Result<Option<Metadata>, Problem> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut path = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let shown = parts[..=i].join("/");
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(Problem::error(format!("cannot read `{shown}`: {err}")).at(&path, None));
            }
        };
        let last = i + 1 == parts.len();
        if meta.file_type().is_symlink() {
            return Err(symlink_refused(root, &shown, &path));
        }
        if let Some(what) = kind(&meta) {
            return Err(special_refused(root, &shown, what));
        }
        if !last && !meta.is_dir() {
            return Err(Problem::error(format!(
                "`{shown}` is a file, where tfw needs a directory"
            ))
            .at(&path, None));
        }
        if last {
            if meta.is_dir() {
                return Err(Problem::error(format!(
                    "`{shown}` is a directory, where the template has a file"
                ))
                .at(&path, None)
                .hint(format!("move `{shown}` away, then run the command again")));
            }
            return Ok(Some(meta));
        }
    }
    Ok(None)
}

/// Opens a regular file without following a link and without blocking on a FIFO that
/// appeared since the check, then makes sure it is still a regular file.
fn open_regular(path: &Path, shown: &str, root: &Path) -> Result<File, Problem> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| Problem::error(format!("cannot read `{shown}`: {err}")).at(path, None))?;
    let meta = file
        .metadata()
        .map_err(|err| Problem::error(format!("cannot read `{shown}`: {err}")).at(path, None))?;
    if !meta.is_file() {
        return Err(special_refused(
            root,
            shown,
            kind(&meta).unwrap_or("not a file"),
        ));
    }
    Ok(file)
}

/// Reads the file at `rel` (relative, `/`-separated) inside `root`, refusing symlinks and
/// special files anywhere on the way.
pub(crate) fn read(root: &Path, rel: &str) -> Result<Found, Problem> {
    let Some(meta) = walk(root, rel)? else {
        return Ok(Found::Missing);
    };
    let path = root.join(rel);
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    open_regular(&path, rel, root)?
        .read_to_end(&mut bytes)
        .map_err(|err| Problem::error(format!("cannot read `{rel}`: {err}")).at(&path, None))?;
    Ok(Found::File {
        bytes,
        executable: meta.permissions().mode() & 0o111 != 0,
    })
}

/// Whether some component of `rel` is a symlink (what `--replace-symlinks` would replace).
pub(crate) fn has_symlink(root: &Path, rel: &str) -> bool {
    crate::fsutil::first_symlink(root, &root.join(rel)).is_some()
}

/// Makes `rel` safe to write, rename or remove: every existing component a real directory,
/// the last one a regular file or missing. With `replace_symlinks`, symlinks on the way are
/// removed (the link only, never its target) so that real files and directories take their
/// place.
pub(crate) fn prepare(root: &Path, rel: &str, replace_symlinks: bool) -> Result<(), Problem> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut path = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let shown = parts[..=i].join("/");
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Ok(());
        };
        if meta.file_type().is_symlink() {
            if !replace_symlinks {
                return Err(symlink_refused(root, &shown, &path));
            }
            std::fs::remove_file(&path).map_err(|err| {
                Problem::error(format!("cannot remove the symbolic link `{shown}`: {err}"))
                    .at(&path, None)
            })?;
            return Ok(());
        }
        if let Some(what) = kind(&meta) {
            return Err(special_refused(root, &shown, what));
        }
    }
    Ok(())
}

/// A template directory's file, read only if it resolves inside the template: a symlink
/// within the template is fine, one leading out of it (`~/.gitconfig`) is refused.
pub(crate) fn read_in_template(root: &Path, rel: &str) -> Result<Option<Found>, Problem> {
    let path = root.join(rel);
    let shown = root.join(rel).display().to_string();
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let real: PathBuf = match std::fs::canonicalize(&path) {
        Ok(real) => real,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(Problem::error(format!("cannot read `{shown}`: {err}")).at(&path, None));
        }
    };
    if !real.starts_with(&real_root) {
        return Err(Problem::error(format!(
            "the template file `{rel}` resolves to `{}`, outside the template",
            real.display()
        ))
        .at(&path, None)
        .hint("a template may only use its own files: copy the file into the template"));
    }
    let meta = std::fs::metadata(&real)
        .map_err(|err| Problem::error(format!("cannot read `{shown}`: {err}")).at(&path, None))?;
    if let Some(what) = kind(&meta) {
        return Err(special_refused(root, rel, what));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    open_regular(&real, rel, root)?
        .read_to_end(&mut bytes)
        .map_err(|err| Problem::error(format!("cannot read `{shown}`: {err}")).at(&path, None))?;
    Ok(Some(Found::File {
        bytes,
        executable: meta.permissions().mode() & 0o111 != 0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_and_fifos_are_refused_without_being_opened() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("real"), "x").unwrap();
        symlink("real", root.join("link")).unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        symlink(root.join("d"), root.join("dlink")).unwrap();
        let fifo = std::ffi::CString::new(root.join("fifo").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        assert!(matches!(read(root, "real").unwrap(), Found::File { .. }));
        assert!(matches!(read(root, "nope/x").unwrap(), Found::Missing));
        for bad in ["link", "dlink/x", "fifo"] {
            let problem = read(root, bad).unwrap_err();
            assert!(problem.message.contains('`'), "{problem}");
        }
        assert!(prepare(root, "link", false).is_err());
        prepare(root, "link", true).unwrap();
        assert!(!root.join("link").exists() && root.join("real").exists());
        assert!(prepare(root, "fifo", true).is_err());
        let _socket = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
        let problem = read(root, "sock").unwrap_err();
        assert!(problem.message.contains("is a socket"), "{problem}");
        let problem = read(Path::new("/dev"), "null").unwrap_err();
        assert!(problem.message.contains("is a device"), "{problem}");
    }

    #[test]
    fn template_files_stay_inside_the_template() {
        let dir = tempfile::tempdir().unwrap();
        let tpl = dir.path().join("tpl");
        std::fs::create_dir(&tpl).unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::fs::write(tpl.join("a"), "a").unwrap();
        symlink("a", tpl.join("inside")).unwrap();
        symlink(dir.path().join("secret"), tpl.join("outside")).unwrap();
        assert!(read_in_template(&tpl, "inside").unwrap().is_some());
        assert!(read_in_template(&tpl, "missing").unwrap().is_none());
        let problem = read_in_template(&tpl, "outside").unwrap_err();
        assert!(
            problem.message.contains("outside the template"),
            "{problem}"
        );
    }
}
