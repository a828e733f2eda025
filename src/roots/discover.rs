//! Finding a repository's roots without asking terraform: a folder is a root when one of its
//! `*.tf` / `*.tf.json` files declares `backend "http"`. Only those files' text is read, and
//! `modules/`, `.terraform/`, `.git/` and hidden folders are never entered, so a repository
//! of a thousand folders is walked in milliseconds (scripts/bench, docs/benchmarks.md).

use std::path::{Path, PathBuf};

use crate::session::rules::declares_http_backend;

/// Every folder below `base` (itself included) whose configuration keeps its state on
/// GitLab, sorted. Unreadable folders are skipped: a root tfw cannot read is not one it runs.
pub(crate) fn walk(base: &Path) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    let mut pending = vec![base.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut is_root = false;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // `file_type` comes from the directory entry: no extra stat, and links are
            // not followed (a link may point outside the repository).
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !skipped(&name) {
                    pending.push(entry.path());
                }
            } else if kind.is_file()
                && !is_root
                && (name.ends_with(".tf") || name.ends_with(".tf.json"))
                && let Ok(text) = std::fs::read_to_string(entry.path())
            {
                is_root = declares_http_backend(&name, &text);
            }
        }
        if is_root {
            roots.push(dir);
        }
    }
    roots.sort();
    roots
}

/// Folders that never hold a root: shared modules, terraform's and tfw's working files, git,
/// and anything hidden.
fn skipped(name: &str) -> bool {
    name.starts_with('.') || name == "modules" || name == "node_modules"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_roots_and_skips_modules_and_hidden_folders() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let backend = "terraform {\n  backend \"http\" {}\n}\n";
        write("envs/prod/main.tf", backend);
        write("envs/staging/backend.tf", backend);
        write("envs/staging/other.tf", "# nothing\n");
        write(
            "envs/local/main.tf",
            "terraform {\n  # backend \"http\" {}\n}\n",
        );
        write("modules/net/main.tf", backend);
        write("envs/prod/.terraform/modules/x/main.tf", backend);
        write(".hidden/main.tf", backend);
        write(
            "json/main.tf.json",
            r#"{"terraform": {"backend": {"http": {}}}}"#,
        );
        let found: Vec<String> = walk(dir.path())
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(found, ["envs/prod", "envs/staging", "json"]);
    }
}
