//! Tests of the GitLab test server's rules from GitLab's source (the reference's "What
//! GitLab's source adds"): GraphQL paging and field selection, which credentials each route
//! takes, scopes, per-project membership, protection rules, archived projects, the lock
//! holder, members and jobs listings, and times on a non-UTC instance.
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::client::{Answer, alice, as_user, graphql, lock_body, send, state_doc};
use crate::support::gitlab::{
    ALICE, ALICE_TOKEN, BOB, BOB_TOKEN, CI_BOT, CI_JOB_TOKEN, CI_JOB_USERNAME, DAVE, DAVE_TOKEN,
    GitLab, PROJECT_PATH, Role,
};

const PROJECT: &str = "42";

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("Authorization", format!("Bearer {token}"))]
}

fn states_page(gl: &GitLab, token: &str, after: Option<&str>) -> Value {
    let query = "query($p: ID!, $after: String) { project(fullPath: $p) { terraformStates(first: 500, after: $after) { count pageInfo { hasNextPage endCursor } nodes { name } } } }";
    let answer = graphql(
        gl,
        &bearer(token),
        json!({ "query": query, "variables": { "p": PROJECT_PATH, "after": after } }),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["data"]["project"]["terraformStates"].clone()
}

#[test]
fn graphql_pages_by_100_in_name_order_with_only_the_selected_fields() {
    let gl = GitLab::start();
    for i in (0..250).rev() {
        gl.put_state(PROJECT, &format!("s{i:03}"), &state_doc(1));
    }
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = states_page(&gl, ALICE_TOKEN, after.as_deref());
        pages += 1;
        assert_eq!(page["count"], 250);
        let nodes = page["nodes"].as_array().unwrap();
        assert!(nodes.len() <= 100, "asked for 500, GitLab caps at 100");
        for node in nodes {
            assert_eq!(
                node.as_object().unwrap().len(),
                1,
                "only `name` was selected"
            );
            names.push(node["name"].as_str().unwrap().to_string());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..250).map(|i| format!("s{i:03}")).collect();
    assert_eq!(names, expected);

    // An unknown field is a validation error: `errors` and no `data`.
    let bad = graphql(
        &gl,
        &bearer(ALICE_TOKEN),
        json!({ "query": "{ project(fullPath: \"group/infra\") { terraformStates { nodes { name owner } } } }" }),
    );
    assert!(bad.json().get("data").is_none(), "{}", bad.text());
    assert!(bad.text().contains("owner"));

    // One state by name, without paging.
    let one = graphql(
        &gl,
        &bearer(ALICE_TOKEN),
        json!({ "query": "{ project(fullPath: \"group/infra\") { terraformState(name: \"s249\") { name latestVersion { serial } } } }" }),
    );
    assert_eq!(
        one.json()["data"]["project"]["terraformState"],
        json!({ "name": "s249", "latestVersion": { "serial": 1 } })
    );
}

#[test]
fn graphql_takes_personal_tokens_only_and_hides_what_a_role_may_not_see() {
    let gl = GitLab::start();
    gl.put_state(PROJECT, "dev", &state_doc(1));
    // Job tokens are refused, whichever way they come.
    for headers in [
        bearer(CI_JOB_TOKEN),
        vec![("PRIVATE-TOKEN", CI_JOB_TOKEN.to_string())],
    ] {
        let answer = graphql(
            &gl,
            &headers,
            json!({ "query": "{ currentUser { username } }" }),
        );
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.json(),
            json!({ "errors": [{ "message": "Invalid token" }] })
        );
    }
    // Basic auth and `JOB-TOKEN` are not read by GraphQL: anonymous, the project is null.
    let anonymous = states_page_raw(&gl, &as_user(ALICE, ALICE_TOKEN));
    assert_eq!(anonymous["data"]["project"], Value::Null);
    let job_header = states_page_raw(&gl, &[("JOB-TOKEN", CI_JOB_TOKEN.to_string())]);
    assert_eq!(job_header["data"]["project"], Value::Null);
    // A Reporter sees an empty connection; a non-member sees no project.
    gl.add_user("rita", "glpat-rita", Role::Reporter);
    let reporter = states_page(&gl, "glpat-rita", None);
    assert_eq!(
        (reporter["count"].clone(), reporter["nodes"].clone()),
        (json!(0), json!([]))
    );
    gl.set_role(PROJECT, "rita", None);
    assert_eq!(
        states_page_raw(&gl, &bearer("glpat-rita"))["data"]["project"],
        Value::Null
    );
}

