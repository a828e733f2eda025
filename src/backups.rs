//! Local copies of the remote state taken before every apply and destroy, so no state is ever
//! lost: `.tfw/backups/<state>/<serial>-<time>.tfstate`, mode 0600 in 0700 folders (a state
//! holds secrets),
//! git-ignored, pruned by count but never the newest.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Result;

use crate::backend::file_name;

pub(crate) fn dir_for(dir: &Path, state: &str) -> PathBuf {
    crate::layout::backups(dir).join(file_name(state))
}

/// Serial of a state document, if it has one.
pub(crate) fn serial_of(bytes: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()?
        .get("serial")?
        .as_u64()
}

pub(crate) fn save(dir: &Path, state: &str, bytes: &[u8], keep: usize) -> Result<PathBuf> {
    let folder = dir_for(dir, state);
    let serial = serial_of(bytes).unwrap_or(0);
    let time = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    let mut path = folder.join(format!("{serial:010}-{time}.tfstate"));
    let mut n = 1;
    while path.exists() {
        path = folder.join(format!("{serial:010}-{time}-{n}.tfstate"));
        n += 1;
    }
    crate::fsutil::private_dir(&folder)?;
    crate::fsutil::write_atomic(&path, bytes, 0o600)?;
    prune(&folder, keep);
    Ok(path)
}

pub(crate) fn list(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "tfstate"))
                .collect()
        })
        .unwrap_or_default();
    // Names start with the zero-padded serial then the time: sorting them sorts by age.
    files.sort();
    files
}

fn prune(folder: &Path, keep: usize) {
    let files = list(folder);
    let keep = keep.max(1);
    if files.len() > keep {
        for old in &files[..files.len() - keep] {
            let _ = std::fs::remove_file(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunes_but_keeps_newest() {
        let dir = tempfile::tempdir().unwrap();
        for serial in 1..=5 {
            save(
                dir.path(),
                "dev",
                format!("{{\"serial\":{serial}}}").as_bytes(),
                2,
            )
            .unwrap();
        }
        let folder = dir_for(dir.path(), "dev");
        let files = list(&folder);
        assert_eq!(files.len(), 2);
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(folder.parent().unwrap()), 0o700);
        assert_eq!(mode(&files[0]), 0o600);
        assert!(files[1].to_string_lossy().contains("0000000005-"));
    }
}
