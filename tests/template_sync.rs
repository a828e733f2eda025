//! Issue "Templates": `tfw sync --dry-run`, the refusal on uncommitted changes, renames and
//! removals, broken locks, and the fleet (`--repos`) over fifty repositories.

use crate::support::{Sandbox, git};
use crate::templates::{
    NOTES, commit_all, json, new_repo, read, set_version, team_template, tfw_in, write,
};

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
