//! The GitLab test server's routing and access rules, checked with a plain HTTP client:
//! encoded names and projects, unknown routes and methods, every way a token is accepted,
//! and the GraphQL listing.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::client::*;
use crate::support::gitlab::{
    ALICE, ALICE_TOKEN, BOB_TOKEN, CI_BOT, CI_JOB_NAME, CI_JOB_TOKEN, CI_JOB_USERNAME, DAVE,
    DAVE_TOKEN, GitLab, PROJECT_ID, PROJECT_PATH, Role, encode_component,
};

const PROJECT: &str = "42";

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
