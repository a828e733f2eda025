//! The test server's issues routes against the "Issues" row of
//! `/work/shared/reference/gitlab-fleet-api.md` and GitLab's `lib/api/issues.rb` (see
//! `support/gitlab/issues.rs` for each behaviour's source): filters, paging, create, update,
//! close and reopen, and who may do what with which token.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::client::send;
use crate::support::gitlab::{ALICE, ALICE_TOKEN, CI_JOB_TOKEN, DAVE_TOKEN, GitLab, Role};

fn token(value: &str) -> Vec<(&'static str, String)> {
    vec![("PRIVATE-TOKEN", value.to_string())]
}

/// Alice's token and a JSON body.
fn writer() -> Vec<(&'static str, String)> {
    vec![
        ("PRIVATE-TOKEN", ALICE_TOKEN.to_string()),
        ("Content-Type", "application/json".to_string()),
    ]
}

fn issues_url(gitlab: &GitLab) -> String {
    format!("{}/projects/group%2Finfra/issues", gitlab.api_url())
}

fn titles(answer: &crate::support::client::Answer) -> Vec<String> {
    answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn issues_are_listed_by_state_labels_and_search_newest_first_and_paged() {
    let gitlab = GitLab::start();
    gitlab.add_issue(
        "42",
        ALICE,
        "Drift: prod",
        "the prod state drifted",
        &["tfw-drift"],
    );
    gitlab.add_issue(
        "42",
        ALICE,
        "Drift: qa",
        "qa drifted",
        &["tfw-drift", "ops"],
    );
    let closed = gitlab.add_issue("42", ALICE, "Unrelated", "nothing", &["ops"]);
    gitlab.set_issue_state("42", closed, "closed");
    let url = issues_url(&gitlab);
    let all = send("GET", &url, &token(ALICE_TOKEN), None);
    assert_eq!(all.status, 200);
    // `state` defaults to `all`; newest first (`order_by=created_at`, `sort=desc`).
    assert_eq!(titles(&all), ["Unrelated", "Drift: qa", "Drift: prod"]);
    let issue = &all.json()[2];
    assert_eq!(issue["iid"], 1);
    assert_eq!(issue["state"], "opened");
    assert_eq!(issue["labels"], json!(["tfw-drift"]));
    assert!(
        issue["web_url"]
            .as_str()
            .unwrap()
            .ends_with("/group/infra/-/issues/1")
    );
    let get = |query: &str| send("GET", &format!("{url}?{query}"), &token(ALICE_TOKEN), None);
    assert_eq!(
        titles(&get("state=opened&sort=asc")),
        ["Drift: prod", "Drift: qa"]
    );
    assert_eq!(titles(&get("state=closed")), ["Unrelated"]);
    assert_eq!(get("state=shut").status, 400);
    // Every label listed must be on the issue.
    assert_eq!(titles(&get("labels=tfw-drift,ops")), ["Drift: qa"]);
    assert_eq!(titles(&get("labels=ops")), ["Unrelated", "Drift: qa"]);
    // Words of 3+ characters match anywhere in title or description; a shorter query must
    // match a whole column (`Gitlab::SQL::Pattern`).
    assert_eq!(titles(&get("search=PROD+state")), ["Drift: prod"]);
    assert_eq!(titles(&get("search=qa")), Vec::<String>::new());
    assert_eq!(
        titles(&get("search=qa%20drifted")),
        ["Drift: qa", "Drift: prod"]
    );
    // Offset paging with GitLab's headers.
    let page = get("per_page=2&sort=asc");
    assert_eq!(titles(&page), ["Drift: prod", "Drift: qa"]);
    let second = get("per_page=2&page=2&sort=asc");
    assert_eq!(titles(&second), ["Unrelated"]);
}

#[test]
fn issues_are_created_updated_closed_and_reopened() {
    let gitlab = GitLab::start();
    let url = issues_url(&gitlab);
    let headers = &writer();
    let missing = send("POST", &url, headers, Some(br#"{"description":"x"}"#));
    assert_eq!(
        (missing.status, missing.json()),
        (400, json!({"error": "title is missing"}))
    );
    let long = json!({ "title": "t".repeat(256) }).to_string();
    assert_eq!(
        send("POST", &url, headers, Some(long.as_bytes())).status,
        400
    );
    let created = send(
        "POST",
        &url,
        headers,
        Some(br#"{"title":"Drift","description":"one","labels":"tfw-drift,new-label"}"#),
    );
    assert_eq!(created.status, 201);
    let issue = created.json();
    assert_eq!(issue["iid"], 1);
    assert_eq!(issue["labels"], json!(["tfw-drift", "new-label"]));
    assert_eq!(issue["author"]["username"], ALICE);
    let one = format!("{url}/1");
    let updated = send("PUT", &one, headers, Some(br#"{"description":"two"}"#));
    assert_eq!(
        (updated.status, &updated.json()["description"]),
        (200, &json!("two"))
    );
    let closed = send("PUT", &one, headers, Some(br#"{"state_event":"close"}"#));
    assert_eq!(closed.json()["state"], "closed");
    assert!(closed.json()["closed_at"].is_string());
    let reopened = send("PUT", &one, headers, Some(br#"{"state_event":"reopen"}"#));
    assert_eq!(reopened.json()["state"], "opened");
    assert_eq!(reopened.json()["closed_at"], Value::Null);
    assert_eq!(
        send("PUT", &one, headers, Some(br#"{"state_event":"lock"}"#)).status,
        400
    );
    assert_eq!(send("PUT", &one, headers, Some(b"{}")).status, 400);
    let absent = send(
        "PUT",
        &format!("{url}/9"),
        headers,
        Some(br#"{"description":"x"}"#),
    );
    assert_eq!(
        (absent.status, absent.json()),
        (404, json!({"message": "404 Not found"}))
    );
    // Form parameters work too (Grape reads either).
    let form = send(
        "POST",
        &format!("{url}?title=From%20a%20form"),
        &token(ALICE_TOKEN),
        None,
    );
    assert_eq!(form.json()["title"], "From a form");
    assert_eq!(gitlab.issues("42").len(), 2);
}

#[test]
fn issues_need_a_personal_token_with_the_api_scope_to_write() {
    let gitlab = GitLab::start();
    let url = issues_url(&gitlab);
    let body = Some(&br#"{"title":"x"}"#[..]);
    gitlab.add_token(ALICE, "glpat-alice-read-only-0000", &["read_api"]);
    let read_only = token("glpat-alice-read-only-0000");
    assert_eq!(send("GET", &url, &read_only, None).status, 200);
    let refused = send("POST", &url, &read_only, body);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"], "insufficient_scope");
    assert_eq!(refused.json()["scope"], "api");
    // Anonymous: reading a private project finds nothing, writing needs a login.
    assert_eq!(send("GET", &url, &[], None).status, 404);
    assert_eq!(send("POST", &url, &[], body).status, 401);
    // CI's job token is not accepted here: as a `JOB-TOKEN` header it is anonymous, as a
    // bearer token it is invalid.
    let job = vec![("JOB-TOKEN", CI_JOB_TOKEN.to_string())];
    assert_eq!(send("POST", &url, &job, body).status, 401);
    let bearer = vec![("Authorization", format!("Bearer {CI_JOB_TOKEN}"))];
    assert_eq!(send("GET", &url, &bearer, None).status, 401);
    // A non-member sees no project; a Developer may write; an archived project refuses.
    gitlab.add_user("erin", "glpat-erin-000000000000", Role::Developer);
    gitlab.set_role("42", "erin", None);
    assert_eq!(
        send("GET", &url, &token("glpat-erin-000000000000"), None).status,
        404
    );
    assert_eq!(send("POST", &url, &token(DAVE_TOKEN), body).status, 201);
    gitlab.set_archived("42", true);
    assert_eq!(send("POST", &url, &token(DAVE_TOKEN), body).status, 403);
}
