//! Tests of the GitLab test server's branch and commit writes for `tfw fleet sync` (rows
//! "Commits" and branches of `/work/shared/reference/gitlab-fleet-api.md`): branches created
//! from a ref, commits of several actions from a start branch, GitLab's 400s for an invalid
//! action, and protected branches. Merge requests: `gitlab_fleet_mr_writes.rs`.
use std::io::Read;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::gitlab::{
    ALICE, ALICE_TOKEN, DAVE, DAVE_TOKEN, FileMode, GitLab, Role, encode_component,
};

pub(crate) const APP: &str = "fleet/app";

pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

pub(crate) fn send(method: &str, url: &str, token: &str, body: Option<Value>) -> Answer {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let request = agent
        .request(method, url)
        .set("PRIVATE-TOKEN", token)
        .set("Content-Type", "application/json");
    let result = match body {
        Some(body) => request.send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let mut bytes = Vec::new();
    response.into_reader().read_to_end(&mut bytes).unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, body }
}

/// `fleet/app` (id 800) with `main` holding two files; Alice is a Maintainer, Dave a
/// Developer, and `reader` (a Reporter) and Alice's `read_api` token cannot write.
pub(crate) fn server() -> GitLab {
    let gl = GitLab::start();
    gl.add_project(800, APP);
    gl.set_role(APP, ALICE, Some(Role::Maintainer));
    gl.set_role(APP, DAVE, Some(Role::Developer));
    gl.add_user("reader", "glpat-reader-0123456789", Role::Reporter);
    gl.set_role(APP, "reader", Some(Role::Reporter));
    gl.add_token(ALICE, "glpat-alice-read-only-01", &["read_api"]);
    gl.put_file(APP, "main", "a.txt", b"a\n");
    gl.put_file(APP, "main", "old/b.txt", b"b\n");
    gl
}

pub(crate) fn project_url(gl: &GitLab, tail: &str) -> String {
    format!("{}/projects/{}/{tail}", gl.api_url(), encode_component(APP))
}

pub(crate) fn message(answer: &Answer) -> String {
    match &answer.body["message"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn branches_are_created_from_a_ref_once_and_the_default_and_protected_ones_stay() {
    let gl = server();
    let url = project_url(&gl, "repository/branches");
    let main = gl.branch_commit(APP, "main").unwrap();
    let body = json!({ "branch": "tfw/template-2", "ref": "main" });
    let created = send("POST", &url, DAVE_TOKEN, Some(body.clone()));
    assert_eq!(created.status, 201);
    assert_eq!(created.body["name"], "tfw/template-2");
    assert_eq!(created.body["commit"]["id"], main.as_str());
    assert_eq!(created.body["protected"], false);
    assert_eq!(
        created.body["web_url"],
        format!("{}/{APP}/-/tree/tfw/template-2", gl.url())
    );
    assert_eq!(gl.file(APP, "tfw/template-2", "a.txt").unwrap(), b"a\n");
    // `Branches::ValidateNewService`, then an unknown ref.
    let again = send("POST", &url, DAVE_TOKEN, Some(body));
    assert_eq!(
        (again.status, message(&again)),
        (400, "Branch already exists".into())
    );
    let bad = send(
        "POST",
        &url,
        DAVE_TOKEN,
        Some(json!({ "branch": "x", "ref": "nope" })),
    );
    assert_eq!(
        (bad.status, message(&bad)),
        (
            400,
            "Failed to create branch 'x': invalid reference name 'nope'".into()
        )
    );
    let missing = send("POST", &url, DAVE_TOKEN, Some(json!({ "branch": "x" })));
    assert_eq!(
        (missing.status, missing.body["error"].clone()),
        (400, json!("ref is missing"))
    );
    // Reporters cannot push; a read_api token may only read, whatever the role.
    let reporter = send(
        "POST",
        &url,
        "glpat-reader-0123456789",
        Some(json!({ "branch": "y", "ref": "main" })),
    );
    assert_eq!(reporter.status, 403);
    let read_only = send(
        "POST",
        &url,
        "glpat-alice-read-only-01",
        Some(json!({ "branch": "y", "ref": "main" })),
    );
    assert_eq!(
        (read_only.status, read_only.body["scope"].clone()),
        (403, json!("api read_api"))
    );

    let one = |name: &str| {
        project_url(
            &gl,
            &format!("repository/branches/{}", encode_component(name)),
        )
    };
    let deleted = send("DELETE", &one("tfw/template-2"), DAVE_TOKEN, None);
    assert_eq!(deleted.status, 204);
    assert!(!gl.branch_names(APP).contains(&"tfw/template-2".to_string()));
    assert_eq!(
        send("DELETE", &one("tfw/template-2"), DAVE_TOKEN, None).status,
        404
    );
    let default = send("DELETE", &one("main"), ALICE_TOKEN, None);
    assert_eq!(
        (default.status, message(&default)),
        (
            405,
            "The default branch of a project cannot be deleted.".into()
        )
    );
    gl.put_file(APP, "release", "a.txt", b"r\n");
    gl.protect_branch(APP, "release", Some(Role::Maintainer));
    assert_eq!(
        send("DELETE", &one("release"), ALICE_TOKEN, None).status,
        405
    );
}

pub(crate) fn commit(gl: &GitLab, token: &str, body: Value) -> Answer {
    send(
        "POST",
        &project_url(gl, "repository/commits"),
        token,
        Some(body),
    )
}

#[test]
fn a_commit_of_several_actions_starts_a_branch_from_start_branch() {
    let gl = server();
    let main = gl.branch_commit(APP, "main").unwrap();
    let answer = commit(
        &gl,
        DAVE_TOKEN,
        json!({
            "branch": "tfw/template-2",
            "start_branch": "main",
            "commit_message": "tfw: template 2\n\nbody",
            "actions": [
                { "action": "update", "file_path": "a.txt", "content": "A\n" },
                { "action": "create", "file_path": "run.sh", "content": "IyEvYmluL3NoCg==",
                  "encoding": "base64", "execute_filemode": true },
                { "action": "move", "file_path": "new/b.txt", "previous_path": "old/b.txt" },
                { "action": "chmod", "file_path": "a.txt", "execute_filemode": true },
            ],
        }),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["title"], "tfw: template 2");
    assert_eq!(answer.body["parent_ids"], json!([main]));
    let id = answer.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        answer.body["web_url"],
        format!("{}/{APP}/-/commit/{id}", gl.url())
    );
    assert_eq!(gl.branch_commit(APP, "tfw/template-2"), Some(id));
    let files = gl.files(APP, "tfw/template-2");
    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(paths, ["a.txt", "new/b.txt", "run.sh"]);
    assert_eq!(files["a.txt"], (b"A\n".to_vec(), FileMode::Executable));
    assert_eq!(files["new/b.txt"], (b"b\n".to_vec(), FileMode::Regular));
    assert_eq!(
        files["run.sh"],
        (b"#!/bin/sh\n".to_vec(), FileMode::Executable)
    );
    assert_eq!(
        gl.file(APP, "main", "a.txt").unwrap(),
        b"a\n",
        "main is untouched"
    );

    // The branch exists now: committing to it from main again needs `force` (a reset of the
    // branch to main plus this commit, as a rerun of a sync does).
    let again = json!({
        "branch": "tfw/template-2", "start_branch": "main", "commit_message": "again",
        "actions": [{ "action": "delete", "file_path": "a.txt" }],
    });
    let refused = commit(&gl, DAVE_TOKEN, again.clone());
    assert_eq!(
        (refused.status, message(&refused)),
        (400, "A branch called 'tfw/template-2' already exists. Switch to that branch in order to make changes".into())
    );
    let mut forced = again;
    forced["force"] = json!(true);
    assert_eq!(commit(&gl, DAVE_TOKEN, forced).status, 201);
    let files = gl.files(APP, "tfw/template-2");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["old/b.txt"],
        "reset to main, then a.txt deleted"
    );
}

