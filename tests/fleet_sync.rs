//! Issue 18, items 2, 3 and 7: `tfw fleet sync --group GROUP` over the GitLab test server: one
//! merge request per project that needs the template's new version (branch
//! `tfw/template-<version>`, one commit through the commits API, no clone), drafts for
//! conflicts (and markers already committed), reruns that update instead of duplicating,
//! `--dry-run`, `--only`/`--exclude`, `--limit`, `--shard`. Faults, rights and Ctrl-C:
//! `fleet_sync_faults.rs`.

use pretty_assertions::assert_eq;

use crate::fleet_status::Fleet;
use crate::support::Out;
use crate::support::gitlab::ALICE_TOKEN;
use crate::templates::{NOTES, commit_all, write};

pub(crate) const BRANCH: &str = "tfw/template-2";

pub(crate) fn sync(fleet: &Fleet, args: &[&str]) -> Out {
    let mut all = vec!["fleet", "sync", "--group", "fleet"];
    all.extend_from_slice(args);
    fleet.sandbox.tfw(&all).run()
}

/// Two projects at version 1 (`fleet/a`, `fleet/sub/b`), one already at version 2, one not
/// enrolled; then the template's version 2 (a new `ci/pipeline.yml`).
pub(crate) fn behind_fleet() -> Fleet {
    let fleet = Fleet::new();
    let old = fleet.checkout("old");
    fleet.pushed("fleet/a", &old);
    fleet.pushed("fleet/sub/b", &old);
    fleet.release("2");
    let current = fleet.checkout("current");
    fleet.pushed("fleet/current", &current);
    fleet.project("fleet/plain");
    fleet
        .gl()
        .put_file("fleet/plain", "main", "README.md", b"# mine\n");
    fleet
}

pub(crate) fn line<'a>(out: &'a Out, project: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| l.starts_with(&format!("{project} ")))
        .unwrap_or_else(|| panic!("no row for {project}\n{}", out.stdout))
}

#[test]
fn sync_opens_one_merge_request_per_project_behind_and_a_rerun_opens_none() {
    let fleet = behind_fleet();
    let gl = fleet.gl();
    let main_before = gl.branch_commit("fleet/a", "main");
    gl.clear_requests();

    let out = sync(&fleet, &[]);
    out.code(0)
        .stderr_has("4 project(s) in `fleet`: 1 up-to-date, 2 opened, 1 skipped");
    assert!(line(&out, "fleet/a").contains("opened"), "{}", out.stdout);
    // The merge request's address as GitLab gives it: absolute, to be opened as it is.
    let iid = gl.merge_requests("fleet/a")[0].iid;
    let url = format!("{}/fleet/a/-/merge_requests/{iid}", gl.url());
    assert!(line(&out, "fleet/a").contains(&url), "{}", out.stdout);
    assert!(line(&out, "fleet/current").contains("up-to-date"));
    assert!(line(&out, "fleet/plain").contains("not enrolled"));
    for project in ["fleet/a", "fleet/sub/b"] {
        let mrs = gl.merge_requests(project);
        assert_eq!(mrs.len(), 1, "{project}");
        let mr = &mrs[0];
        assert_eq!(
            (mr.source_branch.as_str(), mr.target_branch.as_str()),
            (BRANCH, "main")
        );
        assert!(
            mr.title.starts_with("tfw: update to template 2"),
            "{}",
            mr.title
        );
        assert!(!mr.draft());
        assert!(
            mr.description.contains("| `ci/pipeline.yml` | updated |"),
            "{}",
            mr.description
        );
        assert!(
            mr.description.contains("from template 1"),
            "{}",
            mr.description
        );
        // The branch holds the merged files and the new lock; the default branch is untouched.
        let pipeline = gl.file(project, BRANCH, "ci/pipeline.yml").unwrap();
        assert!(String::from_utf8(pipeline).unwrap().contains("# v2"));
        let lock =
            String::from_utf8(gl.file(project, BRANCH, ".tfw/template.lock").unwrap()).unwrap();
        assert!(lock.contains("version = \"2\""), "{lock}");
    }
    assert_eq!(gl.branch_commit("fleet/a", "main"), main_before);
    assert!(gl.merge_requests("fleet/current").is_empty());
    assert!(gl.merge_requests("fleet/plain").is_empty());
    // One commit through the API per project; the token only in its header.
    let requests = gl.requests();
    let commits: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path().ends_with("/repository/commits"))
        .collect();
    assert_eq!(commits.len(), 2);
    for request in &requests {
        assert!(!request.url.contains(ALICE_TOKEN), "{}", request.url);
        assert!(!request.body_str().contains(ALICE_TOKEN), "{}", request.url);
    }
    assert!(!out.all().contains(ALICE_TOKEN));
    assert!(!fleet.sandbox.path("fleet").exists(), "nothing cloned");

    // A rerun changes nothing: same default branch, same changes.
    gl.clear_requests();
    let again = sync(&fleet, &[]);
    again.code(0).stderr_has("2 unchanged");
    assert_eq!(gl.merge_requests("fleet/a").len(), 1, "no duplicate");
    assert!(
        !gl.requests().iter().any(|r| r.method != "GET"),
        "only reads"
    );

    // The default branch moved on: the same branch and merge request are updated.
    gl.put_file("fleet/a", "main", "other.txt", b"x\n");
    let moved = sync(&fleet, &["--only", "fleet/a"]);
    moved.code(0).stderr_has("1 updated");
    let mrs = gl.merge_requests("fleet/a");
    assert_eq!(mrs.len(), 1);
    assert_eq!(
        gl.file("fleet/a", BRANCH, "other.txt").unwrap(),
        b"x\n",
        "made from the new main"
    );
}

