//! The file-system safety checks of `fsutil`, in one place: what may be replaced (no link,
//! no special file, no hard link), what may be read without hanging (regular files only),
//! and where a symbolic link sits on a path tfw is about to use.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::Result;

/// What a file that is not a regular file or a directory is, for messages.
pub(crate) fn special_kind(meta: &fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_symlink() {
        Some("a symbolic link")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_block_device() || t.is_char_device() {
        Some("a device")
    } else {
        None
    }
}

/// Refuses to replace `path` unless it is missing or a regular file of its own: a symbolic
/// link (whatever it points to, dangling too), a directory, a FIFO or a device, or a file with
/// other hard links (the rename would leave them holding the old contents). Nothing is
/// written when it refuses, and the message says what to do.
pub(crate) fn replaceable(path: &Path) -> Result<()> {
    use crate::problem::Problem;
    let shown = shown(path);
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(anyhow::anyhow!("cannot read `{shown}`: {err}")),
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        return Err(Problem::error(format!(
            "`{shown}` is a symbolic link to `{target}`: tfw writes nothing through a link, and nothing was changed"
        ))
        .hint(format!(
            "make the change in `{target}` yourself, or replace the link with a copy of the file (`cp --remove-destination {target} {shown}`) and run the command again"
        ))
        .into());
    }
    let what = special_kind(&meta).or(meta.is_dir().then_some("a directory"));
    if let Some(what) = what {
        return Err(Problem::error(format!(
            "`{shown}` is {what}, not a regular file: tfw replaces only regular files, and nothing was changed"
        ))
        .hint(format!("move `{shown}` away, then run the command again"))
        .into());
    }
    if meta.nlink() > 1 {
        return Err(Problem::error(format!(
            "`{shown}` has {} hard links: tfw writes a new file and renames it over the old one, which would leave the other names with the old contents; nothing was changed",
            meta.nlink()
        ))
        .hint(format!(
            "give it a file of its own (`cp -p {shown} {shown}.own && mv {shown}.own {shown}`), then run the command again"
        ))
        .into());
    }
    Ok(())
}

/// `read_regular` as UTF-8 text (committed files a repository may have linked to `/dev/zero`:
/// `tfw.toml`, `.terraform-version`; and tfw's own `.tfw/previous-state`).
pub(crate) fn read_regular_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_regular(path)?)
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))
}

/// The first folder or file from `base` down to `path` (`base` itself excluded) that is a
/// symbolic link: what tfw must neither follow nor remove there. `None` for a `path` outside
/// `base`, which callers never pass.
pub(crate) fn first_symlink(base: &Path, path: &Path) -> Option<std::path::PathBuf> {
    let mut walked = base.to_path_buf();
    for component in path.strip_prefix(base).ok()?.components() {
        walked.push(component);
        if fs::symlink_metadata(&walked).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Some(walked);
        }
    }
    None
}

/// `path` as messages show it: relative to the working directory when below it (`.env`).
fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Reads a file tfw only reads (`.env`, a shared one, `env.example`), following a link (a
/// `.env` shared from elsewhere is read, never written) but never blocking on a FIFO nor
/// reading a device (`/dev/zero` never ends): anything but a regular file is an
/// `InvalidInput` error saying what it is.
pub(crate) fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = special_kind(&meta).unwrap_or(if meta.is_dir() {
            "a directory"
        } else {
            "not a file"
        });
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Refuses a `.tfw` folder, or a folder below it on the way to `path`, that is a symbolic
/// link: plans and backups (states in clear), the run lock and `init.json` would be written
/// wherever the link points, outside the repository. Checked where tfw creates folders and
/// writes files, so every command that keeps something in `.tfw/` meets it.
pub(crate) fn no_symlinked_tfw_folder(path: &Path) -> Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let mut below_tfw = false;
    let mut walked = std::path::PathBuf::new();
    for component in parent.components() {
        walked.push(component);
        below_tfw |= component.as_os_str() == crate::layout::DIR;
        if below_tfw
            && fs::symlink_metadata(&walked).is_ok_and(|meta| meta.file_type().is_symlink())
        {
            return Err(crate::problem::Problem::error(format!(
                "`{}` is a symbolic link: tfw keeps plans, state backups and its run lock there, and writes nothing through a link",
                walked.display()
            ))
            .hint(format!(
                "remove the link (`rm {}`); tfw creates a real folder in its place",
                walked.display()
            ))
            .into());
        }
    }
    Ok(())
}

/// Opens the folder `dir` for `*at` calls. From a `.tfw` component down, each part is opened
/// with `O_NOFOLLOW` relative to the one before, so no link there is followed even if it
/// appeared after `no_symlinked_tfw_folder` looked. Above `.tfw` (where the repository is,
/// perhaps through the user's own links) the path is opened as given.
pub(super) fn open_dir(dir: &Path) -> std::io::Result<fs::File> {
    let directory = |path: &Path| {
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)
    };
    let parts: Vec<_> = dir.components().collect();
    let Some(at) = parts
        .iter()
        .position(|c| c.as_os_str() == crate::layout::DIR)
    else {
        return directory(dir);
    };
    let above: std::path::PathBuf = parts[..at].iter().collect();
    let mut folder = directory(if above.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &above
    })?;
    for part in &parts[at..] {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        folder = openat(&folder, part.as_os_str(), flags, 0)?;
    }
    Ok(folder)
}

fn c_name(name: &std::ffi::OsStr) -> std::io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(name.as_bytes())
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidInput, err))
}

