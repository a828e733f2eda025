//! Tests of the GitLab test server itself: every other test trusts it to answer like GitLab,
//! so each row of `/work/shared/reference/gitlab-state-api.md` is checked here with a plain
//! HTTP client, and once with the real Terraform `http` backend.

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::client::*;
use crate::support::gitlab::{ALICE, ALICE_TOKEN, BOB, GitLab};

const PROJECT: &str = "42";

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
