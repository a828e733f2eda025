//! The rows of docs/gitlab-answers.md that no other test covers: each GitLab answer, as the
//! test server gives it from its state (or, where GitLab's answer needs something the server
//! does not model, as a fault with GitLab's exact body), and the message tfw prints for it.
use serde_json::json;

use crate::support::Sandbox;
use crate::support::gitlab::{self, ALICE, BOB, DAVE, Fault, Role, Route};

const PROJECT: &str = "42";

fn env_with(sandbox: &Sandbox, user: &str, token: &str) {
    let text = sandbox.seed_env_text(user, token, "dev-alice");
    sandbox.write(".env", text);
}

#[test]
fn a_token_without_any_api_scope_is_named_with_its_scopes() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox
        .gitlab
        .add_token(ALICE, "glpat-alice-profile-0000", &["read_user"]);
    env_with(&sandbox, ALICE, "glpat-alice-profile-0000");
    sandbox
        .tfw(&["state", "pull"])
        .run()
        .code(1)
        .stderr_has("the token's scopes (`read_user`) do not open GitLab's API; it needs `api`");
    // GraphQL swallows the scope error into "Invalid token"; REST takes the token. (With
    // the project's path, tfw asks no REST question first.)
    sandbox.short_env(ALICE, "glpat-alice-profile-0000", Some("dev-alice"));
    sandbox
        .tfw(&["state", "list"])
        .run()
        .code(1)
        .stderr_has("GitLab's GraphQL API refused the token in `TF_HTTP_PASSWORD`, which its REST API takes: GraphQL takes only tokens with the `api` or `read_api` scope, and this one has `read_user`")
        .lacks("does not know the token");

    // A GitLab that does not show the token's scopes (before 15.5): tfw says what the route
    // takes, as GitLab listed it.
    sandbox
        .gitlab
        .add_token(ALICE, "glpat-alice-read-0000000", &["read_api"]);
    env_with(&sandbox, ALICE, "glpat-alice-read-0000000");
    sandbox.gitlab.fault(Fault::status(Route::Rest, 404));
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("this route takes `api`, `read_api`, and `read_api` only for reading");
}

#[test]
fn an_account_gitlab_blocks_is_told_in_gitlabs_words() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.gitlab.set_user_state(ALICE, "blocked");
    let blocked = "GitLab refuses the token's user itself (403): Your account has been blocked";
    // GraphQL says only "API not accessible for user": tfw asks REST for the reason.
    sandbox
        .tfw(&["state", "list"])
        .run()
        .code(1)
        .stderr_has(blocked);
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has(blocked);
    sandbox.gitlab.set_user_state(ALICE, "deactivated");
    sandbox
        .tfw(&["state", "pull"])
        .run()
        .code(1)
        .stderr_has("Your account has been deactivated by your administrator");
}

#[test]
fn a_state_larger_than_the_instance_allows_is_told_as_such() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.gitlab.set_max_state_size(64);
    sandbox.write("extra.tf", "output \"more\" { value = 2 }\n");
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("GitLab refused the state as larger than this instance allows (413)")
        .stderr_has("errored.tfstate");
}

#[test]
fn a_job_tokens_plain_403_names_no_cause_and_says_what_to_check() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    sandbox
        .gitlab
        .add_job_token("dave-job-token-00000000", DAVE, Role::Developer);
    sandbox.write("extra.tf", "output \"more\" { value = 2 }\n");
    sandbox
        .tfw(&["apply", "--replan", "--auto-approve"])
        .env("CI", "true")
        .env("CI_API_V4_URL", sandbox.gitlab.api_url())
        .env("CI_PROJECT_ID", gitlab::PROJECT_ID.to_string())
        .env("CI_JOB_TOKEN", "dave-job-token-00000000")
        .env("TF_STATE_NAME", "dev-alice")
        .run()
        .code(1)
        .stderr_has("GitLab refused this (403 Forbidden) to the pipeline's user")
        .stderr_has("writing below Maintainer");
}