#[test]
fn a_dry_run_shows_the_plan_and_writes_nothing() {
    let fleet = behind_fleet();
    fleet.gl().clear_requests();
    let out = sync(&fleet, &["--dry-run"]);
    out.code(0)
        .stdout_has("# fleet/a")
        .stdout_has("+++ b/ci/pipeline.yml")
        .stderr_has("2 would-open");
    assert!(line(&out, "fleet/sub/b").contains("would open a merge request from tfw/template-2"));
    assert!(fleet.gl().requests().iter().all(|r| r.method == "GET"));
    assert!(fleet.gl().merge_requests("fleet/a").is_empty());
}

#[test]
fn conflicts_make_a_draft_that_lists_the_files_and_how_to_resolve_them() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    let local = NOTES.replace("line 2", "line 2, ours");
    write(&checkout.join("notes.md"), &local);
    commit_all(&checkout, "our notes");
    fleet.pushed("fleet/infra", &checkout);
    write(
        &fleet.sandbox.path("template-work/notes.md"),
        &NOTES.replace("line 2", "line 2, theirs"),
    );
    fleet.release("2");

    let out = sync(&fleet, &[]);
    out.code(3).stderr_has("1 draft(s) with conflicts");
    let mr = &fleet.gl().merge_requests("fleet/infra")[0];
    assert!(mr.draft(), "{}", mr.title);
    assert!(mr.title.starts_with("Draft: tfw: update to template 2"));
    assert!(
        mr.description.contains("Conflict markers in `notes.md`"),
        "{}",
        mr.description
    );
    assert!(mr.description.contains("git fetch origin tfw/template-2"));
    assert!(mr.description.contains("tfw sync --check"));
    let notes =
        String::from_utf8(fleet.gl().file("fleet/infra", BRANCH, "notes.md").unwrap()).unwrap();
    assert!(notes.contains("<<<<<<< local\nline 2, ours"), "{notes}");
    assert!(notes.contains(">>>>>>> template 2"), "{notes}");
}

