//! Tests of the GitLab test server's merge request writes (row "Merge requests" of
//! `/work/shared/reference/gitlab-fleet-api.md`): one open merge request per source branch
//! (409 with GitLab's message), drafts by title, updates, and faults on the write routes.
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::gitlab_fleet_writes::{APP, commit, project_url, send, server};
use crate::support::gitlab::{ALICE, ALICE_TOKEN, DAVE_TOKEN, Fault, Role, Route};

#[test]
fn one_open_merge_request_per_source_branch_and_drafts_by_title() {
    let gl = server();
    gl.put_file(APP, "tfw/template-2", "a.txt", b"A\n");
    let url = project_url(&gl, "merge_requests");
    let body = json!({
        "source_branch": "tfw/template-2", "target_branch": "main",
        "title": "Draft: tfw template 2", "description": "conflicts in a.txt",
        "labels": "tfw,template", "remove_source_branch": true,
    });
    let created = send("POST", &url, DAVE_TOKEN, Some(body.clone()));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["iid"], 1);
    assert_eq!(created.body["draft"], true);
    assert_eq!(created.body["labels"], json!(["tfw", "template"]));
    // `MergeRequest#validate_branches`: 409 with GitLab's message list.
    let again = send("POST", &url, DAVE_TOKEN, Some(body.clone()));
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body["message"],
        json!(["Another open merge request already exists for this source branch: !1"])
    );
    let one = format!("{url}/1");
    let updated = send(
        "PUT",
        &one,
        DAVE_TOKEN,
        Some(json!({ "title": "tfw template 2", "description": "clean" })),
    );
    assert_eq!(updated.status, 200);
    assert_eq!(
        (
            updated.body["draft"].clone(),
            updated.body["description"].clone()
        ),
        (json!(false), json!("clean"))
    );
    let mrs = gl.merge_requests(APP);
    assert_eq!(
        (mrs.len(), mrs[0].title.as_str(), mrs[0].draft()),
        (1, "tfw template 2", false)
    );
    let nothing = send("PUT", &one, DAVE_TOKEN, Some(json!({})));
    assert_eq!(nothing.status, 400);
    assert_eq!(
        send(
            "PUT",
            &format!("{url}/9"),
            DAVE_TOKEN,
            Some(json!({ "title": "x" }))
        )
        .status,
        404
    );
    // Closed, the branch may get a new one.
    let closed = send(
        "PUT",
        &one,
        DAVE_TOKEN,
        Some(json!({ "state_event": "close" })),
    );
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(
        send("POST", &url, DAVE_TOKEN, Some(body.clone())).body["iid"],
        2
    );
    let missing = send(
        "POST",
        &url,
        DAVE_TOKEN,
        Some(json!({ "source_branch": "nope", "target_branch": "main", "title": "t" })),
    );
    assert_eq!(
        (missing.status, missing.body["message"].clone()),
        (422, json!(["Source branch \"nope\" does not exist"]))
    );
    assert_eq!(
        send(
            "POST",
            &url,
            DAVE_TOKEN,
            Some(json!({ "source_branch": "main", "target_branch": "main" }))
        )
        .status,
        400
    );
    let reporter = send("POST", &url, "glpat-reader-0123456789", Some(body));
    assert_eq!(reporter.status, 403);
}

#[test]
fn faults_hit_one_write_route_of_one_project() {
    let gl = server();
    gl.add_project(801, "fleet/other");
    gl.set_role("fleet/other", ALICE, Some(Role::Maintainer));
    gl.put_file("fleet/other", "main", "a.txt", b"a\n");
    gl.fault(Fault::status(Route::Commits, 502).project(APP).times(1));
    gl.fault(
        Fault::rate_limited(Route::MergeRequests, 7)
            .method("POST")
            .times(1),
    );
    let body = json!({
        "branch": "main", "commit_message": "m",
        "actions": [{ "action": "update", "file_path": "a.txt", "content": "x\n" }],
    });
    let other = send(
        "POST",
        &format!("{}/projects/801/repository/commits", gl.api_url()),
        ALICE_TOKEN,
        Some(body.clone()),
    );
    assert_eq!(other.status, 201, "another project is not hit");
    assert_eq!(commit(&gl, ALICE_TOKEN, body.clone()).status, 502);
    assert_eq!(
        gl.file(APP, "main", "a.txt").unwrap(),
        b"a\n",
        "a fault has no effect"
    );
    assert_eq!(commit(&gl, ALICE_TOKEN, body).status, 201, "only once");
    let limited = send(
        "POST",
        &project_url(&gl, "merge_requests"),
        ALICE_TOKEN,
        Some(json!({})),
    );
    assert_eq!(limited.status, 429);
}
