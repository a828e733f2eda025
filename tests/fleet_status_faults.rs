//! Issue 18, item 7 (status side): what can go wrong in one project of a group is that
//! project's row, with its reason, and the other projects are still read: a corrupt lock or
//! one written by a newer tfw, conflict markers already committed, a token without the scope
//! (named), a Guest, 401/403/404, rate limits (429: waits for `Retry-After`, bounded), server
//! errors (5xx: asked once more) and a GitLab that does not answer in time.

use std::time::Duration;

use serde_json::json;

use crate::fleet_status::{Fleet, row};
use crate::support::gitlab::{ALICE, CI_JOB_TOKEN, Fault, Role, Route};
use crate::templates::{commit_all, json, read, write};

const LOCK: &str = ".tfw/template.lock";

fn error_of(report: &serde_json::Value, project: &str) -> String {
    let row = row(report, project);
    assert_eq!(row["state"], "error", "{project}: {row:#}");
    row["error"]["message"].as_str().unwrap().to_string()
}

#[test]
fn a_corrupt_lock_or_one_from_a_newer_tfw_is_that_projects_row() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    fleet.pushed("fleet/good", &checkout);
    fleet.pushed("fleet/corrupt", &checkout);
    fleet.pushed("fleet/newer", &checkout);
    let lock = read(&checkout.join(LOCK));
    fleet.gl().put_file(
        "fleet/corrupt",
        "main",
        LOCK,
        b"lock_version = 1\n[template\n",
    );
    let newer = lock.replace("lock_version = 1", "lock_version = 99");
    fleet
        .gl()
        .put_file("fleet/newer", "main", LOCK, newer.as_bytes());

    let out = fleet.status(&["--json"]);
    out.code(1);
    let report = json(&out);
    assert_eq!(row(&report, "fleet/good")["state"], "up-to-date");
    assert!(error_of(&report, "fleet/corrupt").contains("the template lock is not valid"));
    assert!(error_of(&report, "fleet/newer").contains("newer than this tfw understands"));
    assert_eq!(row(&report, "fleet/newer")["error"]["hint"], "upgrade tfw");
    // Off --json each error is repeated on stderr with its hint, after the table.
    fleet
        .status(&[])
        .code(1)
        .stdout_has("fleet/good")
        .stderr_has("fleet/corrupt: the template lock is not valid")
        .stderr_has("hint: upgrade tfw");
}

#[test]
fn conflict_markers_already_committed_are_drift_naming_the_file() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    let notes = read(&checkout.join("notes.md"));
    write(
        &checkout.join("notes.md"),
        &notes.replace(
            "line 4\n",
            "<<<<<<< local\nline 4 ours\n=======\nline 4 theirs\n>>>>>>> template 2\n",
        ),
    );
    commit_all(&checkout, "a conflict committed as is");
    fleet.pushed("fleet/markers", &checkout);
    let out = fleet.status(&["--json"]);
    out.code(3);
    let report = json(&out);
    let markers = row(&report, "fleet/markers");
    assert_eq!(markers["state"], "drift");
    assert_eq!(markers["conflict_markers"], json!(["notes.md"]));
    assert_eq!(
        markers["modified"],
        json!([]),
        "markers are not counted twice"
    );
    let table = fleet.status(&[]);
    table.code(3);
    let line = table
        .stdout
        .lines()
        .find(|l| l.starts_with("fleet/markers"))
        .unwrap();
    assert!(line.contains("conflict markers: notes.md"), "{line}");
}

#[test]
fn a_token_without_read_api_or_a_job_token_is_refused_naming_the_scope() {
    let fleet = Fleet::new();
    fleet.project("fleet/a");
    fleet
        .gl()
        .add_token(ALICE, "glpat-alice-user-only", &["read_user"]);
    fleet
        .status_cmd(&[])
        .env("TF_HTTP_PASSWORD", "glpat-alice-user-only")
        .run()
        .code(1)
        .stderr_has("the token lacks the `read_api` scope (403 insufficient_scope)")
        .stderr_has("with the `read_api` scope in `TF_HTTP_PASSWORD`")
        .lacks("glpat-alice-user-only");
    // CI's job token reaches no other project's files: refused before anything is sent.
    std::fs::remove_file(fleet.sandbox.path(".env")).unwrap();
    fleet.gl().clear_requests();
    fleet
        .status_cmd(&[])
        .env("CI", "true")
        .env("CI_API_V4_URL", fleet.gl().api_url())
        .env("CI_PROJECT_ID", "42")
        .env("CI_JOB_TOKEN", CI_JOB_TOKEN)
        .env("TF_STATE_NAME", "ci")
        .run()
        .code(1)
        .stderr_has("cannot use CI's job token")
        .stderr_has("`read_api` scope");
    assert!(fleet.gl().requests().is_empty(), "nothing was asked");
}

