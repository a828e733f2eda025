//! `--changed[=REF]`: the roots a change touches, so CI (and a person) plans only those.
//! A root is changed when a file below its folder changed (files of a nested root are
//! that root's), or a file of a local module it calls, directly or through other modules
//! (`local_modules.rs`). "Changed since REF" is everything between the merge base of REF
//! and HEAD and the work tree: the branch's commits, staged and unstaged edits, and new
//! files git does not ignore. Without REF, the default branch: `origin/HEAD`, else `origin/main`,
//! `origin/master`, `main`, `master`. git runs as a subprocess, as everywhere in tfw.

use std::path::Path;

use crate::problem::Problem;
use crate::repo::slash_path;
use crate::roots::Root;

/// What `--changed` compares against, resolved: the ref as given (or found) and the commit
/// the comparison starts from.
pub(crate) struct Since {
    pub reference: String,
    pub base: String,
    /// Every changed path, from the repository root, `/`-separated.
    pub files: Vec<String>,
}

/// Resolves REF (`None` or empty: the default branch) and lists the changed files.
pub(crate) fn since(repo: &Path, reference: Option<&str>) -> Result<Since, Problem> {
    if git(repo, &["rev-parse", "--is-inside-work-tree"]).is_err() {
        return Err(Problem::error(format!(
            "`--changed` compares git revisions, and `{}` is not in a git work tree",
            repo.display()
        ))
        .hint("run it in the repository, or select roots with `--roots GLOB`"));
    }
    let reference = match reference.filter(|r| !r.is_empty()) {
        // git would read it as one of its options, not as a revision.
        Some(reference) if reference.starts_with('-') => {
            return Err(Problem::error(format!(
                "`--changed={reference}`: a revision never starts with `-`"
            ))
            .hint("name a branch, tag or commit (`--changed=origin/main`)"));
        }
        Some(reference) => reference.to_string(),
        None => default_branch(repo)?,
    };
    let commit = format!("{reference}^{{commit}}");
    if git(repo, &["rev-parse", "--verify", "--quiet", &commit]).is_err() {
        return Err(Problem::error(format!(
            "`--changed={reference}`: git knows no such revision here"
        ))
        .hint("fetch it (`git fetch origin`), or name a branch, tag or commit git knows"));
    }
    let base = git(repo, &["merge-base", &reference, "HEAD"])
        .map(|out| out.trim().to_string())
        .map_err(|err| {
            Problem::error(format!(
                "`--changed={reference}`: no common history with HEAD ({err})"
            ))
            .hint("in a shallow clone, fetch more history (GitLab CI: `GIT_DEPTH: 0`, or `git fetch --unshallow`)")
        })?;
    let mut files = Vec::new();
    let diff = git(
        repo,
        &[
            "diff",
            "--name-only",
            "--no-renames",
            "-z",
            "--relative",
            &base,
            "--",
        ],
    )
    .map_err(|err| Problem::error(format!("`git diff` failed: {err}")))?;
    let untracked = git(
        repo,
        &[
            "ls-files",
            "--others",
            "--exclude-standard",
            "-z",
            "--",
            ".",
        ],
    )
    .map_err(|err| Problem::error(format!("`git ls-files` failed: {err}")))?;
    for name in diff.split('\0').chain(untracked.split('\0')) {
        if !name.is_empty() {
            files.push(name.to_string());
        }
    }
    files.sort();
    files.dedup();
    Ok(Since {
        reference,
        base,
        files,
    })
}

/// `origin/HEAD` (what the remote calls its default branch), else the usual names.
fn default_branch(repo: &Path) -> Result<String, Problem> {
    if let Ok(head) = git(
        repo,
        &[
            "symbolic-ref",
            "--quiet",
            "--short",
            "refs/remotes/origin/HEAD",
        ],
    ) {
        let head = head.trim();
        if !head.is_empty() {
            return Ok(head.to_string());
        }
    }
    for candidate in ["origin/main", "origin/master", "main", "master"] {
        let commit = format!("{candidate}^{{commit}}");
        if git(repo, &["rev-parse", "--verify", "--quiet", &commit]).is_ok() {
            return Ok(candidate.to_string());
        }
    }
    Err(Problem::error(
        "`--changed` cannot find the default branch: no `origin/HEAD`, `origin/main`, `origin/master`, `main` or `master`",
    )
    .hint("name what to compare with: `--changed=REF` (a branch, tag or commit), or run `git remote set-head origin --auto`"))
}

/// Why each root is changed (empty: it is not), in the roots' order.
pub(crate) fn reasons(roots: &[Root], repo: &Path, since: &Since) -> Vec<Vec<String>> {
    let inside =
        |file: &str, folder: &str| folder == "." || file.starts_with(&format!("{folder}/"));
    // A file belongs to the deepest root whose folder holds it.
    let owner = |file: &str| {
        roots
            .iter()
            .filter(|root| inside(file, &root.path))
            .max_by_key(|root| root.path.len())
            .map(|root| root.path.as_str())
    };
    roots
        .iter()
        .map(|root| {
            let mut why = Vec::new();
            let own: Vec<&str> = since
                .files
                .iter()
                .map(String::as_str)
                .filter(|file| owner(file) == Some(root.path.as_str()))
                .collect();
            if !own.is_empty() {
                why.push(format!("changed: {}", listed(&own)));
            }
            for (dir, chain) in crate::local_modules::called(&root.dir, repo) {
                let folder = slash_path(dir.strip_prefix(repo).unwrap_or(&dir));
                let touched: Vec<&str> = since
                    .files
                    .iter()
                    .map(String::as_str)
                    .filter(|file| inside(file, &folder))
                    .collect();
                if touched.is_empty() {
                    continue;
                }
                let via: Vec<String> = chain
                    .iter()
                    .map(|call| {
                        let file = call.file.strip_prefix(repo).unwrap_or(&call.file);
                        format!("{}:{}", slash_path(file), call.line)
                    })
                    .collect();
                why.push(format!(
                    "module `{folder}` (called at {}) changed: {}",
                    via.join(" → "),
                    listed(&touched)
                ));
            }
            why
        })
        .collect()
}

/// The first three, then "and N more".
fn listed(files: &[&str]) -> String {
    let mut text = files.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if files.len() > 3 {
        text.push_str(&format!(" and {} more", files.len() - 3));
    }
    text
}

/// git's stdout, or its stderr as the error: the templates' `git` (never prompts; paths
/// taken literally), and everything asked here is local.
fn git(repo: &Path, args: &[&str]) -> Result<String, String> {
    let out = crate::template::git::git()
        .args(args)
        .current_dir(repo)
        .output()
        .map_err(|err| format!("cannot run git: {err}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
