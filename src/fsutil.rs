//! Writing files so that nothing is ever torn: every file tfw writes (`.env` edits, the template
//! lock, plans' metadata, backups) goes to a temporary file in the same directory, is flushed to
//! disk, then renamed over the target. A kill -9 at any point leaves the old or the new file.
//!
//! The one place of tfw's file-system safety rules, since every command writes through here:
//! nothing is written through a symbolic link (not even a `.env` linked from elsewhere: the
//! write would land outside the repository, in `/dev/null`, or wherever a dangling link
//! names), nothing replaces a directory, FIFO or device, and a file with other hard links is
//! refused rather than silently split from them by the rename. Files tfw only reads (`.env`)
//! are read without blocking on a FIFO and only when regular, so no command hangs on one.
//!
//! Residual risk, by choice: the checks and the write are separate system calls, so someone
//! who can write to the repository could swap a folder for a link in between. Such a person
//! can already edit `.env` and the `*.tf` files terraform runs; the checks are there against
//! accidents and committed links, not against the owner's own account.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `contents` to `path` atomically. An existing file keeps its permissions; a new one
/// gets `new_mode`.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], new_mode: u32) -> Result<()> {
    replace(path, contents, new_mode, true)
}

/// `write_atomic` without the flush, for files whose loss in a power cut only makes tfw redo
/// some work (a saved plan's metadata: terraform does not flush the plan file either). Still
/// never torn on a running system. A flush costs 0.2-0.5 ms on an idle disk and tens of ms
/// on a busy one: too much for `tfw plan`'s hot path (profiled, see docs/benchmarks.md).
pub(crate) fn write_atomic_unflushed(path: &Path, contents: &[u8], new_mode: u32) -> Result<()> {
    replace(path, contents, new_mode, false)
}

fn replace(path: &Path, contents: &[u8], new_mode: u32, flush: bool) -> Result<()> {
    replaceable(path)?;
    no_symlinked_tfw_folder(path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mode = match fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(_) => new_mode,
    };
    // Named after the file, so a temporary file a kill -9 leaves behind falls under the same
    // ignore rules: `.env.tfw-tmp-*` (it holds the token) is matched by `.env.*`,
    // `x.tfstate.tfw-tmp-*` by `*.tfstate.*` (found by tests/file_safety.rs).
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = if name.starts_with('.') {
        format!("{name}{}", crate::layout::TEMP_MARK)
    } else {
        format!(".{name}{}", crate::layout::TEMP_MARK)
    };
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in `{}`", dir.display()))?;
    // Permissions first, so the content never exists on disk with looser ones.
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .context("cannot set permissions on a temporary file")?;
    let (first, rest) = contents.split_at(contents.len() / 2);
    temp.write_all(first)
        .and_then(|()| {
            fault_point("mid-write", path);
            temp.write_all(rest)
        })
        .and_then(|()| match flush {
            true => temp.as_file().sync_all(),
            false => Ok(()),
        })
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    fault_point("before-rename", path);
    temp.persist(path)
        .with_context(|| format!("cannot replace `{}`", path.display()))?;
    fault_point("after-rename", path);
    if flush {
        // The rename itself reaches the disk with the directory.
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

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

/// Test hook: `TFW_TEST_ABORT_AT=<point>[:<end of the path>]` kills the process at that point
/// (`mid-write`, `before-rename`, `after-rename`), as a kill -9 would, while writing any file
/// or the one named; tests/file_safety.rs shows no torn file is ever left behind.
pub(crate) fn fault_point(point: &str, path: &Path) {
    let Ok(wanted) = std::env::var("TFW_TEST_ABORT_AT") else {
        return;
    };
    let (wanted, file) = wanted.split_once(':').unwrap_or((&wanted, ""));
    if wanted == point && path.to_string_lossy().ends_with(file) {
        std::process::abort();
    }
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

/// Creates `dir` and its missing parents as 0700, whatever the umask, and narrows `dir` and
/// its parents below `.tfw` when someone widened them: the folders that hold states, plans
/// and `.env` copies (`.tfw/plans`, `.tfw/backups/<state>`, `.tfw/env-backups`) are the
/// owner's alone, so a file terraform creates in them with its umask's 0644 is never
/// readable by others, not even for the moment before tfw narrows it. (`.tfw` itself also
/// holds the committed `template.lock`: an existing one is left as it is.)
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    no_symlinked_tfw_folder(&dir.join("_"))?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))?;
    let below_tfw = dir
        .components()
        .any(|c| c.as_os_str() == crate::layout::DIR);
    for folder in dir.ancestors() {
        if folder.file_name().is_some_and(|n| n == crate::layout::DIR) {
            break;
        }
        narrow(folder, 0o700);
        if !below_tfw {
            break;
        }
    }
    Ok(())
}

/// Takes group and other permissions away from `path` if it has any (not following a
/// symlink); returns the mode it had when it changed.
pub(crate) fn narrow(path: &Path, wanted: u32) -> Option<u32> {
    let meta = fs::symlink_metadata(path).ok()?;
    let mode = meta.permissions().mode() & 0o7777;
    if meta.file_type().is_symlink() || mode & 0o077 == 0 {
        return None;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(wanted)).ok()?;
    Some(mode)
}

/// sha256 of some bytes, hex encoded.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_existing_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

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
            let err = write_atomic(path, b"A=2\n", 0o644).unwrap_err();
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
    fn private_dirs_are_0700_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let backups = dir.path().join(".tfw/backups/dev");
        private_dir(&backups).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&backups), 0o700);
        assert_eq!(mode(&dir.path().join(".tfw")), 0o700);
        fs::set_permissions(dir.path().join(".tfw"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&backups, fs::Permissions::from_mode(0o775)).unwrap();
        fs::set_permissions(
            dir.path().join(".tfw/backups"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        private_dir(&backups).unwrap();
        assert_eq!(mode(&backups), 0o700);
        assert_eq!(mode(&dir.path().join(".tfw/backups")), 0o700);
        assert_eq!(
            mode(&dir.path().join(".tfw")),
            0o755,
            "an existing `.tfw` is left alone"
        );
    }

    #[test]
    fn new_file_gets_new_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/f");
        write_atomic(&path, b"x", 0o600).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
