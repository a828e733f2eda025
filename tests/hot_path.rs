//! Issue "Performance": what every command would otherwise pay for with a process start is
//! asked once and cached: `terraform version` until the binary changes, `git ls-files` until
//! git's index changes, and no git at all outside a repository. Counted, not timed: the
//! wrappers below log each call and then run the real program (a real binary cannot show
//! how often it was started).

use std::path::{Path, PathBuf};

use crate::support::{Sandbox, git};

/// A logging stand-in for `name` on the sandbox PATH that runs the real program.
pub(crate) fn counted(sandbox: &Sandbox, name: &str, real: &Path) -> PathBuf {
    let log = sandbox.home.path().join(format!("{name}.calls"));
    // The sandbox's terraform is a symlink to the shared real one: never write through it.
    let _ = std::fs::remove_file(sandbox.bin.join(name));
    sandbox.fake_binary(
        name,
        &format!(
            "echo \"$*\" >> '{}'\nexec '{}' \"$@\"",
            log.display(),
            real.display()
        ),
    );
    log
}

pub(crate) fn calls(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(needle))
        .count()
}

fn real_git() -> PathBuf {
    which::which("git").expect("git is installed")
}

#[test]
fn terraform_version_is_asked_once_per_binary() {
    let sandbox = Sandbox::new();
    let log = counted(&sandbox, "terraform", crate::support::terraform());
    for _ in 0..3 {
        sandbox
            .tfw(&["env"])
            .run()
            .success()
            .stdout_has("Terraform 1.0.3");
    }
    assert_eq!(calls(&log, "version"), 1);
    // Another binary at the same path (an upgrade) is asked again.
    counted(&sandbox, "terraform", crate::support::terraform());
    sandbox.tfw(&["env"]).run().success();
    assert_eq!(calls(&log, "version"), 2);
}

#[test]
fn git_is_asked_again_only_when_its_index_changes() {
    let sandbox = Sandbox::new();
    let log = counted(&sandbox, "git", &real_git());
    // Outside any repository there is nothing to ask.
    sandbox.tfw(&["env"]).run().success();
    assert_eq!(
        calls(&log, "ls-files"),
        0,
        "no repository, yet git was started"
    );

    git(sandbox.dir.path(), &["init", "-q"]);
    sandbox.write(".gitignore", ".env\n");
    // A repository without an index tracks nothing either.
    sandbox.tfw(&["env"]).run().success();
    assert_eq!(calls(&log, "ls-files"), 0);

    git(sandbox.dir.path(), &["add", "main.tf", ".gitignore"]);
    for _ in 0..3 {
        sandbox.tfw(&["env"]).run().success();
    }
    assert_eq!(
        calls(&log, "ls-files"),
        1,
        "the unchanged index was read again"
    );

    git(sandbox.dir.path(), &["add", "-f", ".env"]);
    for _ in 0..2 {
        sandbox
            .tfw(&["env"])
            .run()
            .code(1)
            .stderr_has(".env is tracked by git");
    }
    assert_eq!(calls(&log, "ls-files"), 2);

    git(sandbox.dir.path(), &["rm", "-q", "--cached", ".env"]);
    let out = sandbox.tfw(&["env"]).run();
    out.success();
    assert!(!out.stderr().contains("tracked by git"), "{}", out.stderr());
    assert_eq!(calls(&log, "ls-files"), 3);
}

#[test]
fn a_worktree_index_is_found_through_its_git_file() {
    let sandbox = Sandbox::new();
    let log = counted(&sandbox, "git", &real_git());
    // The repository lives elsewhere; the work tree has a `.git` file pointing at it.
    let elsewhere = sandbox.home.path().join("repo.git");
    git(
        sandbox.dir.path(),
        &[
            "init",
            "-q",
            "--separate-git-dir",
            elsewhere.to_str().unwrap(),
        ],
    );
    assert!(sandbox.path(".git").is_file());
    git(sandbox.dir.path(), &["add", "-f", ".env"]);
    for _ in 0..2 {
        sandbox
            .tfw(&["plan"])
            .run()
            .code(1)
            .stderr_has(".env is tracked by git");
    }
    assert_eq!(calls(&log, "ls-files"), 1);
}
