//! Tests of the GitLab test server itself: every other test trusts it to answer like GitLab,
//! so each row of `/work/shared/reference/gitlab-state-api.md` is checked here with a plain
//! HTTP client, and once with the real Terraform `http` backend.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::gitlab::{
    ALICE, ALICE_TOKEN, BOB, BOB_TOKEN, CI_BOT, CI_JOB_NAME, CI_JOB_TOKEN, CI_JOB_USERNAME, DAVE,
    DAVE_TOKEN, Fault, GitLab, PROJECT_ID, PROJECT_PATH, Role, Route, basic_auth, closed_port_url,
    encode_component,
};

const PROJECT: &str = "42";

pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build()
}

fn send_with(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Answer {
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(body) => request.send_bytes(body),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let mut body = Vec::new();
    response
        .into_reader()
        .read_to_end(&mut body)
        .expect("read the body");
    Answer { status, body }
}

pub(crate) fn send(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Answer {
    send_with(&agent(), method, url, headers, body)
}

pub(crate) fn as_user(username: &str, token: &str) -> Vec<(&'static str, String)> {
    vec![("Authorization", basic_auth(username, token))]
}

pub(crate) fn alice() -> Vec<(&'static str, String)> {
    as_user(ALICE, ALICE_TOKEN)
}

pub(crate) fn bob() -> Vec<(&'static str, String)> {
    as_user(BOB, BOB_TOKEN)
}

pub(crate) fn dave() -> Vec<(&'static str, String)> {
    as_user(DAVE, DAVE_TOKEN)
}

pub(crate) fn state_doc(serial: u64) -> Vec<u8> {
    // Odd spacing on purpose: the server must keep the bytes exactly.
    format!("{{\"version\": 4,  \"serial\":{serial},\n \"lineage\":\"l-1\", \"outputs\":{{}}}}")
        .into_bytes()
}

pub(crate) fn lock_info(id: &str, who: &str) -> Value {
    json!({
        "ID": id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": who,
        "Version": "1.0.3",
        "Created": "2024-05-01T12:00:00.123456789Z",
        "Path": "",
    })
}

pub(crate) fn lock_body(id: &str, who: &str) -> Vec<u8> {
    lock_info(id, who).to_string().into_bytes()
}

#[test]
fn get_state_answers_200_204_404_401_and_422() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");

    assert_eq!(send("GET", &url, &alice(), None).status, 404);

    // A lock creates an empty record, like GitLab: the state then exists but holds no data.
    assert_eq!(
        send(
            "POST",
            &format!("{url}/lock"),
            &alice(),
            Some(&lock_body("l1", "x"))
        )
        .status,
        200
    );
    let empty = send("GET", &url, &alice(), None);
    assert_eq!((empty.status, empty.body.len()), (204, 0));
    assert_eq!(
        send("DELETE", &format!("{url}/lock"), &alice(), None).status,
        200
    );

    gl.put_state(PROJECT, "prod", &state_doc(3));
    let got = send("GET", &url, &dave(), None);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, state_doc(3));

    let unauthenticated = send("GET", &url, &[], None);
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(
        unauthenticated.json(),
        json!({"message": "401 Unauthorized"})
    );
    assert_eq!(
        send("GET", &url, &as_user(ALICE, "glpat-wrong"), None).status,
        401
    );

    gl.mark_deleting(PROJECT, "prod");
    assert_eq!(send("GET", &url, &alice(), None).status, 422);
}

#[test]
fn post_state_stores_each_serial_as_a_version_and_validates() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");

    // Creates the record on first write.
    let first = send("POST", &url, &alice(), Some(&state_doc(1)));
    assert_eq!(first.status, 200);
    assert_eq!(gl.state(PROJECT, "prod"), Some(state_doc(1)));

    assert_eq!(send("POST", &url, &alice(), Some(b"")).status, 204);
    assert_eq!(
        send("POST", &url, &alice(), Some(br#"{"version":4}"#)).status,
        422,
        "no serial"
    );
    assert_eq!(
        send("POST", &url, &alice(), Some(b"{not json")).status,
        422,
        "invalid JSON"
    );
    assert_eq!(
        send("POST", &url, &alice(), Some(&state_doc(1))).status,
        422,
        "duplicate serial"
    );
    let forbidden = send("POST", &url, &dave(), Some(&state_doc(2)));
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json(), json!({"message": "403 Forbidden"}));

    assert_eq!(send("POST", &url, &bob(), Some(&state_doc(2))).status, 200);
    assert_eq!(
        gl.versions(PROJECT, "prod"),
        vec![(1, state_doc(1)), (2, state_doc(2))]
    );
    assert_eq!(gl.state(PROJECT, "prod"), Some(state_doc(2)));

    gl.set_max_state_size(10);
    assert_eq!(
        send("POST", &url, &alice(), Some(&state_doc(3))).status,
        413
    );
}

