//! Issue 19 item 2: `tfw drift --issues` keeps one GitLab issue per drifted state (label
//! `tfw-drift`) in the test server's issues API: opened, left alone while the drift is the
//! same, updated when it changes, closed when the state is back in sync, reopened when it
//! drifts again; secrets masked in the issue; a token GitLab will not let write issues gets
//! an error naming the scope, after the drift report.

use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::support::gitlab::{ALICE, ALICE_TOKEN, CI_JOB_TOKEN, PROJECT_ID};

/// A version-4 state whose `greeting` output holds `value` (the configuration says "hello").
pub(crate) fn greeting_state(serial: u64, value: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": 4, "terraform_version": "1.0.3", "serial": serial, "lineage": "drift-lineage",
        "outputs": { "greeting": { "value": value, "type": "string" } }, "resources": []
    }))
    .unwrap()
}

/// Requests that changed an issue (create, update).
fn issue_writes(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .gitlab
        .requests()
        .iter()
        .filter(|r| r.path().contains("/issues") && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect()
}

#[test]
fn one_issue_per_drifted_state_opened_updated_closed_and_reopened() {
    let sandbox = Sandbox::new();
    let gitlab = &sandbox.gitlab;
    // The drifted value is the token itself: it must never reach the issue.
    gitlab.put_state("42", "prod", &greeting_state(1, ALICE_TOKEN));
    // Someone else's issue with the label, and the issue of another state: never touched.
    gitlab.add_issue("42", "bob", "Drift dashboard", "notes", &["tfw-drift"]);
    gitlab.add_issue(
        "42",
        "bob",
        "staging",
        "<!-- tfw-drift state=staging -->",
        &["tfw-drift"],
    );
    let drift = || sandbox.tfw(&["--state", "prod", "drift", "--issues"]).run();

    let out = drift();
    out.code(2)
        .stdout_has("`prod`: DRIFTED (0 resource(s), 1 output(s))")
        .stderr_has("opened drift issue #3")
        .lacks(ALICE_TOKEN);
    let issues = gitlab.issues("42");
    assert_eq!(issues.len(), 3);
    let issue = &issues[2];
    assert_eq!(
        issue.title,
        "Drift: state `prod` differs from the real infrastructure"
    );
    assert_eq!(issue.labels, ["tfw-drift"]);
    assert_eq!(issue.author, ALICE);
    assert_eq!(issue.state, "opened");
    assert!(
        issue
            .description
            .contains("~ greeting: \"****\" -> \"hello\""),
        "{}",
        issue.description
    );
    assert!(issue.description.contains("<!-- tfw-drift state=prod -->"));
    assert!(!issue.description.contains(ALICE_TOKEN));

    // The same drift again: nothing is written.
    gitlab.clear_requests();
    drift()
        .code(2)
        .stderr_has("drift issue #3")
        .stderr_has("already says this");
    assert_eq!(issue_writes(&sandbox), Vec::<String>::new());

    // Another drift: the description follows.
    gitlab.put_state("42", "prod", &greeting_state(2, "bonjour"));
    drift().code(2).stderr_has("updated drift issue #3");
    assert!(
        gitlab.issues("42")[2]
            .description
            .contains("\"bonjour\" -> \"hello\"")
    );

    // Back in sync: closed, once.
    gitlab.put_state("42", "prod", &greeting_state(3, "hello"));
    let out = sandbox
        .tfw(&["--state", "prod", "drift", "--issues", "--json"])
        .run();
    out.code(0)
        .stderr_has("closed drift issue #3 (http://")
        .stderr_has("/group/infra/-/issues/3): `prod` is back in sync");
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], "in_sync");
    assert_eq!(report["issue"]["action"], "closed");
    assert_eq!(report["issue"]["iid"], 3);
    assert_eq!(gitlab.issues("42")[2].state, "closed");
    gitlab.clear_requests();
    drift().code(0);
    assert_eq!(issue_writes(&sandbox), Vec::<String>::new());

    // Drifted again: the same issue comes back, no second one.
    gitlab.put_state("42", "prod", &greeting_state(4, "hola"));
    drift().code(2).stderr_has("reopened drift issue #3");
    let issues = gitlab.issues("42");
    assert_eq!(issues.len(), 3);
    assert_eq!(issues[2].state, "opened");
    assert_eq!(issues[0].description, "notes");
    assert_eq!(issues[1].state, "opened");
}

#[test]
fn a_token_that_cannot_write_issues_gets_the_report_then_an_error_naming_the_scope() {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .put_state("42", "prod", &greeting_state(1, "old"));
    sandbox
        .gitlab
        .add_token(ALICE, "glpat-alice-read-only-0123456789", &["read_api"]);
    sandbox.seed_env(ALICE, "glpat-alice-read-only-0123456789", "dev-alice");
    let out = sandbox.tfw(&["--state", "prod", "drift", "--issues"]).run();
    out.code(1)
        .stdout_has("`prod`: DRIFTED")
        .stderr_has("cannot keep the drift issue of `prod`")
        .stderr_has("the token lacks the `api` scope");
    assert!(sandbox.gitlab.issues("42").is_empty());

    // CI's job token reads the state but GitLab does not let it near the issues API.
    let ci = Sandbox::empty();
    ci.write("main.tf", crate::support::MAIN_TF);
    ci.gitlab.put_state("42", "prod", &greeting_state(1, "old"));
    let out = ci
        .tfw(&["--state", "prod", "drift", "--issues", "--json"])
        .env("CI", "true")
        .env("CI_API_V4_URL", ci.gitlab.api_url())
        .env("CI_PROJECT_ID", PROJECT_ID.to_string())
        .env("CI_JOB_TOKEN", CI_JOB_TOKEN)
        .run();
    out.code(1)
        .stderr_has("GitLab's issues API does not accept CI's job token")
        .stderr_has("`api` scope");
    let report: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()));
    assert_eq!(report["status"], "drifted");
    assert_eq!(report["issue"]["action"], "failed");
    assert!(ci.gitlab.issues("42").is_empty());
}
