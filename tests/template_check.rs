//! Issue 15, items 3 to 5: `sync --check` exit codes that CI can trust (drift wins, also
//! across renames, removals and policy changes), conflict markers never merged into, the
//! fleet's worst code, broken blocks, portable locks, no downgrade, line endings.

use crate::support::{Sandbox, git};
use crate::templates::{
    NOTES, commit_all, file_status, json, new_repo, read, set_version, team_template, tfw_in, write,
};

fn set_manifest(template: &std::path::Path, from: &str, to: &str) {
    let manifest = read(&template.join("manifest.toml"));
    assert!(manifest.contains(from), "{manifest}");
    write(
        &template.join("manifest.toml"),
        &manifest.replacen(from, to, 1),
    );
}

#[test]
fn check_exits_3_when_an_edited_file_is_renamed_removed_or_re_policied_upstream() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    let clean = new_repo(&sandbox, "clean", "template");
    write(&repo.join("ci/pipeline.yml"), "stages:\n  - yolo\n");
    commit_all(&repo, "edit a managed file");
    let managed = "path = \"ci/pipeline.yml\"\nsource = \"pipeline.yml\"\npolicy = \"managed\"";

    // Renamed upstream.
    set_manifest(
        &template,
        managed,
        "path = \"ci/main.yml\"\nsource = \"pipeline.yml\"\npolicy = \"managed\"\nrenamed_from = [\"ci/pipeline.yml\"]",
    );
    let out = tfw_in(&sandbox, &repo, &["sync", "--check", "--json"]);
    out.code(3);
    let report = json(&out);
    assert_eq!(file_status(&report, "ci/main.yml"), "drift", "{report}");
    // Untouched, each of these changes is only an update.
    tfw_in(&sandbox, &clean, &["sync", "--check"]).code(2);

    // Re-policied upstream (managed -> merge).
    team_template(&template);
    set_manifest(
        &template,
        managed,
        "path = \"ci/pipeline.yml\"\nsource = \"pipeline.yml\"\npolicy = \"merge\"",
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(3)
        .stderr_has("policy changes");
    tfw_in(&sandbox, &clean, &["sync", "--check"]).code(2);

    // Removed upstream.
    team_template(&template);
    set_manifest(
        &template,
        managed,
        "path = \"ci/other.yml\"\nsource = \"pipeline.yml\"\npolicy = \"managed\"",
    );
    let out = tfw_in(&sandbox, &repo, &["sync", "--check", "--json"]);
    out.code(3);
    assert_eq!(file_status(&json(&out), "ci/pipeline.yml"), "drift");
    tfw_in(&sandbox, &clean, &["sync", "--check"]).code(2);
}

#[test]
fn sync_never_merges_into_conflict_markers_and_exits_3_while_they_remain() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    write(
        &repo.join("notes.md"),
        &NOTES.replace("line 4", "line 4 ours"),
    );
    commit_all(&repo, "local");
    write(
        &template.join("notes.md"),
        &NOTES.replace("line 4", "line 4 theirs"),
    );
    set_version(&template, "2");
    tfw_in(&sandbox, &repo, &["sync"]).code(3);
    let conflicted = read(&repo.join("notes.md"));
    commit_all(&repo, "committed with markers");

    // A second sync, with the template moving again: nothing merged into the markers, exit 3.
    write(
        &template.join("notes.md"),
        &NOTES
            .replace("line 4", "line 4 theirs")
            .replace("line 7", "line 7 v3"),
    );
    set_version(&template, "3");
    tfw_in(&sandbox, &repo, &["sync"])
        .code(3)
        .stderr_has("still holds conflict markers");
    assert_eq!(read(&repo.join("notes.md")), conflicted);
    tfw_in(&sandbox, &repo, &["sync"]).code(3);

    // Resolved: the next sync merges v3 from the v2 base.
    write(
        &repo.join("notes.md"),
        &NOTES.replace("line 4", "line 4 resolved"),
    );
    commit_all(&repo, "resolved");
    tfw_in(&sandbox, &repo, &["sync"])
        .code(0)
        .stderr_has("merged");
    let notes = read(&repo.join("notes.md"));
    assert!(
        notes.contains("line 4 resolved\n") && notes.contains("line 7 v3\n"),
        "{notes}"
    );
}

#[test]
fn the_fleet_never_says_updated_for_a_repository_left_with_drift_or_markers() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let clean = new_repo(&sandbox, "repos/clean", "template");
    let drifted = new_repo(&sandbox, "repos/drifted", "template");
    let marked = new_repo(&sandbox, "repos/marked", "template");
    write(&drifted.join("ci/pipeline.yml"), "stages: [mine]\n");
    commit_all(&drifted, "drift");
    write(
        &marked.join("notes.md"),
        &format!("{NOTES}<<<<<<< local\na\n=======\nb\n>>>>>>> template 1\n"),
    );
    commit_all(&marked, "markers committed");
    write(&template.join("gitignore"), ".env\n.terraform/\n*.tfplan\n");
    set_version(&template, "2");

    let out = sandbox
        .tfw(&[
            "sync",
            "--json",
            "--repos",
            "repos/clean",
            "repos/drifted",
            "repos/marked",
        ])
        .run();
    out.code(3);
    let report = json(&out);
    let states: Vec<&str> = report["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["updated", "drift", "conflicts"], "{report}");
    assert!(read(&clean.join(".gitignore")).contains("*.tfplan"));
    let out = sandbox
        .tfw(&[
            "sync",
            "--repos",
            "repos/clean",
            "repos/drifted",
            "repos/marked",
        ])
        .run();
    out.code(3);
    for (repo, state) in [
        ("repos/clean", "up-to-date"),
        ("repos/drifted", "drift"),
        ("repos/marked", "conflicts"),
    ] {
        let line = out.stdout.lines().find(|l| l.starts_with(repo)).unwrap();
        assert!(line.contains(state), "{line}");
    }
    tfw_in(&sandbox, &marked, &["sync", "--check"])
        .code(3)
        .stderr_has("conflict markers");
}