#[test]
fn post_state_must_carry_the_held_lock_id() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.set_lock(PROJECT, "prod", lock_info("bob-lock", BOB));

    // `handle_with_lock` raises `StateLockedError`, which the state API does not rescue on
    // writes: GitLab answers 500, not 409, and says nothing about the holder.
    for query in ["", "?ID=someone-else"] {
        let conflict = send(
            "POST",
            &format!("{url}{query}"),
            &alice(),
            Some(&state_doc(1)),
        );
        assert_eq!(conflict.status, 500, "{query}");
        assert_eq!(
            conflict.json(),
            json!({"message": "500 Internal Server Error"})
        );
    }
    assert_eq!(gl.versions(PROJECT, "prod"), vec![]);

    let ok = send(
        "POST",
        &format!("{url}?ID=bob-lock"),
        &bob(),
        Some(&state_doc(1)),
    );
    assert_eq!(ok.status, 200);
    assert_eq!(gl.state(PROJECT, "prod"), Some(state_doc(1)));

    // GitLab's lock_matches?: an ID sent to an unlocked state matches nothing.
    gl.clear_lock(PROJECT, "prod");
    let stale = send(
        "POST",
        &format!("{url}?ID=bob-lock"),
        &bob(),
        Some(&state_doc(2)),
    );
    assert_eq!(stale.status, 500);
    assert_eq!(send("POST", &url, &bob(), Some(&state_doc(2))).status, 200);
}

#[test]
fn delete_state_removes_all_versions_unless_locked() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    assert_eq!(send("DELETE", &url, &alice(), None).status, 404);
    gl.put_state(PROJECT, "prod", &state_doc(1));
    gl.put_state(PROJECT, "prod", &state_doc(2));

    assert_eq!(send("DELETE", &url, &dave(), None).status, 403);

    // A locked state survives, yet the answer is 200: callers must check afterwards.
    gl.set_lock(PROJECT, "prod", lock_info("l", BOB));
    assert_eq!(send("DELETE", &url, &alice(), None).status, 200);
    assert_eq!(gl.versions(PROJECT, "prod").len(), 2);

    // Unlocked: the deletion is scheduled (`deleted_at`), the worker removes it later; until
    // then every route answers 422 and re-creating the name is refused too.
    gl.clear_lock(PROJECT, "prod");
    assert_eq!(send("DELETE", &url, &alice(), None).status, 200);
    assert!(gl.is_deleting(PROJECT, "prod"));
    let lock_url = format!("{url}/lock");
    for (method, target, body) in [
        ("GET", url.clone(), None),
        ("POST", url.clone(), Some(state_doc(3))),
        ("DELETE", url.clone(), None),
        ("POST", lock_url.clone(), Some(lock_body("x", ALICE))),
        ("DELETE", lock_url.clone(), None),
        ("GET", format!("{url}/versions/1"), None),
    ] {
        let answer = send(method, &target, &alice(), body.as_deref());
        assert_eq!(answer.status, 422, "{method} {target}");
        assert_eq!(answer.json(), json!({"message": "State is deleted"}));
    }
    let listed = graphql(
        &gl,
        &[("Authorization", format!("Bearer {ALICE_TOKEN}"))],
        json!({"query": "{ project(fullPath: \"group/infra\") { terraformStates { nodes { name deletedAt } } } }"}),
    );
    let nodes = &listed.json()["data"]["project"]["terraformStates"]["nodes"];
    assert_eq!(nodes[0]["name"], "prod");
    assert!(nodes[0]["deletedAt"].is_string(), "{nodes}");

    gl.run_deletion_worker();
    assert!(!gl.has_state(PROJECT, "prod"));
    assert_eq!(gl.versions(PROJECT, "prod"), vec![]);
    assert_eq!(send("GET", &url, &alice(), None).status, 404);
    assert_eq!(
        send("POST", &url, &alice(), Some(&state_doc(1))).status,
        200
    );
}

