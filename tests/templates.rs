//! Issue "Templates": `tfw new`, `tfw sync` (and `--check`, `--dry-run`, `--repos`) and
//! `tfw adopt`, on temporary git repositories and template sources (a directory, or a git
//! repository reached through a file:// URL: no network).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::gitlab::ALICE_TOKEN;
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

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    write(
        &template.join("pipeline.yml"),
        "stages:\n  - plan\n  - apply\n",
    );
    let lock_before = read(&repo.join(".tfw/template.lock"));

    tfw_in(&sandbox, &repo, &["sync", "--dry-run"])
        .code(0)
        .stdout_has("--- a/ci/pipeline.yml\n+++ b/ci/pipeline.yml\n")
        .stdout_has("+  - apply\n")
        .stderr_has("nothing was written");
    assert_eq!(read(&repo.join("ci/pipeline.yml")), "stages:\n  - plan\n");
    assert_eq!(read(&repo.join(".tfw/template.lock")), lock_before);
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
}

#[test]
fn sync_refuses_uncommitted_changes_to_the_files_it_would_change() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    write(
        &template.join("notes.md"),
        &NOTES.replace("line 7", "line 7 v2"),
    );
    write(
        &repo.join("notes.md"),
        &NOTES.replace("line 2", "line 2 uncommitted"),
    );

    tfw_in(&sandbox, &repo, &["sync"])
        .code(1)
        .stderr_has("uncommitted changes")
        .stderr_has("notes.md")
        .stderr_has("--allow-dirty");
    assert!(read(&repo.join("notes.md")).contains("line 2 uncommitted"));
    assert!(!read(&repo.join("notes.md")).contains("line 7 v2"));

    tfw_in(&sandbox, &repo, &["sync", "--allow-dirty"]).success();
    let notes = read(&repo.join("notes.md"));
    assert!(
        notes.contains("line 2 uncommitted") && notes.contains("line 7 v2"),
        "{notes}"
    );
}

#[test]
fn renames_are_followed_and_removals_keep_local_edits() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    write(&template.join("extra.txt"), "extra\n");
    write(&template.join("docs.txt"), "docs\n");
    let manifest = read(&template.join("manifest.toml"));
    write(
        &template.join("manifest.toml"),
        &format!(
            "{manifest}\n[[file]]\npath = \"extra.txt\"\npolicy = \"managed\"\n\n[[file]]\npath = \"docs.txt\"\npolicy = \"merge\"\n"
        ),
    );
    let repo = new_repo(&sandbox, "infra", "template");
    write(
        &repo.join("notes.md"),
        &NOTES.replace("line 3", "line 3 local"),
    );
    write(&repo.join("docs.txt"), "docs, with our additions\n");
    commit_all(&repo, "local edits");

    // v2: notes.md moves to docs/notes.md; extra.txt and docs.txt are dropped.
    write(
        &template.join("manifest.toml"),
        &manifest.replace(
            "path = \"notes.md\"",
            "path = \"docs/notes.md\"\nsource = \"notes.md\"\nrenamed_from = [\"notes.md\"]",
        ),
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(2)
        .stderr_has("moves from notes.md");
    tfw_in(&sandbox, &repo, &["sync"])
        .success()
        .stderr_has("docs.txt")
        .stderr_has("local edits");
    assert!(!repo.join("notes.md").exists());
    assert!(read(&repo.join("docs/notes.md")).contains("line 3 local"));
    assert!(
        !repo.join("extra.txt").exists(),
        "untouched and dropped: removed"
    );
    assert_eq!(read(&repo.join("docs.txt")), "docs, with our additions\n");
    let lock = read(&repo.join(".tfw/template.lock"));
    assert!(
        lock.contains("[files.\"docs/notes.md\"]") && !lock.contains("[files.\"notes.md\"]"),
        "{lock}"
    );
    assert!(!lock.contains("docs.txt"), "no longer managed: {lock}");
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
}

#[test]
fn broken_and_inconsistent_locks() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    let lock = read(&repo.join(".tfw/template.lock"));

    write(
        &repo.join(".tfw/template.lock"),
        &lock.replace(
            "policy = \"merge\"\nsha256 = \"",
            "policy = \"merge\"\nsha256 = \"zz",
        ),
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(3)
        .stderr_has("inconsistent");

    write(&repo.join(".tfw/template.lock"), "this is not a lock\n");
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(1)
        .stderr_has("template.lock");

    let plain = sandbox.path("plain");
    std::fs::create_dir_all(&plain).unwrap();
    tfw_in(&sandbox, &plain, &["sync", "--check"])
        .code(1)
        .stderr_has("tfw adopt");
}