#[test]
fn a_lost_end_marker_is_reported_at_its_line_and_the_users_text_kept() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    let text = read(&repo.join(".gitignore"));
    let broken: String = format!(
        "node_modules/\n{}my own line\n",
        text.lines()
            .filter(|l| !l.contains("<<< tfw managed block"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    write(&repo.join(".gitignore"), &broken);
    commit_all(&repo, "lost the end marker");
    write(&template.join("gitignore"), ".env\n.terraform/\n*.tfplan\n");
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(3)
        .stderr_has("line 2 has no end marker");
    tfw_in(&sandbox, &repo, &["sync"])
        .code(1)
        .stderr_has(".gitignore:2")
        .stderr_has("add the line `# <<< tfw managed block <<<`")
        .lacks("delete `.gitignore`");
    assert_eq!(read(&repo.join(".gitignore")), broken, "nothing written");
}

#[test]
fn a_directory_template_lock_resolves_in_ci_through_its_remote_or_the_override() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("teamtpl");
    team_template(&template);
    git(&template, &["init", "-q", "-b", "main"]);
    commit_all(&template, "v1");
    git(
        sandbox.dir.path(),
        &["clone", "-q", "--bare", "teamtpl", "teamtpl.git"],
    );
    let url = format!("file://{}", sandbox.path("teamtpl.git").display());
    git(&template, &["remote", "add", "origin", &url]);
    let repo = new_repo(&sandbox, "infra", "teamtpl");
    let lock = read(&repo.join(".tfw/template.lock"));
    assert!(
        lock.contains("source = \"../teamtpl\"") && lock.contains(&format!("url = \"{url}\"")),
        "{lock}"
    );

    // The CI job: no `../teamtpl` next to the checkout.
    std::fs::rename(&template, sandbox.path("moved-away")).unwrap();
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
    // Without a recorded URL, the error names the override; with it, the check works.
    write(
        &repo.join(".tfw/template.lock"),
        &lock.replace(&format!("url = \"{url}\"\n"), ""),
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(1)
        .stderr_has("TFW_TEMPLATE");
    sandbox
        .tfw(&["-C", repo.to_str().unwrap(), "sync", "--check"])
        .env("TFW_TEMPLATE", sandbox.path("moved-away"))
        .run()
        .code(0);
    // Read as every setting is (issue 20): from `.env` too.
    write(
        &repo.join(".env"),
        &format!("TFW_TEMPLATE={}\n", sandbox.path("moved-away").display()),
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
    // `--repos` reads the working directory's settings, as `tfw fleet` does.
    std::fs::remove_file(repo.join(".env")).unwrap();
    let many = || sandbox.tfw(&["sync", "--check", "--repos", "infra"]).run();
    many().code(1).stderr_has("TFW_TEMPLATE");
    sandbox.write(
        ".env",
        format!("TFW_TEMPLATE={}\n", sandbox.path("moved-away").display()),
    );
    many().code(0);
}

#[test]
fn only_changes_to_listed_files_are_updates_and_a_newer_lock_is_never_downgraded() {
    let sandbox = Sandbox::empty();
    let work = sandbox.path("template-work");
    team_template(&work);
    git(&work, &["init", "-q"]);
    commit_all(&work, "v1");
    let source = format!("{}@HEAD", work.display());
    let repo = new_repo(&sandbox, "infra", &source);
    write(&work.join("CHANGELOG.md"), "not listed in the manifest\n");
    commit_all(&work, "docs only");
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
    tfw_in(&sandbox, &repo, &["sync"]).code(0);
    assert_eq!(git(&repo, &["status", "--porcelain"]), "", "no lock churn");

    sandbox.tfw(&["new", "builtin"]).run().success();
    let builtin = sandbox.path("builtin");
    let lock = read(&builtin.join(".tfw/template.lock"));
    let newer = lock.replacen("version = \"", "version = \"99", 1);
    write(&builtin.join(".tfw/template.lock"), &newer);
    commit_all(&builtin, "synced by a newer tfw");
    for args in [&["sync"][..], &["sync", "--check"]] {
        tfw_in(&sandbox, &builtin, args)
            .code(1)
            .stderr_has("upgrade tfw");
    }
    assert_eq!(read(&builtin.join(".tfw/template.lock")), newer);
}

#[test]
fn crlf_working_copies_merge_line_by_line() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    let crlf = NOTES.replace("line 2", "line 2 ours").replace('\n', "\r\n");
    write(&repo.join("notes.md"), &crlf);
    write(
        &repo.join("ci/pipeline.yml"),
        &read(&repo.join("ci/pipeline.yml")).replace('\n', "\r\n"),
    );
    commit_all(&repo, "checked out with autocrlf");
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
    write(
        &template.join("notes.md"),
        &NOTES.replace("line 6", "line 6 theirs"),
    );
    write(
        &template.join("pipeline.yml"),
        "stages:\n  - plan\n  - apply\n",
    );
    tfw_in(&sandbox, &repo, &["sync"])
        .code(0)
        .stderr_has("merged");
    assert_eq!(
        read(&repo.join("notes.md")),
        NOTES
            .replace("line 2", "line 2 ours")
            .replace("line 6", "line 6 theirs")
            .replace('\n', "\r\n")
    );
    assert_eq!(
        read(&repo.join("ci/pipeline.yml")),
        "stages:\r\n  - plan\r\n  - apply\r\n"
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
}