#[test]
fn lock_answers_the_holder_on_conflict_and_validates_fields() {
    let gl = GitLab::start();
    let lock_url = format!("{}/lock", gl.state_url(PROJECT, "prod"));

    let locked = send(
        "POST",
        &lock_url,
        &alice(),
        Some(&lock_body("alice-1", "alice@laptop")),
    );
    assert_eq!(locked.status, 200);
    let answer = locked.json();
    assert_eq!(answer["ID"], "alice-1");
    assert_eq!(
        answer["Who"], ALICE,
        "GitLab reports its own username, not the client's Who"
    );
    assert_eq!(answer["Operation"], "OperationTypeApply");
    assert!(answer["Created"].as_str().unwrap().ends_with('Z'));
    let held = gl.lock(PROJECT, "prod").expect("locked");
    assert_eq!(
        (held["ID"].as_str(), held["Who"].as_str()),
        (Some("alice-1"), Some(ALICE))
    );

    // Even the same ID again is a conflict: GitLab only checks `locked?`.
    for (who, id) in [(bob(), "bob-1"), (alice(), "alice-1")] {
        let conflict = send("POST", &lock_url, &who, Some(&lock_body(id, "someone")));
        assert_eq!(conflict.status, 409);
        let holder = conflict.json();
        assert_eq!(holder["ID"], "alice-1");
        assert_eq!(holder["Who"], ALICE);
        assert_eq!(holder["Created"], answer["Created"]);
    }

    let mut missing = lock_info("x", "y");
    missing.as_object_mut().unwrap().remove("Path");
    missing.as_object_mut().unwrap().remove("ID");
    let bad = send(
        "POST",
        &lock_url,
        &bob(),
        Some(missing.to_string().as_bytes()),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json(),
        json!({"error": "ID is missing, Path is missing"})
    );
    for field in [
        "ID",
        "Operation",
        "Info",
        "Who",
        "Version",
        "Created",
        "Path",
    ] {
        let mut info = lock_info("x", "y");
        info.as_object_mut().unwrap().remove(field);
        let url = format!("{}/lock", gl.state_url(PROJECT, "other"));
        let answer = send("POST", &url, &bob(), Some(info.to_string().as_bytes()));
        assert_eq!(answer.status, 400, "without {field}");
    }

    let dev = send(
        "POST",
        &format!("{}/lock", gl.state_url(PROJECT, "dev")),
        &dave(),
        Some(&lock_body("d", "d")),
    );
    assert_eq!(dev.status, 403);
    assert!(!gl.has_state(PROJECT, "dev"));
}

#[test]
fn unlock_takes_the_id_from_query_or_body_and_force_unlocks_without() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    let lock_url = format!("{url}/lock");
    let relock = || gl.set_lock(PROJECT, "prod", lock_info("held", BOB));

    relock();
    assert_eq!(send("DELETE", &lock_url, &dave(), None).status, 403);
    assert_eq!(
        send("DELETE", &format!("{lock_url}?ID=wrong"), &bob(), None).status,
        409
    );
    assert_eq!(
        send("DELETE", &lock_url, &bob(), Some(&lock_body("wrong", BOB))).status,
        409
    );
    assert!(gl.lock(PROJECT, "prod").is_some());

    assert_eq!(
        send("DELETE", &format!("{lock_url}?ID=held"), &bob(), None).status,
        200
    );
    assert_eq!(gl.lock(PROJECT, "prod"), None);

    relock();
    assert_eq!(
        send("DELETE", &lock_url, &bob(), Some(&lock_body("held", BOB))).status,
        200,
        "Terraform sends the LockInfo as the body"
    );
    assert_eq!(gl.lock(PROJECT, "prod"), None);

    relock();
    assert_eq!(
        send("DELETE", &lock_url, &alice(), None).status,
        200,
        "no ID at all is a force-unlock, whoever holds the lock"
    );
    assert_eq!(gl.lock(PROJECT, "prod"), None);

    // Not locked: force-unlock is fine, an ID matches nothing (GitLab's lock_matches?).
    assert_eq!(send("DELETE", &lock_url, &alice(), Some(b"")).status, 200);
    assert_eq!(
        send("DELETE", &lock_url, &alice(), Some(&lock_body("held", BOB))).status,
        409
    );
}

#[test]
fn versions_are_kept_by_serial_and_developers_may_read_them() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    assert_eq!(
        send("POST", &url, &alice(), Some(&state_doc(7))).status,
        200
    );
    assert_eq!(
        send("POST", &url, &alice(), Some(&state_doc(8))).status,
        200
    );

    let v7 = send("GET", &format!("{url}/versions/7"), &dave(), None);
    assert_eq!((v7.status, v7.body), (200, state_doc(7)));
    assert_eq!(
        send("GET", &format!("{url}/versions/9"), &dave(), None).status,
        404
    );
    assert_eq!(
        send("GET", &format!("{url}/versions/x"), &dave(), None).status,
        400
    );
    let other = gl.state_url(PROJECT, "nope");
    assert_eq!(
        send("GET", &format!("{other}/versions/7"), &dave(), None).status,
        404
    );

    assert_eq!(
        send("DELETE", &format!("{url}/versions/7"), &dave(), None).status,
        403
    );
    assert_eq!(
        send("DELETE", &format!("{url}/versions/7"), &alice(), None).status,
        204
    );
    assert_eq!(gl.versions(PROJECT, "prod"), vec![(8, state_doc(8))]);
}