fn states_page_raw(gl: &GitLab, headers: &[(&str, String)]) -> Value {
    let query = "{ project(fullPath: \"group/infra\") { terraformStates { nodes { name } } } }";
    graphql(gl, headers, json!({ "query": query })).json()
}

#[test]
fn job_tokens_open_the_state_api_but_not_the_rest_of_the_api() {
    let gl = GitLab::start();
    gl.put_state(PROJECT, "dev", &state_doc(1));
    let url = gl.state_url(PROJECT, "dev");
    let get = |headers: &[(&str, String)]| send("GET", &url, headers, None).status;
    assert_eq!(get(&as_user(CI_JOB_USERNAME, CI_JOB_TOKEN)), 200);
    assert_eq!(get(&bearer(CI_JOB_TOKEN)), 200);
    assert_eq!(
        get(&[("JOB-TOKEN", CI_JOB_TOKEN.to_string())]),
        401,
        "not read there"
    );

    let project = format!("{}/projects/42", gl.api_url());
    let job_header = send(
        "GET",
        &project,
        &[("JOB-TOKEN", CI_JOB_TOKEN.to_string())],
        None,
    );
    assert_eq!(
        job_header.status, 404,
        "ignored: anonymous, and the project is private"
    );
    assert_eq!(
        send("GET", &project, &bearer(CI_JOB_TOKEN), None).status,
        401
    );
    let ok = send(
        "GET",
        &project,
        &[("PRIVATE-TOKEN", ALICE_TOKEN.to_string())],
        None,
    );
    assert_eq!(
        (
            ok.json()["path_with_namespace"].clone(),
            ok.json()["archived"].clone()
        ),
        (json!(PROJECT_PATH), json!(false))
    );

    let user = format!("{}/user", gl.api_url());
    assert_eq!(
        send("GET", &user, &bearer(ALICE_TOKEN), None).json()["username"],
        ALICE
    );
    assert_eq!(send("GET", &user, &bearer(CI_JOB_TOKEN), None).status, 401);
}

#[test]
fn the_lock_holder_is_the_tokens_user_never_the_basic_username_nor_who() {
    let gl = GitLab::start();
    let lock_url = format!("{}/lock", gl.state_url(PROJECT, "dev"));
    let locked = send(
        "POST",
        &lock_url,
        &as_user("laptop-name", ALICE_TOKEN),
        Some(&lock_body("a1", "root@box")),
    );
    assert_eq!(locked.status, 200);
    assert_eq!(locked.json()["Who"], ALICE);
    let conflict = send(
        "POST",
        &lock_url,
        &as_user(ALICE, BOB_TOKEN),
        Some(&lock_body("b1", "bob@box")),
    );
    assert_eq!(conflict.status, 409);
    assert_eq!(
        (
            conflict.json()["ID"].clone(),
            conflict.json()["Who"].clone()
        ),
        (json!("a1"), json!(ALICE))
    );
    gl.clear_lock(PROJECT, "dev");

    // A job token locks as the user who started the pipeline.
    let job = send(
        "POST",
        &lock_url,
        &as_user(CI_JOB_USERNAME, CI_JOB_TOKEN),
        Some(&lock_body("j1", "runner")),
    );
    assert_eq!(job.json()["Who"], CI_BOT);
    assert_eq!(gl.lock(PROJECT, "dev").unwrap()["Who"], CI_BOT);
}

fn assert_answer(answer: &Answer, status: u16, body: Value) {
    assert_eq!((answer.status, answer.json()), (status, body));
}

#[test]
fn scopes_roles_protection_rules_and_archived_projects_refuse_writes_apart() {
    let gl = GitLab::start();
    gl.put_state(PROJECT, "prod", &state_doc(1));
    let url = gl.state_url(PROJECT, "prod");
    let lock_url = format!("{url}/lock");

    gl.add_token(ALICE, "glpat-alice-read", &["read_api"]);
    let reader = as_user(ALICE, "glpat-alice-read");
    assert_eq!(send("GET", &url, &reader, None).status, 200);
    let scope = send("POST", &lock_url, &reader, Some(&lock_body("x", ALICE)));
    assert_eq!(scope.status, 403);
    assert_eq!(scope.json()["error"], "insufficient_scope");
    // Every scope the route registers (`scopes_registered_for_endpoint`), `read_api` included.
    assert_eq!(scope.json()["scope"], "api read_api");

    let role = send(
        "POST",
        &lock_url,
        &as_user(DAVE, DAVE_TOKEN),
        Some(&lock_body("x", DAVE)),
    );
    assert_answer(&role, 403, json!({ "message": "403 Forbidden" }));

    gl.add_protection_rule(PROJECT, "prod", Role::Owner, "anywhere");
    let rule = send("POST", &lock_url, &alice(), Some(&lock_body("x", ALICE)));
    assert_eq!(rule.status, 403);
    assert!(rule.text().contains("protection rule"), "{}", rule.text());
    assert_eq!(
        send("GET", &url, &alice(), None).status,
        200,
        "reads are unchanged"
    );

    gl.set_archived(PROJECT, true);
    let archived = send(
        "POST",
        &format!("{}/lock", gl.state_url(PROJECT, "dev")),
        &alice(),
        Some(&lock_body("x", ALICE)),
    );
    assert_answer(&archived, 403, json!({ "message": "403 Forbidden" }));
    assert_eq!(send("GET", &url, &alice(), None).status, 200);

    gl.expire_token(BOB_TOKEN);
    let expired = send("GET", &url, &as_user(BOB, BOB_TOKEN), None);
    assert_eq!(expired.status, 401);
    assert_eq!(expired.json()["error"], "invalid_token");
}

