//! Issue 18, items 3 and 7 for `tfw fleet sync`: one project's failure (a protected branch,
//! a corrupt lock, a merge request GitLab refuses, a 429, a 5xx, a timeout, a missing scope
//! or role) is its row while the others get their merge request; Ctrl-C finishes the project
//! under way and starts no other.

use std::time::Duration;

use pretty_assertions::assert_eq;

use crate::fleet_status::Fleet;
use crate::fleet_sync::{BRANCH, behind_fleet, line, sync};
use crate::support::gitlab::{ALICE, Fault, Role, Route};
use crate::support::wait_with_output;

#[test]
fn one_failing_project_is_reported_and_the_others_get_their_merge_request() {
    let fleet = Fleet::new();
    let old = fleet.checkout("old");
    for project in [
        "fleet/a", "fleet/b", "fleet/c", "fleet/d", "fleet/e", "fleet/f",
    ] {
        fleet.pushed(project, &old);
    }
    fleet.release("2");
    let gl = fleet.gl();
    // a: `tfw/*` protected against the bot; b: a corrupt lock; c: GitLab fails the merge
    // request (the new branch is deleted again); d: rate-limited once (waits for
    // Retry-After); e: one 502 on the commit (tried once more); f: GitLab never answers.
    gl.put_file("fleet/a", BRANCH, "x", b"x");
    gl.protect_branch("fleet/a", BRANCH, None);
    gl.put_file(
        "fleet/b",
        "main",
        ".tfw/template.lock",
        b"lock_version = [\n",
    );
    gl.fault(
        Fault::status(Route::MergeRequests, 500)
            .method("POST")
            .project("fleet/c"),
    );
    gl.fault(
        Fault::rate_limited(Route::MergeRequests, 1)
            .method("POST")
            .project("fleet/d")
            .times(1),
    );
    gl.fault(
        Fault::status(Route::Commits, 502)
            .project("fleet/e")
            .times(1),
    );
    gl.fault(Fault::hang(Route::RepoFiles, Duration::from_secs(30)).project("fleet/f"));

    let out = fleet
        .sandbox
        .tfw(&["fleet", "sync", "--group", "fleet", "-j", "2"])
        .env("TFW_HTTP_TIMEOUT", "2")
        .run();
    out.code(1).stderr_has("2 opened").stderr_has("4 error");
    let f = line(&out, "fleet/f");
    assert!(f.contains("no answer from GitLab within 2 s"), "{f}");
    let a = line(&out, "fleet/a");
    assert!(
        a.contains("You are not allowed to push into this branch"),
        "{a}"
    );
    out.stderr_has("fleet/b: ")
        .stderr_has("the template lock is not valid")
        .stderr_has("hint: let the bot push `tfw/*` branches");
    let c = line(&out, "fleet/c");
    assert!(
        c.contains("the branch `tfw/template-2` was deleted again"),
        "{c}"
    );
    assert!(
        !gl.branch_names("fleet/c").contains(&BRANCH.to_string()),
        "no branch without its merge request"
    );
    assert_eq!(
        gl.merge_requests("fleet/d").len(),
        1,
        "waited for Retry-After"
    );
    assert_eq!(gl.merge_requests("fleet/e").len(), 1);
}

#[test]
fn a_token_without_the_api_scope_is_refused_naming_the_scope() {
    let fleet = behind_fleet();
    fleet
        .gl()
        .add_token(ALICE, "glpat-alice-read-only-0123", &["read_api"]);
    let out = fleet
        .sandbox
        .tfw(&["fleet", "sync", "--group", "fleet"])
        .env("TF_HTTP_PASSWORD", "glpat-alice-read-only-0123")
        .run();
    out.code(1).stderr_has("the token lacks the `api` scope");
    assert!(fleet.gl().merge_requests("fleet/a").is_empty());
    assert!(!out.all().contains("glpat-alice-read-only-0123"));
}

#[test]
fn a_developer_may_deliver_and_a_reporter_is_told_the_role() {
    let fleet = behind_fleet();
    fleet
        .gl()
        .set_group_role("fleet", ALICE, Some(Role::Reporter));
    let out = sync(&fleet, &["--only", "fleet/a"]);
    out.code(1).stderr_has("Developer role");
    fleet
        .gl()
        .set_group_role("fleet", ALICE, Some(Role::Developer));
    sync(&fleet, &["--only", "fleet/a"])
        .code(0)
        .stderr_has("1 opened");
}

#[test]
fn ctrl_c_finishes_the_merge_request_under_way_and_starts_no_other() {
    let fleet = Fleet::new();
    let old = fleet.checkout("old");
    for project in ["fleet/a", "fleet/b", "fleet/c"] {
        fleet.pushed(project, &old);
    }
    fleet.release("2");
    let gl = fleet.gl();
    // fleet/a's merge request is held long enough for the interrupt to land meanwhile.
    gl.fault(
        Fault::delay(Route::MergeRequests, Duration::from_secs(4))
            .method("POST")
            .project("fleet/a"),
    );
    let child = fleet
        .sandbox
        .tfw(&["fleet", "sync", "--group", "fleet", "-j", "1"])
        .spawn();
    let pid = child.id() as i32;
    let seen = gl.wait_for_request(Duration::from_secs(120), |r| {
        r.method == "POST" && r.path().ends_with("/merge_requests")
    });
    assert!(
        seen.is_some(),
        "the merge request of fleet/a was never asked for"
    );
    // SAFETY: kill(2) to the child this test started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let out = wait_with_output(child, Duration::from_secs(120));
    out.code(130)
        .stderr_has("stopping: no new project starts")
        .stderr_has("1 opened, 2 held-back");
    assert_eq!(
        gl.merge_requests("fleet/a").len(),
        1,
        "finished, not abandoned"
    );
    for project in ["fleet/b", "fleet/c"] {
        assert!(gl.merge_requests(project).is_empty(), "{project}");
        assert!(
            !gl.branch_names(project).contains(&BRANCH.to_string()),
            "{project}"
        );
    }
    assert!(line(&out, "fleet/b").contains("stopped before it started"));
}