#[test]
fn names_and_projects_are_url_encoded_path_segments() {
    let gl = GitLab::start();
    let api = gl.api_url();
    let by_path = |name: &str| format!("{api}/projects/group%2Finfra/terraform/state/{name}");

    assert_eq!(
        send(
            "POST",
            &by_path("env%2Fprod"),
            &alice(),
            Some(&state_doc(1))
        )
        .status,
        200
    );
    assert_eq!(gl.state_names(PROJECT), vec!["env/prod"]);
    assert_eq!(gl.state(PROJECT_PATH, "env/prod"), Some(state_doc(1)));
    assert_eq!(
        send(
            "GET",
            &format!("{api}/projects/{PROJECT_ID}/terraform/state/env%2Fprod"),
            &alice(),
            None
        )
        .status,
        200
    );
    assert_eq!(
        send("GET", &by_path("env/prod"), &alice(), None).status,
        404,
        "a raw slash misses the route"
    );

    assert_eq!(
        send("POST", &by_path("prod.eu-1"), &alice(), Some(&state_doc(1))).status,
        200
    );
    assert_eq!(gl.state_names("42"), vec!["env/prod", "prod.eu-1"]);
    // The versions route has no `[^/]+` requirement on the name (`state_version.rb`): Grape
    // reads a raw dot as a format suffix and misses the route, `%2E` works.
    assert_eq!(
        send(
            "GET",
            &format!("{}/versions/1", by_path("prod.eu-1")),
            &alice(),
            None
        )
        .status,
        404
    );
    assert_eq!(
        send(
            "GET",
            &format!("{}/versions/1", by_path("prod%2Eeu-1")),
            &alice(),
            None
        )
        .status,
        200
    );
    assert_eq!(
        send("GET", &by_path("prod%2Eeu-1"), &alice(), None).status,
        200
    );
    assert_eq!(
        gl.state_url("group/infra", "a b/c.d"),
        format!("{api}/projects/group%2Finfra/terraform/state/a%20b%2Fc%2Ed")
    );
    assert_eq!(encode_component("env/prod"), "env%2Fprod");

    let longest = "n".repeat(255);
    assert_eq!(
        send("POST", &by_path(&longest), &alice(), Some(&state_doc(1))).status,
        200
    );
    let too_long = "n".repeat(256);
    assert_eq!(
        send("POST", &by_path(&too_long), &alice(), Some(&state_doc(1))).status,
        400
    );
    assert_eq!(send("GET", &by_path(&too_long), &alice(), None).status, 400);
    // Characters, not bytes: 255 two-byte letters are a valid name.
    let wide = "é".repeat(255);
    assert_eq!(
        send(
            "POST",
            &by_path(&encode_component(&wide)),
            &alice(),
            Some(&state_doc(1))
        )
        .status,
        200
    );
    // The versions route has no length rule: a long name is just not found.
    assert_eq!(
        send(
            "GET",
            &format!("{}/versions/1", by_path(&too_long)),
            &alice(),
            None
        )
        .status,
        404
    );

    let unknown = send(
        "GET",
        &format!("{api}/projects/other%2Fproject/terraform/state/x"),
        &alice(),
        None,
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json(), json!({"message": "404 Project Not Found"}));
    assert_eq!(
        send(
            "GET",
            &format!("{api}/projects/7/terraform/state/x"),
            &alice(),
            None
        )
        .status,
        404
    );

    // Roles are per project: a maintainer of one is nobody in another (404, not 403).
    gl.add_project(7, "team/app");
    let post = || {
        send(
            "POST",
            &format!("{api}/projects/team%2Fapp/terraform/state/x"),
            &alice(),
            Some(&state_doc(1)),
        )
    };
    let stranger = post();
    assert_eq!(stranger.status, 404);
    assert_eq!(stranger.json(), json!({"message": "404 Project Not Found"}));
    gl.set_role("7", ALICE, Some(Role::Developer));
    assert_eq!(post().status, 403);
    gl.set_role("7", ALICE, Some(Role::Maintainer));
    assert_eq!(post().status, 200);
    assert_eq!(gl.state("7", "x"), Some(state_doc(1)));
}

