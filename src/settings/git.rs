//! Whether `.env` is tracked or ignored by git, asked as cheaply as possible (the index's
//! identity is cached, since `git ls-files` reads the whole index).

use std::path::{Path, PathBuf};

use super::Settings;
use crate::problem::Problem;

impl Settings {
    /// Is `.env` tracked by git (the token in the repository)? Checked by every command that
    /// uses the token; outside a work tree git fails and that is fine.
    /// The shared `.env` files of parent folders count as much as the working directory's.
    pub(crate) fn git_tracked_problem(&self) -> Option<Problem> {
        let dotenv = self.dotenv.as_ref()?;
        let file = dotenv.files().find(|file| self.env_file_tracked(file))?;
        let name = file.file_name()?.to_string_lossy().into_owned();
        Some(
            Problem::error(format!(
                "{name} is tracked by git: your token is in the repository"
            ))
            .at(file, None)
            .hint(format!(
                "run `git rm --cached {name}`, add it to .gitignore, and revoke the token"
            )),
        )
    }

    /// Is `.env` left out of `.gitignore`? A warning, checked by `doctor` and `init`.
    pub(crate) fn git_ignored_problem(&self) -> Option<Problem> {
        self.dotenv.as_ref()?;
        if matches!(self.git_index(&self.env_file), Some(GitIndex::NoRepository)) {
            return None;
        }
        // One git process: check-ignore says 0 ignored, 1 not ignored, 128 not a work tree.
        let name = self.env_file_name();
        if self.git(&self.env_file, &["check-ignore", "-q", "--", &name]) != Some(1) {
            return None;
        }
        Some(
            Problem::warning(format!("{name} is not ignored by git"))
                .at(&self.env_file, None)
                .hint(format!(
                    "add `{name}` to .gitignore (`tfw sync` manages that block)"
                )),
        )
    }

    /// `git ls-files --error-unmatch`, asked only when git's index changed since the last
    /// answer (profiled: that process was most of tfw's own time in `tfw plan` and `tfw env`;
    /// it reads the whole index, so it grows with the repository). The answer depends on the
    /// index alone, so the cache is keyed by the index file's identity.
    fn env_file_tracked(&self, file: &Path) -> bool {
        let Some(name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return false;
        };
        let ask = || self.git(file, &["ls-files", "--error-unmatch", "--", &name]) == Some(0);
        let index = match self.git_index(file) {
            Some(GitIndex::NoRepository) => return false,
            Some(GitIndex::At(index)) => index,
            None => return ask(),
        };
        // Nothing is tracked before the first `git add` creates the index.
        if !index.exists() {
            return false;
        }
        let Some(identity) = crate::cache::file_key(&index) else {
            return ask();
        };
        let owner = format!("{}|", file.display());
        let key = format!("{owner}{identity}");
        if let Some(tracked) = crate::cache::get(GIT_CACHE, &key) {
            return tracked;
        }
        let tracked = ask();
        crate::cache::put(GIT_CACHE, &owner, key, tracked);
        tracked
    }

    /// Where git keeps the index for the `.env` folder, found as git finds it (the nearest
    /// `.git` folder, or `.git` file of a worktree or submodule) without starting git.
    /// `None` when that cannot be told here: variables that move git's files elsewhere, or
    /// an unreadable `.git` file.
    fn git_index(&self, file: &Path) -> Option<GitIndex> {
        if ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"]
            .iter()
            .any(|key| self.env.contains_key(*key))
        {
            return None;
        }
        let start = std::fs::canonicalize(file.parent()?).ok()?;
        for dir in start.ancestors() {
            let dot_git = dir.join(".git");
            if dot_git.is_dir() {
                return Some(GitIndex::At(dot_git.join("index")));
            }
            if dot_git.is_file() {
                let text = std::fs::read_to_string(&dot_git).ok()?;
                let git_dir = text.lines().next()?.strip_prefix("gitdir:")?.trim();
                return Some(GitIndex::At(dir.join(git_dir).join("index")));
            }
        }
        Some(GitIndex::NoRepository)
    }

    fn git(&self, file: &Path, args: &[&str]) -> Option<i32> {
        let parent = file.parent()?;
        // The environment the settings were read from (the process's, in tfw), so what git
        // is told is what the settings say.
        std::process::Command::new("git")
            .args(args)
            .envs(&self.env)
            .current_dir(parent)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()
            .and_then(|s| s.code())
    }
}

/// `$XDG_CACHE_HOME/tfw/git-tracked.json`: `.env` path + git index identity -> tracked.
const GIT_CACHE: &str = "git-tracked";

enum GitIndex {
    NoRepository,
    At(PathBuf),
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;
    use std::process::Command;

    use super::super::Settings;
    use super::GitIndex;

    fn settings(dir: &Path, env: &[(&str, &str)]) -> Settings {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>();
        Settings::load_in(dir.to_path_buf(), None, None, env, false)
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn the_index_is_found_as_git_finds_it() {
        let temp = tempfile::tempdir().unwrap();
        let repo = std::fs::canonicalize(temp.path()).unwrap();
        std::fs::create_dir_all(repo.join("main/.git")).unwrap();
        std::fs::create_dir_all(repo.join("main/envs/prod")).unwrap();
        let env_file = repo.join("main/envs/prod/.env");
        let found = settings(&repo, &[]).git_index(&env_file);
        assert!(matches!(found, Some(GitIndex::At(i)) if i == repo.join("main/.git/index")));
        // A worktree's `.git` is a file naming its git directory.
        std::fs::create_dir_all(repo.join("wt")).unwrap();
        std::fs::write(repo.join("wt/.git"), "gitdir: /somewhere/worktrees/wt\n").unwrap();
        let found = settings(&repo, &[]).git_index(&repo.join("wt/.env"));
        assert!(
            matches!(found, Some(GitIndex::At(i)) if i == Path::new("/somewhere/worktrees/wt/index"))
        );
        // Variables that move git's files: only git can say, so tfw asks it.
        let found = settings(&repo, &[("GIT_DIR", "/elsewhere")]).git_index(&env_file);
        assert!(found.is_none());
    }

    #[test]
    fn a_tracked_dotenv_is_an_error_and_an_untracked_one_is_not() {
        let temp = tempfile::tempdir().unwrap();
        let repo = temp.path();
        git(repo, &["init", "-q"]);
        std::fs::write(repo.join(".env"), "TF_HTTP_USERNAME=alice\n").unwrap();
        // The temporary folder is new, so no cached answer for its index can decide; the
        // caller's git configuration (a global excludes file naming `.env`) cannot either.
        let env = [
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ];
        assert!(settings(repo, &env).git_tracked_problem().is_none());
        let ignored = settings(repo, &env)
            .git_ignored_problem()
            .expect("not ignored");
        assert!(
            ignored.to_string().contains(".env is not ignored"),
            "{ignored}"
        );
        std::fs::write(repo.join(".gitignore"), ".env\n").unwrap();
        assert!(settings(repo, &env).git_ignored_problem().is_none());
        git(repo, &["add", "-f", ".env"]);
        let tracked = settings(repo, &env).git_tracked_problem().expect("tracked");
        assert!(
            tracked.is_error() && tracked.to_string().contains("tracked by git"),
            "{tracked}"
        );
    }
}