#[test]
fn an_invalid_action_is_400_with_gitlabs_message_and_nothing_is_committed() {
    let gl = server();
    let before = gl.branch_commit(APP, "main");
    let one = |action: Value| {
        let answer = commit(
            &gl,
            DAVE_TOKEN,
            json!({ "branch": "main", "commit_message": "m", "actions": [action] }),
        );
        (
            answer.status,
            message(&answer),
            answer.body["error"].clone(),
        )
    };
    assert_eq!(
        one(json!({ "action": "create", "file_path": "a.txt", "content": "x" })),
        (
            400,
            "A file with this name already exists".into(),
            Value::Null
        )
    );
    assert_eq!(
        one(json!({ "action": "update", "file_path": "missing.txt", "content": "x" })),
        (
            400,
            "A file with this name doesn't exist".into(),
            Value::Null
        )
    );
    assert_eq!(
        one(json!({ "action": "delete", "file_path": "missing.txt" })),
        (
            400,
            "A file with this name doesn't exist".into(),
            Value::Null
        )
    );
    let (status, _, error) = one(json!({ "action": "rename", "file_path": "a.txt" }));
    assert_eq!(
        (status, error),
        (400, json!("actions[0][action] does not have a valid value"))
    );
    assert_eq!(
        one(json!({ "action": "update", "file_path": "a.txt", "content": "x", "last_commit_id": "0".repeat(40) })).1,
        "You are attempting to update a file `a.txt` that has changed since you started editing it."
    );
    assert_eq!(
        one(json!({ "action": "create", "file_path": "../x", "content": "x" })).1,
        "Your changes could not be committed, because the file name, `../x` cannot include directory traversal."
    );
    let no_branch = commit(
        &gl,
        DAVE_TOKEN,
        json!({ "branch": "b", "start_branch": "nope", "commit_message": "m", "actions": [] }),
    );
    assert_eq!(
        (no_branch.status, message(&no_branch)),
        (
            400,
            "You can only create or edit files when you are on a branch".into()
        )
    );
    assert_eq!(gl.branch_commit(APP, "main"), before);
}

#[test]
fn a_protected_branch_refuses_pushes_below_its_role() {
    let gl = server();
    gl.protect_branch(APP, "main", Some(Role::Maintainer));
    let body = json!({
        "branch": "main", "commit_message": "m",
        "actions": [{ "action": "update", "file_path": "a.txt", "content": "x\n" }],
    });
    let developer = commit(&gl, DAVE_TOKEN, body.clone());
    assert_eq!(
        (developer.status, message(&developer)),
        (
            403,
            "403 Forbidden - You are not allowed to push into this branch".into()
        )
    );
    assert_eq!(commit(&gl, ALICE_TOKEN, body.clone()).status, 201);
    // "No one": not even a Maintainer; a new branch from it is still allowed.
    gl.protect_branch(APP, "main", None);
    assert_eq!(commit(&gl, ALICE_TOKEN, body.clone()).status, 403);
    let mut elsewhere = body;
    elsewhere["branch"] = json!("tfw/template-2");
    elsewhere["start_branch"] = json!("main");
    assert_eq!(commit(&gl, DAVE_TOKEN, elsewhere).status, 201);
    // A read_api token is refused before any of that, naming the scope.
    let read_only = commit(&gl, "glpat-alice-read-only-01", json!({}));
    assert_eq!(
        (read_only.status, read_only.body["error"].clone()),
        (403, json!("insufficient_scope"))
    );
}