/// The old Makefile template's files, as shipped (the originals tfw recognises).
pub(crate) const LEGACY: &[(&str, &str)] = &[
    ("Makefile", include_str!("../templates/legacy/Makefile")),
    (
        "scripts/init.sh",
        include_str!("../templates/legacy/scripts/init.sh"),
    ),
    (
        "scripts/plan.sh",
        include_str!("../templates/legacy/scripts/plan.sh"),
    ),
    (
        "scripts/apply.sh",
        include_str!("../templates/legacy/scripts/apply.sh"),
    ),
    (
        "scripts/destroy.sh",
        include_str!("../templates/legacy/scripts/destroy.sh"),
    ),
    (
        "scripts/format.sh",
        include_str!("../templates/legacy/scripts/format.sh"),
    ),
    (
        "scripts/graph.sh",
        include_str!("../templates/legacy/scripts/graph.sh"),
    ),
    (
        "scripts/clean.sh",
        include_str!("../templates/legacy/scripts/clean.sh"),
    ),
    (
        "env.example",
        include_str!("../templates/legacy/env.example"),
    ),
];

/// The old Makefile template's layout, committed (without `.env`, which is only on disk).
pub(crate) fn legacy_repo(sandbox: &Sandbox, main_tf: &str) {
    for (path, text) in LEGACY {
        sandbox.write(path, text);
    }
    sandbox.write(
        "backend.hcl",
        "lock_method = \"POST\"\nunlock_method = \"DELETE\"\n",
    );
    sandbox.write(
        "README.md",
        "# Infra\n\n## Usage\n\nCopy env.example to .env, then `make init` and `make plan`.\n",
    );
    sandbox.write("main.tf", main_tf);
    sandbox.seed_env("alice", ALICE_TOKEN, "dev-alice");
    let dir = sandbox.dir.path();
    git(dir, &["init", "-q"]);
    git(
        dir,
        &[
            "add",
            "Makefile",
            "scripts",
            "backend.hcl",
            "env.example",
            "README.md",
            "main.tf",
        ],
    );
    git(dir, &["commit", "-q", "-m", "from the Makefile template"]);
}

// Acceptance 4.
#[test]
fn adopt_converts_a_makefile_repo_and_doctor_passes() {
    let sandbox = Sandbox::empty();
    legacy_repo(&sandbox, "output \"greeting\" {\n  value = \"hello\"\n}\n");
    sandbox.write("backend.tf", "terraform {\n  backend \"http\" {\n  }\n}\n");
    git(sandbox.dir.path(), &["add", "backend.tf"]);
    git(sandbox.dir.path(), &["commit", "-q", "-m", "backend"]);
    let env_before = sandbox.read(".env");

    sandbox
        .tfw(&["adopt", "--dry-run"])
        .run()
        .success()
        .stdout_has("+GITLAB_URL=")
        .stderr_has("Dry run");
    assert_eq!(
        git(
            sandbox.dir.path(),
            &["status", "--porcelain", "--untracked-files=no"]
        ),
        ""
    );
    assert!(!sandbox.path(".tfw/template.lock").exists());

    sandbox
        .tfw(&["adopt"])
        .run()
        .success()
        .stderr_has("`.env` is unchanged and works as it is")
        .stderr_has("--remove-legacy");
    assert_eq!(sandbox.read(".env"), env_before, ".env is never rewritten");
    assert!(sandbox.path("Makefile").is_file() && sandbox.path("scripts/init.sh").is_file());
    assert!(
        sandbox.read("env.example").contains("GITLAB_URL="),
        "the export-style example is replaced"
    );
    assert!(
        sandbox.read("backend.tf").contains("Managed by `tfw sync`"),
        "an equivalent backend.tf is replaced"
    );
    assert!(
        sandbox.read("README.md").starts_with("# Infra\n"),
        "the README keeps its own part"
    );
    git(sandbox.dir.path(), &["check-ignore", "-q", ".env"]);

    sandbox
        .tfw(&["doctor"])
        .run()
        .success()
        .stderr_has("All checks passed");
    sandbox.tfw(&["plan"]).run().success();
    sandbox.tfw(&["sync", "--check"]).run().code(0);
    sandbox.tfw(&["adopt"]).run().code(1).stderr_has("tfw sync");
}

#[test]
fn adopt_removes_legacy_files_only_when_asked_and_never_declares_a_second_backend() {
    let sandbox = Sandbox::empty();
    // The backend lives in main.tf here: backend.tf would be a second one.
    legacy_repo(&sandbox, crate::support::MAIN_TF);
    sandbox
        .tfw(&["adopt", "--remove-legacy"])
        .run()
        .success()
        .stderr_has("backend.tf");
    for gone in ["Makefile", "scripts", "backend.hcl"] {
        assert!(!sandbox.path(gone).exists(), "{gone} still there");
    }
    assert!(!sandbox.path("backend.tf").exists());
    assert!(sandbox.read(".tfw/template.lock").contains("skip = true"));
    sandbox.tfw(&["doctor"]).run().success();
    sandbox.tfw(&["sync", "--check"]).run().code(0);
}