#[test]
fn other_refusals_show_gitlabs_message_not_a_server_trouble() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.gitlab.fault(
        Fault::respond(
            Route::State,
            400,
            r#"{"error":"name is too long (maximum is 255 characters)"}"#,
        )
        .method("GET"),
    );
    sandbox
        .tfw(&["state", "pull"])
        .run()
        .code(1)
        .stderr_has("GitLab refused the request (400): name is too long")
        .lacks("having trouble");
}

#[test]
fn a_423_is_read_as_terraform_reads_it_a_held_lock() {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .put_state(PROJECT, "dev-alice", br#"{"serial":1}"#);
    sandbox.gitlab.set_lock(
        PROJECT,
        "dev-alice",
        json!({ "ID": "b0b", "Who": BOB, "Created": "2026-11-20T09:15:00Z" }),
    );
    let holder = json!({ "ID": "b0b", "Who": BOB, "Created": "2026-11-20T09:15:00Z", "Operation": "OperationTypeApply", "Info": "", "Version": "1.0.3", "Path": "" });
    sandbox
        .gitlab
        .fault(Fault::respond(Route::Lock, 423, holder.to_string()).method("POST"));
    sandbox
        .tfw(&["state", "unlock"])
        .run()
        .code(1)
        .stderr_has("is locked by bob")
        .stderr_has("not by you");
}

#[test]
fn a_lock_released_before_tfw_asks_is_told_as_a_finished_run() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    // terraform meets bob's 409; by the time tfw asks GitLab, the state is free.
    let holder = json!({ "ID": "b0b", "Who": BOB, "Created": "2026-11-20T09:15:00Z", "Operation": "OperationTypeApply", "Info": "", "Version": "1.0.3", "Path": "" });
    sandbox.gitlab.fault(
        Fault::respond(Route::Lock, 409, holder.to_string())
            .method("POST")
            .times(1),
    );
    sandbox
        .tfw(&["plan"])
        .run()
        .code(1)
        .stderr_has("was locked by another run (lock ID b0b), which has finished since")
        .stderr_has("run the command again");
}

#[test]
fn an_older_gitlab_without_deleted_at_still_lists_and_switches() {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .put_state(PROJECT, "staging", br#"{"serial":1}"#);
    sandbox
        .gitlab
        .set_graphql_missing_state_fields(&["deletedAt"]);
    sandbox
        .tfw(&["state", "list"])
        .run()
        .success()
        .stdout_has("staging");
    sandbox.tfw(&["use", "staging"]).run().success();
    sandbox.tfw(&["state", "show", "staging"]).run().success();
}

#[test]
fn a_role_held_through_the_group_is_read_from_group_access() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.gitlab.add_group(7, "group");
    sandbox
        .gitlab
        .set_group_role("group", "erin", Some(Role::Developer));
    sandbox
        .gitlab
        .add_token("erin", "glpat-erin-000000000000", &["api"]);
    env_with(&sandbox, "erin", "glpat-erin-000000000000");
    sandbox.write("extra.tf", "output \"more\" { value = 2 }\n");
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("your role in `group/infra` is Developer");
}

#[test]
fn an_answer_that_is_not_a_network_failure_is_not_told_as_one() {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .put_state(PROJECT, "staging", br#"{"serial":1}"#);
    // `GraphqlController#handle_internal_error`: 500 in GraphQL's shape.
    sandbox.gitlab.fault(Fault::respond(
        Route::GraphQL,
        200,
        r#"{"errors":[{"message":"Internal server error"}]}"#,
    ));
    sandbox
        .tfw(&["state", "list"])
        .run()
        .code(1)
        .stderr_has("GitLab's GraphQL API answered with an error: ")
        .stderr_has("Internal server error")
        .lacks("cannot reach");
    sandbox.gitlab.clear_faults();
    // A sign-in page in between: 200 with HTML.
    sandbox
        .gitlab
        .fault(Fault::respond(Route::Rest, 200, "<html>Sign in</html>"));
    sandbox
        .tfw(&["state", "list"])
        .run()
        .code(1)
        .stderr_has("is not one GitLab's API gives")
        .lacks("cannot reach");
}