#[test]
fn unknown_routes_and_methods() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    assert_eq!(
        send(
            "GET",
            &format!("{}/api/v4/projects", gl.url()),
            &alice(),
            None
        )
        .status,
        404
    );
    assert_eq!(
        send("GET", &format!("{url}/lock/extra"), &alice(), None).status,
        404
    );
    // Terraform's default lock methods are wrong for GitLab.
    assert_eq!(
        send("LOCK", &url, &alice(), Some(&lock_body("a", "b"))).status,
        405
    );
    assert_eq!(send("PUT", &url, &alice(), Some(&state_doc(1))).status, 405);
}

#[test]
fn basic_bearer_private_token_and_job_tokens_are_accepted() {
    let gl = GitLab::start();
    gl.put_state(PROJECT, "prod", &state_doc(1));
    let url = gl.state_url(PROJECT, "prod");
    let get = |headers: Vec<(&'static str, String)>| send("GET", &url, &headers, None).status;

    assert_eq!(
        get(as_user("anything", ALICE_TOKEN)),
        200,
        "GitLab ignores the username"
    );
    assert_eq!(
        get(as_user("", ALICE_TOKEN)),
        401,
        "but it must not be empty"
    );
    assert_eq!(
        get(vec![("Authorization", format!("Bearer {BOB_TOKEN}"))]),
        200
    );
    assert_eq!(get(vec![("PRIVATE-TOKEN", DAVE_TOKEN.to_string())]), 200);
    assert_eq!(get(vec![("Authorization", "Bearer nope".into())]), 401);
    assert_eq!(get(vec![("Authorization", "Basic !!!".into())]), 401);
    assert_eq!(get(as_user(CI_JOB_USERNAME, CI_JOB_TOKEN)), 200);
    assert_eq!(
        get(as_user("ci", CI_JOB_TOKEN)),
        401,
        "a job token needs gitlab-ci-token"
    );
    assert_eq!(get(as_user(CI_JOB_USERNAME, ALICE_TOKEN)), 401);

    // The job acts as its user, with that user's role.
    let write = send(
        "POST",
        &url,
        &as_user(CI_JOB_USERNAME, CI_JOB_TOKEN),
        Some(&state_doc(2)),
    );
    assert_eq!(write.status, 200);
    assert_eq!(gl.requests().last().unwrap().user.as_deref(), Some(CI_BOT));

    gl.add_job_token("dev-job", DAVE, Role::Developer);
    assert_eq!(
        send(
            "POST",
            &url,
            &as_user(CI_JOB_USERNAME, "dev-job"),
            Some(&state_doc(3))
        )
        .status,
        403
    );
    gl.add_user("rita", "glpat-rita", Role::Reporter);
    assert_eq!(get(as_user("rita", "glpat-rita")), 403);

    gl.finish_job(CI_JOB_TOKEN);
    assert_eq!(
        get(as_user(CI_JOB_USERNAME, CI_JOB_TOKEN)),
        401,
        "job tokens die with their job"
    );
}

pub(crate) fn graphql(gl: &GitLab, headers: &[(&str, String)], body: Value) -> Answer {
    send(
        "POST",
        &gl.graphql_url(),
        headers,
        Some(body.to_string().as_bytes()),
    )
}

const LIST_STATES: &str = "query($fullPath: ID!) { project(fullPath: $fullPath) { terraformStates { nodes { name lockedAt lockedByUser { username } updatedAt latestVersion { serial createdAt createdByUser { username } job { name } } } } } }";

#[test]
fn graphql_lists_states_with_locks_and_latest_versions() {
    let gl = GitLab::start();
    let prod = gl.state_url(PROJECT, "prod");
    // Written under alice's lock, so GitLab records alice as the author.
    assert_eq!(
        send(
            "POST",
            &format!("{prod}/lock"),
            &alice(),
            Some(&lock_body("a1", "x"))
        )
        .status,
        200
    );
    assert_eq!(
        send(
            "POST",
            &format!("{prod}?ID=a1"),
            &alice(),
            Some(&state_doc(5))
        )
        .status,
        200
    );
    // Written by the CI job without a lock: no author, but the job.
    let staging = gl.state_url(PROJECT, "staging");
    let job = as_user(CI_JOB_USERNAME, CI_JOB_TOKEN);
    assert_eq!(
        send("POST", &staging, &job, Some(&state_doc(2))).status,
        200
    );

    let answer = graphql(
        &gl,
        &[("Authorization", format!("Bearer {DAVE_TOKEN}"))],
        json!({"query": LIST_STATES, "variables": {"fullPath": PROJECT_PATH}}),
    );
    assert_eq!(answer.status, 200);
    let nodes = answer.json()["data"]["project"]["terraformStates"]["nodes"].clone();
    let nodes = nodes.as_array().expect("nodes");
    assert_eq!(nodes.len(), 2);

    let prod = &nodes[0];
    assert_eq!(prod["name"], "prod");
    assert_eq!(prod["lockedByUser"], json!({"username": ALICE}));
    assert!(prod["lockedAt"].as_str().unwrap().ends_with('Z'));
    assert!(humantime::parse_rfc3339(prod["updatedAt"].as_str().unwrap()).is_ok());
    assert_eq!(prod["latestVersion"]["serial"], 5);
    assert_eq!(
        prod["latestVersion"]["createdByUser"],
        json!({"username": ALICE})
    );
    assert_eq!(prod["latestVersion"]["job"], Value::Null);
    assert!(humantime::parse_rfc3339(prod["latestVersion"]["createdAt"].as_str().unwrap()).is_ok());

    let staging = &nodes[1];
    assert_eq!(staging["name"], "staging");
    assert_eq!(
        (staging["lockedAt"].clone(), staging["lockedByUser"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(staging["latestVersion"]["createdByUser"], Value::Null);
    assert_eq!(
        staging["latestVersion"]["job"],
        json!({"name": CI_JOB_NAME})
    );

    // A literal path, and Bearer / PRIVATE-TOKEN auth.
    let literal = json!({"query": "{ project(fullPath: \"group/infra\") { terraformStates { nodes { name } } } }"});
    let by_bearer = graphql(
        &gl,
        &[("Authorization", format!("Bearer {ALICE_TOKEN}"))],
        literal.clone(),
    );
    assert_eq!(
        by_bearer.json()["data"]["project"]["terraformStates"]["nodes"][1]["name"],
        "staging"
    );
    let by_private = graphql(
        &gl,
        &[("PRIVATE-TOKEN", ALICE_TOKEN.to_string())],
        literal.clone(),
    );
    assert_eq!(by_private.status, 200);

    let unknown = graphql(
        &gl,
        &[("Authorization", format!("Bearer {ALICE_TOKEN}"))],
        json!({"query": LIST_STATES, "variables": {"fullPath": "no/such"}}),
    );
    assert_eq!(unknown.json(), json!({"data": {"project": null}}));
    // GitLab takes basic auth only on the state API: on GraphQL it authenticates nobody.
    assert_eq!(
        graphql(&gl, &alice(), literal.clone()).json(),
        json!({"data": {"project": null}})
    );
    // Anonymous GraphQL works on GitLab but cannot see a private project.
    assert_eq!(
        graphql(&gl, &[], literal.clone()).json(),
        json!({"data": {"project": null}})
    );
    assert_eq!(
        graphql(&gl, &[("Authorization", "Bearer bad".to_string())], literal).status,
        401
    );
}

#[test]
fn faults_answer_by_route_and_method_the_first_n_times() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.put_state(PROJECT, "prod", &state_doc(1));

    gl.fault(Fault::status(Route::State, 500).method("GET").times(2));
    gl.fault(Fault::respond(
        Route::Lock,
        409,
        lock_info("theirs", BOB).to_string(),
    ));
    for _ in 0..2 {
        let failed = send("GET", &url, &alice(), None);
        assert_eq!(failed.status, 500);
        assert_eq!(
            failed.json(),
            json!({"message": "500 Internal Server Error"})
        );
    }
    assert_eq!(
        send("GET", &url, &alice(), None).status,
        200,
        "only the first two"
    );
    assert_eq!(
        send("POST", &url, &alice(), Some(&state_doc(2))).status,
        200,
        "only GET"
    );

    let lock = send(
        "POST",
        &format!("{url}/lock"),
        &alice(),
        Some(&lock_body("mine", ALICE)),
    );
    assert_eq!(lock.status, 409);
    assert_eq!(lock.json()["ID"], "theirs");
    assert_eq!(
        gl.lock(PROJECT, "prod"),
        None,
        "a faulted request has no effect"
    );

    gl.clear_faults();
    gl.fault(Fault::status(Route::Any, 401).state("other"));
    assert_eq!(send("GET", &url, &alice(), None).status, 200);
    assert_eq!(
        send("GET", &gl.state_url(PROJECT, "other"), &alice(), None).status,
        401
    );
    gl.clear_faults();
    gl.fault(Fault::status(Route::GraphQL, 503));
    let answer = graphql(
        &gl,
        &alice(),
        json!({"query": LIST_STATES, "variables": {"fullPath": PROJECT_PATH}}),
    );
    assert_eq!(answer.status, 503);
}

#[test]
fn delay_fault_then_normal_handling_and_the_log_shows_it_pending() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.fault(Fault::delay(Route::State, Duration::from_millis(600)).method("POST"));

    let started = Instant::now();
    let writer = {
        let url = url.clone();
        thread::spawn(move || send("POST", &url, &alice(), Some(&state_doc(1))).status)
    };
    let pending = gl
        .wait_for_request(Duration::from_secs(5), |r| r.method == "POST")
        .expect("the POST arrives");
    assert_eq!(pending.status, 0, "still being delayed");
    assert_eq!(gl.state(PROJECT, "prod"), None);

    assert_eq!(writer.join().unwrap(), 200);
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(gl.state(PROJECT, "prod"), Some(state_doc(1)));
    assert_eq!(gl.requests().last().unwrap().status, 200);
}

#[test]
fn hang_fault_never_answers() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.fault(Fault::hang(Route::Lock, Duration::from_secs(30)).times(1));
    let impatient = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(300))
        .build();

    let started = Instant::now();
    let hung = impatient
        .post(&format!("{url}/lock"))
        .set("Authorization", &basic_auth(ALICE, ALICE_TOKEN))
        .send_bytes(&lock_body("a", "b"));
    assert!(matches!(hung, Err(ureq::Error::Transport(_))), "{hung:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(gl.lock(PROJECT, "prod"), None);
    assert_eq!(gl.requests()[0].status, 0);

    let second = send(
        "POST",
        &format!("{url}/lock"),
        &alice(),
        Some(&lock_body("a", "b")),
    );
    assert_eq!(second.status, 200);
}

#[test]
fn truncated_fault_announces_more_than_it_sends() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.put_state(PROJECT, "prod", &state_doc(1));
    gl.fault(Fault::truncate(Route::State).method("GET").times(1));

    let response = agent()
        .get(&url)
        .set("Authorization", &basic_auth(ALICE, ALICE_TOKEN))
        .call()
        .expect("the headers arrive");
    assert_eq!(response.status(), 200);
    let announced: usize = response.header("Content-Length").unwrap().parse().unwrap();
    assert!(announced > state_doc(1).len());
    let mut body = Vec::new();
    assert!(response.into_reader().read_to_end(&mut body).is_err());
    assert!(body.len() < state_doc(1).len());

    assert_eq!(send("GET", &url, &alice(), None).body, state_doc(1));
}

