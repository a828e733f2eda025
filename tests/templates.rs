//! Issue "Templates": `tfw new`, `tfw sync` (and `--check`, `--dry-run`, `--repos`) and
//! `tfw adopt`, on temporary git repositories and template sources (a directory, or a git
//! repository reached through a file:// URL: no network).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Out, Sandbox, git};

#[track_caller]
pub(crate) fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
}

pub(crate) fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) const NOTES: &str =
    "# Notes from the template\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n";

/// A small team template: one file of each policy.
pub(crate) fn team_template(dir: &Path) {
    write(
        &dir.join("manifest.toml"),
        r#"version = "1"

[[file]]
path = "notes.md"
policy = "merge"

[[file]]
path = "ci/pipeline.yml"
source = "pipeline.yml"
policy = "managed"

[[file]]
path = ".gitignore"
source = "gitignore"
policy = "block"

[[file]]
path = "main.tf"
policy = "once"
"#,
    );
    write(&dir.join("notes.md"), NOTES);
    write(&dir.join("pipeline.yml"), "stages:\n  - plan\n");
    write(&dir.join("gitignore"), ".env\n.terraform/\n");
    write(&dir.join("main.tf"), "# your code here\n");
}

pub(crate) fn set_version(template: &Path, version: &str) {
    let manifest = template.join("manifest.toml");
    let text = read(&manifest);
    let (_, rest) = text.split_once('\n').unwrap();
    write(&manifest, &format!("version = \"{version}\"\n{rest}"));
}

/// `tfw new NAME --template SRC` in the sandbox, committed.
#[track_caller]
pub(crate) fn new_repo(sandbox: &Sandbox, name: &str, template: &str) -> PathBuf {
    sandbox
        .tfw(&["new", name, "--template", template])
        .run()
        .success();
    let dir = sandbox.path(name);
    commit_all(&dir, "from the template");
    dir
}

pub(crate) fn tfw_in(sandbox: &Sandbox, dir: &Path, args: &[&str]) -> Out {
    let mut all = vec!["-C", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    sandbox.tfw(&all).run()
}

pub(crate) fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout))
}

pub(crate) fn file_status<'a>(report: &'a Value, path: &str) -> &'a str {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {report}"))["status"]
        .as_str()
        .unwrap()
}