#[test]
fn ci_only_rules_let_jobs_write_and_refuse_people() {
    let gl = GitLab::start();
    gl.add_protection_rule(PROJECT, "prod", Role::Maintainer, "ci_only");
    let lock_url = format!("{}/lock", gl.state_url(PROJECT, "prod"));
    assert_eq!(
        send("POST", &lock_url, &alice(), Some(&lock_body("a", ALICE))).status,
        403
    );
    let job = send(
        "POST",
        &lock_url,
        &as_user(CI_JOB_USERNAME, CI_JOB_TOKEN),
        Some(&lock_body("j", "x")),
    );
    assert_eq!(job.status, 200);
}

#[test]
fn members_and_jobs_are_paged_like_gitlab() {
    let gl = GitLab::start();
    for i in 0..250 {
        gl.set_role(PROJECT, &format!("user{i:03}"), Some(Role::Developer));
    }
    gl.set_user_state("user007", "blocked");
    let mut all = Vec::new();
    let mut page = Some("1".to_string());
    while let Some(n) = page.take() {
        let url = format!(
            "{}/projects/42/members/all?per_page=100&page={n}",
            gl.api_url()
        );
        let response = ureq::get(&url)
            .set("PRIVATE-TOKEN", ALICE_TOKEN)
            .call()
            .unwrap();
        let next = response.header("x-next-page").unwrap_or("").to_string();
        let batch: Vec<Value> = serde_json::from_reader(response.into_reader()).unwrap();
        assert!(batch.len() <= 100);
        all.extend(batch);
        page = (!next.is_empty()).then_some(next);
    }
    assert_eq!(all.len(), 250 + 4, "the seeded members too");
    let blocked = all.iter().find(|m| m["username"] == "user007").unwrap();
    assert_eq!(blocked["state"], "blocked");

    let ids = gl.job_ids(CI_JOB_TOKEN).unwrap();
    let jobs = send(
        "GET",
        &format!("{}/projects/42/jobs?scope[]=running", gl.api_url()),
        &bearer(ALICE_TOKEN),
        None,
    );
    let jobs = jobs.json();
    assert_eq!(jobs[0]["id"], ids.job);
    assert_eq!(jobs[0]["pipeline"]["id"], ids.pipeline);
    assert_eq!(jobs[0]["user"]["username"], CI_BOT);
    gl.finish_job(CI_JOB_TOKEN);
    let none = send(
        "GET",
        &format!("{}/projects/42/jobs?scope[]=running", gl.api_url()),
        &bearer(ALICE_TOKEN),
        None,
    );
    assert_eq!(none.json(), json!([]));
}

#[test]
fn a_non_utc_instance_prints_offsets() {
    let gl = GitLab::start();
    gl.set_utc_offset(120);
    let lock_url = format!("{}/lock", gl.state_url(PROJECT, "dev"));
    let locked = send("POST", &lock_url, &alice(), Some(&lock_body("a", ALICE)));
    let created = locked.json()["Created"].as_str().unwrap().to_string();
    assert!(created.ends_with("+02:00"), "{created}");
    let query = "{ project(fullPath: \"group/infra\") { terraformStates { nodes { lockedAt updatedAt } } } }";
    let listed = graphql(&gl, &bearer(ALICE_TOKEN), json!({ "query": query })).json();
    let node = &listed["data"]["project"]["terraformStates"]["nodes"][0];
    assert!(
        node["lockedAt"].as_str().unwrap().ends_with("+02:00"),
        "{node}"
    );
}
