//! A project's files on one branch, read over GitLab's API as `template::files::Fetched`
//! (what `Files::Fetched` plans and checks over): the tree of each folder holding a managed
//! path (one call each, usually one or two, which also says what is a symbolic link: tfw
//! refuses those at a managed path, as on disk), then the raw bytes of each managed path
//! that is there. No clone, nothing written.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::api::{Api, Failure};
use crate::backend::encode_segment;
use crate::layout::TEMPLATE_LOCK;
use crate::template::files::Fetched;

#[derive(Deserialize)]
struct TreeEntry {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    mode: String,
}

/// A 404 about the file, folder or ref, not about the project.
fn not_there(failure: &Failure) -> bool {
    matches!(failure, Failure::Status { code: 404, body } if !body.contains("Project Not Found"))
}

fn raw_url(api: &Api, project: u64, path: &str, reference: &str) -> String {
    api.url(&format!(
        "/projects/{project}/repository/files/{}/raw?ref={}",
        encode_segment(path),
        encode_segment(reference)
    ))
}

/// The committed lock on `reference`: `None` when there is none (no such file, or no such
/// commit: an empty repository).
pub(crate) fn read_lock(
    api: &Api,
    project: u64,
    reference: &str,
) -> Result<Option<Vec<u8>>, Failure> {
    match api.get(&raw_url(api, project, TEMPLATE_LOCK, reference)) {
        Ok(answer) => Ok(Some(answer.body)),
        Err(failure) if not_there(&failure) => Ok(None),
        Err(failure) => Err(failure),
    }
}

/// What is at each of `paths` on `reference` (a path absent from the map is absent there;
/// a folder where a file was expected counts as absent).
pub(crate) fn fetch(
    api: &Api,
    project: u64,
    reference: &str,
    paths: &BTreeSet<String>,
) -> Result<BTreeMap<String, Fetched>, Failure> {
    let folders: BTreeSet<&str> = paths
        .iter()
        .map(|p| p.rsplit_once('/').map_or("", |(dir, _)| dir))
        .collect();
    let mut listed: BTreeMap<String, TreeEntry> = BTreeMap::new();
    for folder in folders {
        let url = api.url(&format!(
            "/projects/{project}/repository/tree?path={}&ref={}&per_page=100",
            encode_segment(folder),
            encode_segment(reference)
        ));
        // A folder that is not there holds nothing (`404 Tree Not Found`).
        let entries: Vec<TreeEntry> = match api.get_all(&url) {
            Ok(entries) => entries,
            Err(failure) if not_there(&failure) => continue,
            Err(failure) => return Err(failure),
        };
        for entry in entries.into_iter().filter(|e| paths.contains(&e.path)) {
            listed.insert(entry.path.clone(), entry);
        }
    }
    let mut files = BTreeMap::new();
    // Folders and submodules (`tree`, `commit`) are no file tfw could have written.
    for (path, entry) in listed.into_iter().filter(|(_, e)| e.kind == "blob") {
        // A link's raw bytes are its target, which the refusal names.
        let bytes = match api.get(&raw_url(api, project, &path, reference)) {
            Ok(answer) => answer.body,
            // Gone between the two calls: a push landed; it is not there now.
            Err(failure) if not_there(&failure) => continue,
            Err(failure) => return Err(failure),
        };
        let fetched = Fetched {
            bytes,
            executable: entry.mode == "100755",
            symlink: entry.mode == "120000",
        };
        files.insert(path, fetched);
    }
    Ok(files)
}