#[test]
fn a_guest_401_403_and_404_are_rows_and_the_other_projects_are_read() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    // Alice is no group member here: her role is per project.
    fleet.gl().set_group_role("fleet", ALICE, None);
    for name in ["good", "guest", "revoked", "forbidden", "gone"] {
        let path = format!("fleet/{name}");
        fleet.pushed(&path, &checkout);
        let role = if name == "guest" {
            Role::Guest
        } else {
            Role::Reporter
        };
        fleet.gl().set_role(&path, ALICE, Some(role));
    }
    fleet
        .gl()
        .fault(Fault::status(Route::RepoFiles, 401).project("fleet/revoked"));
    fleet
        .gl()
        .fault(Fault::status(Route::RepoFiles, 403).project("fleet/forbidden"));
    fleet.gl().fault(
        Fault::respond(
            Route::RepoFiles,
            404,
            r#"{"message":"404 Project Not Found"}"#,
        )
        .project("fleet/gone"),
    );
    let out = fleet.status(&["--json"]);
    out.code(1);
    let report = json(&out);
    assert_eq!(row(&report, "fleet/good")["state"], "up-to-date");
    assert!(error_of(&report, "fleet/guest").contains("as to a Guest"));
    assert!(
        error_of(&report, "fleet/revoked").contains("GitLab rejected the token (401 Unauthorized)")
    );
    assert!(error_of(&report, "fleet/forbidden").contains("403 Forbidden"));
    assert!(error_of(&report, "fleet/gone").contains("no such project"));
    assert_eq!(report["counts"]["error"], 4);
}

#[test]
fn rate_limits_server_errors_and_timeouts_are_waited_for_retried_or_reported() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    let names = [
        "limited-once",
        "limited-long",
        "limited-always",
        "flaky",
        "down",
        "slow",
        "good",
    ];
    for name in names {
        fleet.pushed(&format!("fleet/{name}"), &checkout);
    }
    let gl = fleet.gl();
    gl.fault(
        Fault::rate_limited(Route::RepoFiles, 1)
            .project("fleet/limited-once")
            .times(2),
    );
    gl.fault(Fault::rate_limited(Route::RepoFiles, 3600).project("fleet/limited-long"));
    gl.fault(Fault::rate_limited(Route::MergeRequests, 1).project("fleet/limited-always"));
    gl.fault(
        Fault::status(Route::RepoFiles, 502)
            .project("fleet/flaky")
            .times(1),
    );
    gl.fault(Fault::status(Route::RepoTree, 503).project("fleet/down"));
    gl.fault(Fault::delay(Route::RepoFiles, Duration::from_secs(45)).project("fleet/slow"));
    gl.clear_requests();

    let out = fleet
        .status_cmd(&["--json"])
        .env("TFW_HTTP_TIMEOUT", "10")
        .run();
    out.code(1);
    let report = json(&out);
    for fine in ["limited-once", "flaky", "good"] {
        assert_eq!(
            row(&report, &format!("fleet/{fine}"))["state"],
            "up-to-date",
            "{fine}"
        );
    }
    assert!(
        error_of(&report, "fleet/limited-long")
            .contains("asks to wait 3600 s (429 Retry-After), longer than tfw waits (60 s)")
    );
    assert!(error_of(&report, "fleet/limited-always").contains("still applied after 4 tries"));
    assert!(error_of(&report, "fleet/down").contains("GitLab answered 503"));
    assert!(error_of(&report, "fleet/slow").contains("no answer from GitLab within 10 s"));

    // What was sent: the lock of `limited-once` three times (429, 429, 200), of `flaky` twice.
    let lock_reads = |project: &str| -> Vec<u16> {
        let encoded = crate::support::gitlab::encode_component(LOCK);
        let id = row(&report, project)["id"].as_u64().unwrap();
        gl.requests()
            .iter()
            .filter(|r| r.path() == format!("/api/v4/projects/{id}/repository/files/{encoded}/raw"))
            .map(|r| r.status)
            .collect()
    };
    assert_eq!(lock_reads("fleet/limited-once"), [429, 429, 200]);
    assert_eq!(lock_reads("fleet/flaky"), [502, 200]);
    assert_eq!(
        lock_reads("fleet/limited-long"),
        [429],
        "no wait of an hour"
    );
}

/// `TFW_HTTP_TIMEOUT` in `.env` sets the fleet's wait too, as it does for every other GitLab
/// call (the fleet's client once read it from the process environment alone).
#[test]
fn the_timeout_in_dotenv_is_the_fleets_too() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    for name in ["slow", "good"] {
        fleet.pushed(&format!("fleet/{name}"), &checkout);
    }
    let env = fleet.sandbox.read(".env");
    fleet
        .sandbox
        .write(".env", format!("{env}\nTFW_HTTP_TIMEOUT=2\n"));
    fleet
        .gl()
        .fault(Fault::delay(Route::RepoFiles, Duration::from_secs(45)).project("fleet/slow"));
    let out = fleet
        .status_cmd(&["--json"])
        .env_remove("TFW_HTTP_TIMEOUT")
        .run();
    out.code(1);
    let report = json(&out);
    assert_eq!(row(&report, "fleet/good")["state"], "up-to-date");
    assert!(error_of(&report, "fleet/slow").contains("no answer from GitLab within 2 s"));
}
