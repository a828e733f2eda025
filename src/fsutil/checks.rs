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
}