// Acceptance 5.
#[test]
fn fleet_sync_over_fifty_repositories_with_conflicts_and_a_broken_one() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let names: Vec<String> = (1..=50).map(|i| format!("repos/r{i:02}")).collect();
    for name in &names {
        new_repo(&sandbox, name, "template");
    }
    let conflicted = ["repos/r07", "repos/r21", "repos/r33"];
    for name in conflicted {
        let dir = sandbox.path(name);
        write(
            &dir.join("notes.md"),
            &NOTES.replace("line 5", "line 5, our way"),
        );
        commit_all(&dir, "local");
    }
    let broken = "repos/r40";
    write(
        &sandbox.path(broken).join(".tfw/template.lock"),
        "garbage = [\n",
    );
    let list: String = names.iter().map(|n| format!("{n}\n")).collect();
    sandbox.write("repos.txt", format!("# every infra repository\n{list}"));

    write(
        &template.join("notes.md"),
        &NOTES.replace("line 5", "line 5, the template's way"),
    );
    write(
        &template.join("pipeline.yml"),
        "stages:\n  - plan\n  - apply\n",
    );
    set_version(&template, "2");

    let out = sandbox
        .tfw(&["sync", "--check", "--json", "--repos", "repos.txt"])
        .run();
    out.code(1);
    let report = json(&out);
    let repos = report["repos"].as_array().unwrap();
    assert_eq!(repos.len(), 50);
    for repo in repos {
        let expected = if repo["repo"].as_str().unwrap().ends_with("r40") {
            "error"
        } else {
            "update-available"
        };
        assert_eq!(repo["state"], expected, "{repo}");
    }

    let out = sandbox
        .tfw(&["sync", "--json", "--repos", "repos.txt"])
        .run();
    out.code(1);
    let report = json(&out);
    assert_eq!(report["exit_code"], 1);
    for repo in report["repos"].as_array().unwrap() {
        let name = repo["repo"].as_str().unwrap();
        let short = &name[name.len() - 9..];
        match short {
            s if conflicted.contains(&s) => {
                assert_eq!(repo["state"], "conflicts", "{repo}");
                assert_eq!(repo["conflicts"], 1, "{repo}");
            }
            s if s == broken => {
                assert_eq!(repo["state"], "error", "{repo}");
                assert!(
                    repo["error"]["message"].as_str().unwrap().contains("lock"),
                    "{repo}"
                );
            }
            _ => {
                assert_eq!(repo["state"], "updated", "{repo}");
                assert_eq!(repo["files_changed"], 2, "{repo}");
            }
        }
    }
    for name in &names {
        let dir = sandbox.path(name);
        let pipeline = read(&dir.join("ci/pipeline.yml"));
        let notes = read(&dir.join("notes.md"));
        if name == broken {
            assert_eq!(
                pipeline, "stages:\n  - plan\n",
                "the broken repository is left alone"
            );
        } else if conflicted.contains(&name.as_str()) {
            assert!(
                notes.contains("<<<<<<< local\nline 5, our way\n"),
                "{name}: {notes}"
            );
            assert!(
                notes.contains("line 5, the template's way\n>>>>>>> template 2"),
                "{name}: {notes}"
            );
        } else {
            assert!(
                notes.contains("line 5, the template's way\n") && !notes.contains("<<<<<<<"),
                "{name}"
            );
            assert_eq!(pipeline, "stages:\n  - plan\n  - apply\n", "{name}");
        }
    }

    // The table: one row per repository, the worst exit code.
    let dirs: Vec<String> = names.iter().filter(|n| *n != broken).cloned().collect();
    let mut args = vec!["sync", "--check", "--repos"];
    args.extend(dirs.iter().map(String::as_str));
    let out = sandbox.tfw(&args).run();
    out.code(3).stdout_has("REPO").stdout_has("STATE");
    assert_eq!(out.stdout.lines().count(), 1 + 49, "{}", out.stdout);
    let r07 = out
        .stdout
        .lines()
        .find(|l| l.starts_with("repos/r07"))
        .unwrap();
    assert!(r07.contains("drift") && r07.contains("notes.md"), "{r07}");
    let r01 = out
        .stdout
        .lines()
        .find(|l| l.starts_with("repos/r01"))
        .unwrap();
    assert!(r01.contains("up-to-date"), "{r01}");
    out.stderr_has("49 repositories: 46 up-to-date, 3 drift");
}
