//! Answers that would otherwise cost a process start on every command (`terraform version`:
//! tens of ms; `git ls-files`: 1-5 ms, more in a big repository), kept in
//! `$XDG_CACHE_HOME/tfw/<name>.json` (else `~/.cache/tfw/`). Each answer is keyed by the
//! identity of the file it depends on (path, size, mtime, inode), so a changed file is a new
//! key and the program is asked again; a missing or unreadable cache only means asking.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// `path|size|mtime_ns|inode`: changes whenever the file is rewritten (in place or by rename).
pub(crate) fn file_key(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    Some(format!(
        "{}|{}|{mtime}|{}",
        path.display(),
        meta.len(),
        meta.ino()
    ))
}

/// The answer stored under `key` in the cache `name`.
pub(crate) fn get<T: DeserializeOwned>(name: &str, key: &str) -> Option<T> {
    load::<T>(&file(name)?).remove(key)
}

/// Stores an answer. Entries whose key starts with `owner` (older identities of the same
/// file) are dropped first, so the map never grows stale.
pub(crate) fn put<T: Serialize + DeserializeOwned>(name: &str, owner: &str, key: String, value: T) {
    let Some(path) = file(name) else { return };
    let mut map = load::<T>(&path);
    map.retain(|k, _| !k.starts_with(owner));
    map.insert(key, value);
    if let Ok(bytes) = serde_json::to_vec_pretty(&map) {
        let _ = crate::fsutil::write_atomic(&path, &bytes, 0o644);
    }
}

fn load<T: DeserializeOwned>(path: &Path) -> BTreeMap<String, T> {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn file(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("tfw").join(format!("{name}.json")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_when_the_file_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        std::fs::write(&path, "one").unwrap();
        let before = file_key(&path).unwrap();
        assert_eq!(file_key(&path).unwrap(), before);
        // Same size, replaced by rename as git does: another inode, so another key.
        let tmp = dir.path().join("index.lock");
        std::fs::write(&tmp, "two").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_ne!(file_key(&path).unwrap(), before);
        assert_eq!(file_key(&dir.path().join("missing")), None);
    }
}