fn openat(
    folder: &fs::File,
    name: &std::ffi::OsStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> std::io::Result<fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let name = c_name(name)?;
    // SAFETY: a valid directory descriptor and a NUL-terminated name; the new descriptor is
    // owned by the returned File alone.
    let fd = unsafe {
        libc::openat(
            folder.as_raw_fd(),
            name.as_ptr(),
            flags,
            mode as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is not owned elsewhere.
    Ok(unsafe { fs::File::from_raw_fd(fd) })
}

/// A temporary file made in an opened folder (`O_EXCL | O_NOFOLLOW`, mode set before any
/// content), removed unless renamed.
pub(super) struct Temp<'a> {
    folder: &'a fs::File,
    name: std::ffi::OsString,
    pub(super) file: fs::File,
    renamed: bool,
}

impl<'a> Temp<'a> {
    pub(super) fn create(folder: &'a fs::File, prefix: &str, mode: u32) -> std::io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            ^ std::process::id().rotate_left(16);
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        for attempt in 0u32..100 {
            let suffix = seed
                .wrapping_mul(2_654_435_761)
                .wrapping_add(attempt.wrapping_mul(40_503));
            let name = std::ffi::OsString::from(format!("{prefix}{suffix:08x}"));
            match openat(folder, &name, flags, 0o600) {
                Ok(file) => {
                    let temp = Self {
                        folder,
                        name,
                        file,
                        renamed: false,
                    };
                    // Permissions first, so the content never exists with looser ones.
                    temp.file
                        .set_permissions(fs::Permissions::from_mode(mode))?;
                    return Ok(temp);
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "no free temporary file name",
        ))
    }

    /// Renames the file over `target` in the same folder (a link there is replaced, never
    /// followed).
    pub(super) fn rename_to(mut self, target: &std::ffi::OsStr) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        let (from, to) = (c_name(&self.name)?, c_name(target)?);
        let fd = self.folder.as_raw_fd();
        // SAFETY: a valid directory descriptor and NUL-terminated names.
        if unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        if self.renamed {
            return;
        }
        if let Ok(name) = c_name(&self.name) {
            // SAFETY: a valid directory descriptor and a NUL-terminated name.
            unsafe { libc::unlinkat(self.folder.as_raw_fd(), name.as_ptr(), 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_links_special_files_and_hard_links_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("secrets/infra.env");
        fs::create_dir_all(real.parent().unwrap()).unwrap();
        fs::write(&real, "A=1\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink("secrets/infra.env", &link).unwrap();
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("nowhere/x", &dangling).unwrap();
        let null = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &null).unwrap();
        let hard = dir.path().join("hard");
        fs::hard_link(&real, &hard).unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        for (path, says) in [
            (&link, "is a symbolic link to `secrets/infra.env`"),
            (&dangling, "is a symbolic link to `nowhere/x`"),
            (&null, "is a symbolic link to `/dev/null`"),
            (&hard, "has 2 hard links"),
            (&sub, "is a directory"),
        ] {
            let err = super::super::write_atomic(path, b"A=2\n", 0o644).unwrap_err();
            assert!(format!("{err:#}").contains(says), "{err:#}");
        }
        assert_eq!(fs::read_to_string(&real).unwrap(), "A=1\n");
        assert!(!dir.path().join("nowhere").exists());
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 6, "no temporary file left: {names:?}");
    }

    #[test]
    fn reads_only_regular_files_and_never_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path this test owns.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        for (path, says) in [
            (fifo.as_path(), "a FIFO"),
            (&link, "a FIFO"),
            (dir.path(), "a directory"),
            (Path::new("/dev/zero"), "a device"),
        ] {
            let err = read_regular(path).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains(says), "{err}");
        }
        fs::write(dir.path().join("f"), "A=1\n").unwrap();
        std::os::unix::fs::symlink("f", dir.path().join("f-link")).unwrap();
        assert_eq!(read_regular(&dir.path().join("f-link")).unwrap(), b"A=1\n");
    }

    #[test]
    fn a_folder_swapped_for_a_link_below_tfw_is_never_opened_through() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        let repo = dir.path().join("repo");
        fs::create_dir_all(repo.join(".tfw")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, repo.join(".tfw/plans")).unwrap();
        let err = open_dir(&repo.join(".tfw/plans")).unwrap_err();
        // ENOTDIR on Linux (O_DIRECTORY is checked first), ELOOP elsewhere.
        assert!(
            matches!(err.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)),
            "{err}"
        );
        fs::remove_dir(repo.join(".tfw")).unwrap_err();
        fs::remove_file(repo.join(".tfw/plans")).unwrap();
        fs::remove_dir(repo.join(".tfw")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, repo.join(".tfw")).unwrap();
        assert!(open_dir(&repo.join(".tfw")).is_err());
        // Above `.tfw` the user's own links are fine, and a temporary file made there
        // disappears unless renamed.
        let linked = dir.path().join("linked");
        std::os::unix::fs::symlink(&repo, &linked).unwrap();
        let folder = open_dir(&linked).unwrap();
        let temp = Temp::create(&folder, ".x.tfw-tmp-", 0o600).unwrap();
        assert_eq!(fs::read_dir(&repo).unwrap().count(), 2);
        drop(temp);
        assert_eq!(fs::read_dir(&repo).unwrap().count(), 1);
        assert!(fs::read_dir(&elsewhere).unwrap().next().is_none());
    }
}
