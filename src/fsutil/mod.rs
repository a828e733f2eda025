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

mod checks;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

pub(crate) use checks::{
    first_symlink, no_symlinked_tfw_folder, read_regular, read_regular_text, replaceable,
    special_kind,
};

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
    // A signal waits for the rename: an exit before it left the temporary file behind.
    let _held = crate::runner::signals::hold();
    replaceable(path)?;
    no_symlinked_tfw_folder(path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    // Opened once, not following a link from `.tfw` down, and the temporary file is made and
    // renamed relative to it: a folder swapped for a link after the checks above makes this
    // fail instead of sending a state where the link points.
    let folder = checks::open_dir(dir)
        .with_context(|| format!("cannot open `{}` without following a link", dir.display()))?;
    let mode = match fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(_) => new_mode,
    };
    // Named after the file, so a temporary file a kill -9 leaves behind falls under the same
    // ignore rules: `.env.tfw-tmp-*` (it holds the token) is matched by `.env.*`,
    // `x.tfstate.tfw-tmp-*` by `*.tfstate.*` (found by tests/file_safety.rs).
    let name = path.file_name().unwrap_or_default();
    let shown_name = name.to_string_lossy();
    let prefix = if shown_name.starts_with('.') {
        format!("{shown_name}{}", crate::layout::TEMP_MARK)
    } else {
        format!(".{shown_name}{}", crate::layout::TEMP_MARK)
    };
    let mut temp = checks::Temp::create(&folder, &prefix, mode)
        .with_context(|| format!("cannot create a temporary file in `{}`", dir.display()))?;
    let (first, rest) = contents.split_at(contents.len() / 2);
    temp.file
        .write_all(first)
        .and_then(|()| {
            fault_point("mid-write", path);
            temp.file.write_all(rest)
        })
        .and_then(|()| match flush {
            true => temp.file.sync_all(),
            false => Ok(()),
        })
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    fault_point("before-rename", path);
    temp.rename_to(name)
        .with_context(|| format!("cannot replace `{}`", path.display()))?;
    fault_point("after-rename", path);
    if flush {
        // The rename itself reaches the disk with the directory.
        let _ = folder.sync_all();
    }
    Ok(())
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