#[test]
fn closed_port_url_refuses_connections() {
    let url = closed_port_url();
    match agent().get(&format!("{url}/api/v4")).call() {
        Err(ureq::Error::Transport(t)) => {
            assert_eq!(t.kind(), ureq::ErrorKind::ConnectionFailed, "{t}")
        }
        other => panic!("expected a refused connection, got {other:?}"),
    }
}

#[test]
fn request_log_records_method_raw_url_user_status_and_body() {
    let gl = GitLab::start();
    let url = format!("{}?ID=abc%2Bdef", gl.state_url(PROJECT, "env/prod"));
    send("POST", &url, &alice(), Some(&state_doc(1)));
    send(
        "GET",
        &gl.state_url(PROJECT, "nope"),
        &as_user(BOB, "bad"),
        None,
    );

    let log = gl.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "POST");
    assert_eq!(
        log[0].url,
        "/api/v4/projects/42/terraform/state/env%2Fprod?ID=abc%2Bdef"
    );
    assert_eq!(
        log[0].path(),
        "/api/v4/projects/42/terraform/state/env%2Fprod"
    );
    assert_eq!(log[0].user.as_deref(), Some(ALICE));
    assert_eq!(log[0].status, 500, "an ID sent to an unlocked state");
    assert_eq!(log[0].body, state_doc(1));
    assert!(
        log[0]
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!((log[1].user.clone(), log[1].status), (None, 401));

    gl.clear_requests();
    assert_eq!(gl.requests(), vec![]);
    gl.set_request_log(false);
    send("GET", &gl.state_url(PROJECT, "nope"), &alice(), None);
    assert_eq!(gl.requests(), vec![]);
}

