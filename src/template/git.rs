//! The `git` command line, for what templates need from git: a bare mirror of a template
//! repository in the user's cache (cloned once, fetched when a ref may have moved), a ref
//! resolved to a commit once per command, the files of that commit read in one `cat-file
//! --batch`, and the one `git status` that tells whether a sync would overwrite uncommitted work.
//! The CLI rather than a library: it uses the developer's own credentials, config and proxies.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::manifest::SourceFile;
use crate::fsutil::sha256_hex;
use crate::problem::Problem;

/// `git`, never prompting and taking paths literally (also what `--changed` runs).
pub(crate) fn git() -> Command {
    let mut command = Command::new("git");
    // Never wait for a password prompt nobody sees; never treat a path as pathspec magic.
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .arg("--literal-pathspecs")
        .stdin(Stdio::null());
    command
}

fn output(mut command: Command) -> Result<Output, Problem> {
    command.output().map_err(|err| {
        Problem::error(format!("cannot run git: {err}"))
            .hint("install git: template sources and `tfw sync` use it")
    })
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_string()
}

/// A full commit id: once present in the mirror, it can never move, so no fetch is needed.
fn is_full_commit(reference: &str) -> bool {
    reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Clones (once) or fetches the mirror of `url` under `cache`, and resolves `reference`
/// (default: the remote's HEAD) to a commit. Returns the mirror and the commit.
pub(crate) fn fetch(
    url: &str,
    shown: &str,
    reference: Option<&str>,
    cache: &Path,
) -> Result<(PathBuf, String), Problem> {
    let mirror = cache.join(format!("{}.git", &sha256_hex(url.as_bytes())[..16]));
    let wanted = reference.unwrap_or("HEAD");
    let fetch_failed = |output: &Output| {
        Problem::error(format!(
            "cannot fetch the template repository `{shown}`: {}",
            stderr_of(output)
        ))
        .hint(format!(
            "check the URL and your access: `git ls-remote {shown}`"
        ))
    };
    if !mirror.join("HEAD").is_file() {
        std::fs::create_dir_all(cache).map_err(|err| {
            Problem::error(format!(
                "cannot create the template cache `{}`: {err}",
                cache.display()
            ))
        })?;
        let temp = tempfile::Builder::new()
            .prefix(".clone-")
            .tempdir_in(cache)
            .map_err(|err| Problem::error(format!("cannot use the template cache: {err}")))?;
        let target = temp.path().join("mirror.git");
        let mut clone = git();
        clone
            .args(["clone", "--bare", "--quiet", "--", url])
            .arg(&target);
        let out = output(clone)?;
        if !out.status.success() {
            return Err(fetch_failed(&out));
        }
        // Another tfw may have won the race; its mirror is as good as ours.
        if std::fs::rename(&target, &mirror).is_err() && !mirror.join("HEAD").is_file() {
            return Err(Problem::error(format!(
                "cannot move the template clone into `{}`",
                mirror.display()
            )));
        }
    } else if !(is_full_commit(wanted) && rev_parse(&mirror, wanted).is_some()) {
        let mut fetch = git();
        fetch.arg("--git-dir").arg(&mirror).args([
            "fetch",
            "--quiet",
            "--prune",
            "--force",
            "origin",
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ]);
        let out = output(fetch)?;
        if !out.status.success() {
            return Err(fetch_failed(&out));
        }
    }
    let commit = rev_parse(&mirror, wanted).ok_or_else(|| {
        Problem::error(format!(
            "the template repository `{shown}` has no branch, tag or commit `{wanted}`"
        ))
        .hint(format!(
            "`git ls-remote {shown}` lists its branches and tags"
        ))
    })?;
    Ok((mirror, commit))
}

fn rev_parse(git_dir: &Path, reference: &str) -> Option<String> {
    let mut command = git();
    command
        .arg("--git-dir")
        .arg(git_dir)
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{reference}^{{commit}}"));
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Each path's mode at `commit` (`100644`, `100755`, `120000` for a symlink...), in one
/// `git ls-tree`.
fn modes(git_dir: &Path, commit: &str, paths: &[String]) -> Result<Vec<Option<String>>, Problem> {
    let mut command = git();
    command
        .arg("--git-dir")
        .arg(git_dir)
        .args(["ls-tree", "-z", "--full-tree", commit, "--"])
        .args(paths);
    let out = output(command)?;
    if !out.status.success() {
        return Err(Problem::error(format!(
            "cannot read the template from git: {}",
            stderr_of(&out)
        )));
    }
    let mut found = std::collections::HashMap::new();
    for item in out.stdout.split(|&b| b == 0).filter(|i| !i.is_empty()) {
        let item = String::from_utf8_lossy(item);
        if let Some((meta, path)) = item.split_once('\t') {
            let mode = meta.split(' ').next().unwrap_or_default().to_string();
            found.insert(path.to_string(), mode);
        }
    }
    Ok(paths.iter().map(|p| found.get(p).cloned()).collect())
}

/// The blobs at `commit:path` for each path with their exec bit (`None` when missing or not
/// a file), in one `cat-file`. A symlink in the template is refused: its blob is the link's
/// target, which is not the file the manifest means.
pub(crate) fn read_files(
    git_dir: &Path,
    commit: &str,
    paths: &[String],
) -> Result<Vec<Option<SourceFile>>, Problem> {
    let modes = modes(git_dir, commit, paths)?;
    if let Some((path, _)) = paths
        .iter()
        .zip(&modes)
        .find(|(_, mode)| mode.as_deref() == Some("120000"))
    {
        return Err(Problem::error(format!(
            "the template file `{path}` is a symbolic link: tfw reads only regular files from a template"
        ))
        .hint("commit the file itself in the template instead of a link"));
    }
    let blobs = read_blobs(git_dir, commit, paths)?;
    Ok(blobs
        .into_iter()
        .zip(modes)
        .map(|(blob, mode)| blob.map(|bytes| (bytes, mode.as_deref() == Some("100755"))))
        .collect())
}

fn read_blobs(
    git_dir: &Path,
    commit: &str,
    paths: &[String],
) -> Result<Vec<Option<Vec<u8>>>, Problem> {
    let mut command = git();
    command
        .arg("--git-dir")
        .arg(git_dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|err| Problem::error(format!("cannot run git: {err}")))?;
    let mut input = String::new();
    for path in paths {
        input.push_str(&format!("{commit}:{path}\n"));
    }
    // The input is a few short lines: it fits the pipe, so writing it all first cannot block.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|err| Problem::error(format!("cannot read the template from git: {err}")))?;
    if !out.status.success() {
        return Err(Problem::error(format!(
            "cannot read the template from git: {}",
            stderr_of(&out)
        )));
    }
    parse_batch(&out.stdout, paths.len()).ok_or_else(|| {
        Problem::error("cannot read the template from git: unexpected `git cat-file` output")
    })
}

fn parse_batch(mut bytes: &[u8], count: usize) -> Option<Vec<Option<Vec<u8>>>> {
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        let end = bytes.iter().position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&bytes[..end]).ok()?;
        bytes = &bytes[end + 1..];
        let fields: Vec<&str> = header.split(' ').collect();
        match fields.as_slice() {
            [_, kind, size] => {
                let size: usize = size.parse().ok()?;
                let body = bytes.get(..size)?;
                files.push((*kind == "blob").then(|| body.to_vec()));
                bytes = bytes.get(size + 1..)?;
            }
            _ => files.push(None),
        }
    }
    Some(files)
}