#[test]
fn only_exclude_shard_and_limit_choose_the_projects() {
    let fleet = Fleet::new();
    let old = fleet.checkout("old");
    let ids: Vec<u64> = ["fleet/a", "fleet/b", "fleet/c", "fleet/sub/d"]
        .iter()
        .map(|p| fleet.pushed(p, &old))
        .collect();
    fleet.release("2");

    let out = sync(
        &fleet,
        &["--dry-run", "--only", "fleet/*", "--exclude", "fleet/b"],
    );
    out.code(0);
    assert!(!out.stdout.contains("fleet/b "), "{}", out.stdout);
    assert!(
        !out.stdout.contains("fleet/sub/d"),
        "`*` stays in one level"
    );
    out.stderr_has("2 would-open");

    // Shards split by id: together they cover every project once.
    let mut seen = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = sync(&fleet, &["--dry-run", "--shard", shard]);
        out.code(0);
        for (path, id) in ["fleet/a", "fleet/b", "fleet/c", "fleet/sub/d"]
            .iter()
            .zip(&ids)
        {
            if out
                .stdout
                .lines()
                .any(|l| l.starts_with(&format!("{path} ")))
            {
                assert_eq!(
                    id % 2 + 1,
                    shard[..1].parse::<u64>().unwrap(),
                    "{path} in {shard}"
                );
                seen.push(*path);
            }
        }
    }
    seen.sort();
    assert_eq!(seen, ["fleet/a", "fleet/b", "fleet/c", "fleet/sub/d"]);
    sync(&fleet, &["--shard", "3/2"])
        .code(2)
        .stderr_has("INDEX/TOTAL");

    // A staged roll-out: the first two by path now, the rest on the next run.
    let out = sync(&fleet, &["--limit", "2"]);
    out.code(0).stderr_has("2 opened, 2 held-back");
    assert_eq!(fleet.gl().merge_requests("fleet/a").len(), 1);
    assert_eq!(fleet.gl().merge_requests("fleet/b").len(), 1);
    assert!(fleet.gl().merge_requests("fleet/c").is_empty());
    assert!(line(&out, "fleet/c").contains("beyond --limit 2"));
    sync(&fleet, &[])
        .code(0)
        .stderr_has("2 unchanged, 2 opened");
}

#[test]
fn committed_conflict_markers_and_a_protected_default_branch() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("old");
    fleet.pushed("fleet/protected", &checkout);
    let marked = NOTES.replace(
        "line 2\n",
        "<<<<<<< local\nline 2, ours\n=======\nline 2\n>>>>>>> template 1\n",
    );
    write(&checkout.join("notes.md"), &marked);
    commit_all(&checkout, "an unresolved merge, committed");
    fleet.pushed("fleet/marked", &checkout);
    fleet.release("2");
    // The bot never pushes to the default branch: protecting it against everyone changes
    // nothing for the merge request, which comes from its own branch.
    fleet.gl().protect_branch("fleet/protected", "main", None);

    let out = sync(&fleet, &[]);
    out.code(3);
    assert!(
        line(&out, "fleet/protected").contains("opened"),
        "{}",
        out.stdout
    );
    let mr = &fleet.gl().merge_requests("fleet/protected")[0];
    assert!(!mr.draft());
    // Markers already committed are never merged into: a draft that names the file, which
    // the branch leaves as it was, while the rest of the update is delivered.
    let mr = &fleet.gl().merge_requests("fleet/marked")[0];
    assert!(mr.draft(), "{}", mr.title);
    assert!(mr.description.contains("`notes.md`"), "{}", mr.description);
    let notes = fleet.gl().file("fleet/marked", BRANCH, "notes.md").unwrap();
    assert_eq!(String::from_utf8(notes).unwrap(), marked);
    let pipeline = fleet
        .gl()
        .file("fleet/marked", BRANCH, "ci/pipeline.yml")
        .unwrap();
    assert!(String::from_utf8(pipeline).unwrap().contains("# v2"));
}

#[test]
fn commits_a_team_pushed_on_the_branch_are_never_reset_away() {
    let fleet = behind_fleet();
    sync(&fleet, &["--only", "fleet/a"]).code(0);
    // The team fixes something on the merge request's branch; then the default branch moves.
    let gl = fleet.gl();
    gl.put_file("fleet/a", BRANCH, "fix.txt", b"ours\n");
    gl.put_file("fleet/a", "main", "other.txt", b"x\n");
    let out = sync(&fleet, &["--only", "fleet/a"]);
    out.code(0).stderr_has("1 skipped");
    assert!(
        line(&out, "fleet/a").contains("has commits tfw did not make (!1): left alone"),
        "{}",
        out.stdout
    );
    assert_eq!(gl.file("fleet/a", BRANCH, "fix.txt").unwrap(), b"ours\n");
    assert_eq!(gl.merge_requests("fleet/a").len(), 1);
}