#[test]
fn concurrent_requests_are_served_in_parallel() {
    let gl = GitLab::start();
    // One slow request must not hold up the others.
    gl.fault(Fault::delay(Route::State, Duration::from_secs(2)).state("slow"));
    let slow = {
        let url = gl.state_url(PROJECT, "slow");
        thread::spawn(move || send("GET", &url, &alice(), None).status)
    };
    let started = Instant::now();
    let workers: Vec<_> = (0..16u64)
        .map(|i| {
            let url = gl.state_url(PROJECT, &format!("s{i}"));
            thread::spawn(move || {
                let agent = agent();
                let post = send_with(&agent, "POST", &url, &alice(), Some(&state_doc(i + 1)));
                let get = send_with(&agent, "GET", &url, &alice(), None);
                (post.status, get.body)
            })
        })
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        assert_eq!(worker.join().unwrap(), (200, state_doc(i as u64 + 1)));
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(slow.join().unwrap(), 404);
    assert_eq!(gl.state_names(PROJECT).len(), 16);
}

#[test]
fn dropping_the_server_ends_hangs_closes_connections_and_frees_the_port() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    let port = gl.port();

    // An idle keep-alive connection and a hung request are both in flight at drop time.
    let keep_alive = agent();
    assert_eq!(
        send_with(&keep_alive, "GET", &url, &alice(), None).status,
        404
    );
    gl.fault(Fault::hang(Route::State, Duration::from_secs(60)));
    let hung = {
        let url = url.clone();
        thread::spawn(move || {
            agent()
                .get(&url)
                .set("Authorization", &basic_auth(ALICE, ALICE_TOKEN))
                .call()
                .is_err()
        })
    };
    gl.wait_for_request(Duration::from_secs(5), |r| r.status == 0)
        .expect("the hung request arrives");

    let started = Instant::now();
    drop(gl);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drop took {:?}",
        started.elapsed()
    );
    assert!(
        hung.join().unwrap(),
        "the hung request fails instead of waiting 60 s"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// The real Terraform binary: `$TFW_TEST_TERRAFORM`, else the cached install.
fn terraform_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TFW_TEST_TERRAFORM").filter(|p| !p.is_empty()) {
        return path.into();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-terraform");
    let output = Command::new(&script)
        .output()
        .expect("run scripts/install-test-terraform");
    assert!(
        output.status.success(),
        "install-test-terraform failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

#[test]
fn real_terraform_applies_through_the_http_backend() {
    let gl = GitLab::start();
    let terraform = terraform_binary();
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("main.tf"),
        "terraform {\n  backend \"http\" {}\n}\n\noutput \"x\" {\n  value = \"hello\"\n}\n",
    )
    .unwrap();
    let address = gl.state_url(PROJECT_PATH, "smoke");
    let lock_address = format!("{address}/lock");

    let run = |args: &[&str]| {
        let output = Command::new(&terraform)
            .args(args)
            .current_dir(work.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_HTTP_ADDRESS", &address)
            .env("TF_HTTP_LOCK_ADDRESS", &lock_address)
            .env("TF_HTTP_UNLOCK_ADDRESS", &lock_address)
            .env("TF_HTTP_LOCK_METHOD", "POST")
            .env("TF_HTTP_UNLOCK_METHOD", "DELETE")
            .env("TF_HTTP_USERNAME", ALICE)
            .env("TF_HTTP_PASSWORD", ALICE_TOKEN)
            .output()
            .expect("run terraform");
        assert!(
            output.status.success(),
            "terraform {args:?} failed\nstdout:\n{}\nstderr:\n{}\nrequests:\n{:#?}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            gl.requests()
                .iter()
                .map(|r| format!("{} {} -> {}", r.method, r.url, r.status))
                .collect::<Vec<_>>()
        );
    };
    run(&["init", "-input=false", "-reconfigure", "-no-color"]);
    run(&["apply", "-auto-approve", "-input=false", "-no-color"]);

    let state: Value =
        serde_json::from_slice(&gl.state(PROJECT, "smoke").expect("a state was written")).unwrap();
    assert_eq!(state["outputs"]["x"]["value"], "hello");
    assert_eq!(gl.lock(PROJECT, "smoke"), None, "terraform unlocked");

    let log = gl.requests();
    let saw = |method: &str, suffix: &str, status: u16| {
        log.iter()
            .any(|r| r.method == method && r.path().ends_with(suffix) && r.status == status)
    };
    assert!(saw("POST", "/smoke/lock", 200));
    assert!(saw("POST", "/smoke", 200));
    assert!(saw("DELETE", "/smoke/lock", 200));
    assert!(log.iter().all(|r| r.user.as_deref() == Some(ALICE)));
    assert!(log.iter().all(|r| !r.url.contains(ALICE_TOKEN)));
    // The write carried the lock ID Terraform had taken.
    let write = log
        .iter()
        .find(|r| r.method == "POST" && r.path().ends_with("/smoke"))
        .unwrap();
    assert!(write.url.contains("?ID="), "{}", write.url);
}