// Acceptance 1, with a git template repository (bare, behind a file:// URL) followed on a branch.
#[test]
fn new_check_update_sync_check_with_a_git_template() {
    let sandbox = Sandbox::empty();
    let work = sandbox.path("template-work");
    team_template(&work);
    git(&work, &["init", "-q"]);
    commit_all(&work, "template v1");
    git(
        sandbox.dir.path(),
        &["clone", "-q", "--bare", "template-work", "template.git"],
    );
    let url = format!("file://{}@main", sandbox.path("template.git").display());

    let repo = new_repo(&sandbox, "infra", &url);
    let lock = read(&repo.join(".tfw/template.lock"));
    assert!(lock.contains("ref = \"main\""), "{lock}");
    assert!(
        git(&repo, &["ls-files"]).contains(".tfw/template.lock"),
        "the lock is committed"
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(0)
        .stderr_has("Up to date");

    write(&work.join("pipeline.yml"), "stages:\n  - plan\n  - apply\n");
    set_version(&work, "2");
    commit_all(&work, "template v2");
    git(&work, &["push", "-q", "../template.git", "HEAD:main"]);

    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(2)
        .stderr_has("ci/pipeline.yml")
        .stderr_has("Update available");
    tfw_in(&sandbox, &repo, &["sync"])
        .success()
        .stderr_has("updated");
    assert_eq!(
        read(&repo.join("ci/pipeline.yml")),
        "stages:\n  - plan\n  - apply\n"
    );
    let head = git(&work, &["rev-parse", "HEAD"]);
    assert!(read(&repo.join(".tfw/template.lock")).contains(head.trim()));
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
}

#[test]
fn new_from_the_builtin_template_is_up_to_date_and_ignores_env() {
    let sandbox = Sandbox::empty();
    sandbox
        .tfw(&["new", "infra"])
        .run()
        .success()
        .stderr_has("tfw setup");
    let repo = sandbox.path("infra");
    for file in [
        "env.example",
        ".gitignore",
        "tfw.toml",
        "backend.tf",
        "README.md",
        ".gitlab-ci.yml",
        ".tfw/template.lock",
    ] {
        assert!(repo.join(file).is_file(), "{file} missing");
    }
    assert!(read(&repo.join("backend.tf")).contains("backend \"http\" {}"));
    assert!(read(&repo.join("README.md")).contains("<!-- >>> tfw managed block"));
    write(&repo.join(".env"), "TF_HTTP_PASSWORD=x\n");
    write(&repo.join(".tfw/plans/dev.tfplan"), "x");
    git(&repo, &["check-ignore", "-q", ".env"]);
    git(&repo, &["check-ignore", "-q", ".tfw/plans/dev.tfplan"]);
    commit_all(&repo, "new");
    let tracked = git(&repo, &["ls-files"]);
    assert!(
        tracked.contains(".tfw/template.lock") && !tracked.contains(".env\n"),
        "{tracked}"
    );
    let out = tfw_in(&sandbox, &repo, &["sync", "--check", "--json"]);
    out.code(0);
    let report = json(&out);
    assert_eq!(report["state"], "up-to-date");
    assert_eq!(report["template"]["source"], "builtin");

    sandbox
        .tfw(&["new", "infra"])
        .run()
        .code(1)
        .stderr_has("already exists and is not empty");
}

// Acceptance 2.
#[test]
fn merge_files_keep_local_edits_and_conflicts_lose_nothing() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");

    // A local edit at the top, a template edit at the bottom: both end up in the file.
    write(
        &repo.join("notes.md"),
        &NOTES.replace("line 2", "line 2, edited here"),
    );
    commit_all(&repo, "local notes");
    write(
        &template.join("notes.md"),
        &NOTES.replace("line 7", "line 7, from the template"),
    );
    set_version(&template, "2");
    tfw_in(&sandbox, &repo, &["sync"])
        .success()
        .stderr_has("merged");
    let merged = read(&repo.join("notes.md"));
    assert!(merged.contains("line 2, edited here\n"), "{merged}");
    assert!(merged.contains("line 7, from the template\n"), "{merged}");
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
    commit_all(&repo, "sync v2");

    // Overlapping edits: conflict markers holding both sides, labelled, and a non-zero exit.
    write(
        &repo.join("notes.md"),
        &merged.replace("line 4", "line 4 as we like it"),
    );
    commit_all(&repo, "local line 4");
    write(
        &template.join("notes.md"),
        &read(&template.join("notes.md")).replace("line 4", "line 4 as the template says"),
    );
    set_version(&template, "3");
    tfw_in(&sandbox, &repo, &["sync"])
        .code(3)
        .stderr_has("conflict")
        .stderr_has("notes.md");
    let conflicted = read(&repo.join("notes.md"));
    assert!(
        conflicted.contains("<<<<<<< local\nline 4 as we like it\n"),
        "{conflicted}"
    );
    assert!(
        conflicted.contains("=======\nline 4 as the template says\n>>>>>>> template 3 ("),
        "{conflicted}"
    );
    assert!(conflicted.contains("||||||| template 2 ("), "{conflicted}");
    assert!(conflicted.contains("line 2, edited here\n"), "{conflicted}");
    let leftovers: Vec<_> = std::fs::read_dir(&repo)
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".rej") || name.ends_with(".orig")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(3)
        .stderr_has("notes.md")
        .stderr_has("conflict markers");

    // Resolved by hand: up to date again, the resolution kept.
    let resolved = "# Notes from the template\nline 2, edited here\nline 3\nline 4, resolved\nline 5\nline 6\nline 7, from the template\n";
    write(&repo.join("notes.md"), resolved);
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
    tfw_in(&sandbox, &repo, &["sync", "--allow-dirty"]).code(0);
    assert_eq!(read(&repo.join("notes.md")), resolved);
}

// Acceptance 3.
#[test]
fn editing_a_managed_file_or_block_is_drift_naming_the_file() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");

    // Outside the block, .gitignore is the developer's; the `once` file is never checked.
    let gitignore = read(&repo.join(".gitignore"));
    write(
        &repo.join(".gitignore"),
        &format!("node_modules/\n{gitignore}mine/\n"),
    );
    write(&repo.join("main.tf"), "resource \"x\" \"y\" {}\n");
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);

    write(&repo.join("ci/pipeline.yml"), "stages:\n  - yolo\n");
    let out = tfw_in(&sandbox, &repo, &["sync", "--check"]);
    out.code(3)
        .stderr_has("ci/pipeline.yml")
        .stderr_has("drift");
    let out = tfw_in(&sandbox, &repo, &["sync", "--check", "--json"]);
    out.code(3);
    let report = json(&out);
    assert_eq!(report["state"], "drift");
    assert_eq!(report["exit_code"], 3);
    assert_eq!(file_status(&report, "ci/pipeline.yml"), "drift");
    assert_eq!(file_status(&report, ".gitignore"), "up-to-date");

    // Inside the block: drift too, naming .gitignore.
    git(&repo, &["checkout", "--", "ci/pipeline.yml"]);
    let edited = read(&repo.join(".gitignore")).replace(".terraform/\n", "");
    write(&repo.join(".gitignore"), &edited);
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(3)
        .stderr_has(".gitignore");

    // A sync keeps such edits (warning) and, since drift remains, exits 3 as `--check` would;
    // deleting the file brings the template's back.
    tfw_in(&sandbox, &repo, &["sync", "--allow-dirty"])
        .code(3)
        .stderr_has("Drift in .gitignore");
    std::fs::remove_file(repo.join("ci/pipeline.yml")).unwrap();
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(3)
        .stderr_has("missing");
    tfw_in(&sandbox, &repo, &["sync", "--allow-dirty"])
        .code(3)
        .stderr_has("restored");
    assert_eq!(read(&repo.join("ci/pipeline.yml")), "stages:\n  - plan\n");
}