/// Paths among `paths` with uncommitted changes; `None` outside a git work tree.
pub(crate) fn dirty(repo: &Path, paths: &[String]) -> Option<Vec<String>> {
    if paths.is_empty() {
        return Some(Vec::new());
    }
    let mut command = git();
    command
        .arg("-C")
        .arg(repo)
        .args(["status", "--porcelain=v1", "-z", "--"])
        .args(paths)
        .stderr(Stdio::null());
    let out = command.output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut dirty = Vec::new();
    let mut items = out
        .stdout
        .split(|&b| b == 0)
        .filter(|item| !item.is_empty());
    while let Some(item) = items.next() {
        if item.len() < 4 {
            continue;
        }
        dirty.push(String::from_utf8_lossy(&item[3..]).into_owned());
        // A rename's origin follows as its own item.
        if matches!(item[0], b'R' | b'C') {
            items.next();
        }
    }
    Some(dirty)
}

/// Which of `paths` git ignores (tracked files never are: git can bring those back).
pub(crate) fn ignored(repo: &Path, paths: &[String]) -> std::collections::BTreeSet<String> {
    if paths.is_empty() {
        return Default::default();
    }
    // Not `git()`: check-ignore refuses `--literal-pathspecs` (paths on stdin are literal).
    let mut command = Command::new("git");
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .arg("-C")
        .arg(repo)
        .args(["check-ignore", "-z", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let Ok(mut child) = command.spawn() else {
        return Default::default();
    };
    let input: Vec<u8> = paths
        .iter()
        .flat_map(|p| [p.as_bytes(), b"\0"].concat())
        .collect();
    // A few short paths: they fit the pipe, so writing them all first cannot block.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input);
    }
    let Ok(out) = child.wait_with_output() else {
        return Default::default();
    };
    out.stdout
        .split(|&b| b == 0)
        .filter(|item| !item.is_empty())
        .map(|item| String::from_utf8_lossy(item).into_owned())
        .collect()
}

/// The `origin` remote of the checkout at `dir`, if it has one.
pub(crate) fn origin_url(dir: &Path) -> Option<String> {
    let mut command = git();
    command
        .arg("-C")
        .arg(dir)
        .args(["config", "--get", "remote.origin.url"])
        .stderr(Stdio::null());
    let out = command.output().ok()?;
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !url.is_empty()).then_some(url)
}

/// `git init` for a new repository (not inside an existing work tree: a monorepo keeps its
/// one repository); the reason when git could not do it.
pub(crate) fn init(dir: &Path) -> Result<(), String> {
    let mut inside = git();
    inside
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--is-inside-work-tree"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if inside.status().is_ok_and(|status| status.success()) {
        return Ok(());
    }
    let mut command = git();
    command.args(["init", "--quiet"]).arg(dir);
    match command.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(stderr_of(&out)),
        Err(err) => Err(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_output_with_missing_and_binary() {
        let out = b"abc blob 3\nhi\n\nx:missing missing\ndef blob 2\n\0\x01\n";
        assert_eq!(
            parse_batch(out, 3).unwrap(),
            vec![Some(b"hi\n".to_vec()), None, Some(vec![0, 1])]
        );
        assert!(parse_batch(b"abc blob 10\nshort", 1).is_none());
    }

    #[test]
    fn full_commits() {
        assert!(is_full_commit(&"a".repeat(40)));
        assert!(!is_full_commit("v1.2"));
    }
}
