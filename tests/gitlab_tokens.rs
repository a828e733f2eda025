//! Tokens GitLab no longer takes (issue 14): the test server answers an expired, a revoked and
//! an unknown token as GitLab does on each API (`API::APIGuard`'s OAuth answer with its
//! `WWW-Authenticate` challenge on REST, "Invalid token" on GraphQL), and tfw says which it
//! was and how to replace it, whether terraform, tfw's REST calls or GraphQL met it.
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::support::gitlab::{
    self, ALICE, ALICE_TOKEN, CI_JOB_TOKEN, CI_JOB_USERNAME, GitLab, basic_auth,
};

const PROJECT: &str = "42";
const REVOKED: &str = "Token was revoked. You have to re-authorize from the user.";
const EXPIRED: &str = "Token is expired. You can either do re-authorization or token refresh.";

/// Status, `WWW-Authenticate` and body of one request.
fn ask(
    method: &str,
    url: &str,
    header: (&str, String),
    body: Option<&str>,
) -> (u16, Option<String>, Value) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let request = agent.request(method, url).set(header.0, &header.1);
    let result = match body {
        Some(body) => request.send_string(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let challenge = response.header("www-authenticate").map(str::to_string);
    let text = response.into_string().unwrap();
    (
        status,
        challenge,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

#[test]
fn gitlab_names_an_expired_or_revoked_token_on_rest_and_not_on_graphql() {
    let gl = GitLab::start();
    gl.put_state(PROJECT, "dev", br#"{"serial":1}"#);
    let state = gl.state_url(PROJECT, "dev");
    let user = format!("{}/user", gl.api_url());
    let graphql = gl.graphql_url();
    let query = r#"{"query":"{ currentUser { username } }"}"#;

    gl.revoke_token(ALICE_TOKEN);
    let challenge = format!(
        "Bearer realm=\"Protected by OAuth 2.0\", error=\"invalid_token\", error_description=\"{REVOKED}\""
    );
    let revoked = json!({ "error": "invalid_token", "error_description": REVOKED });
    for (url, header) in [
        (&state, ("Authorization", basic_auth("anyone", ALICE_TOKEN))),
        (&state, ("Authorization", format!("Bearer {ALICE_TOKEN}"))),
        (&user, ("PRIVATE-TOKEN", ALICE_TOKEN.to_string())),
    ] {
        let (status, www, body) = ask("GET", url, header, None);
        assert_eq!(
            (status, www.as_deref(), &body),
            (401, Some(challenge.as_str()), &revoked)
        );
    }
    // `GraphqlController`: the authentication error is swallowed, the token is just invalid.
    let (status, www, body) = ask(
        "POST",
        &graphql,
        ("Authorization", format!("Bearer {ALICE_TOKEN}")),
        Some(query),
    );
    assert_eq!(status, 401);
    assert_eq!(www, None);
    assert_eq!(body, json!({ "errors": [{ "message": "Invalid token" }] }));

    // Expiry is checked first (`AccessTokenValidationService`).
    gl.expire_token(ALICE_TOKEN);
    let (status, _, body) = ask("GET", &user, ("PRIVATE-TOKEN", ALICE_TOKEN.into()), None);
    assert_eq!(status, 401);
    assert_eq!(body["error_description"], EXPIRED);

    // A token GitLab does not know, and a job that ended: plain 401, no challenge.
    gl.finish_job(CI_JOB_TOKEN);
    for header in [
        ("Authorization", basic_auth(ALICE, "glpat-nobody-knows-000")),
        ("Authorization", basic_auth(CI_JOB_USERNAME, CI_JOB_TOKEN)),
    ] {
        let (status, www, body) = ask("GET", &state, header, None);
        assert_eq!(
            (status, www, body),
            (401, None, json!({ "message": "401 Unauthorized" }))
        );
    }
}

#[test]
fn a_read_api_token_is_refused_writes_with_every_scope_the_route_takes() {
    let gl = GitLab::start();
    gl.add_token(ALICE, "glpat-alice-read-000000", &["read_api"]);
    let lock = format!("{}/lock", gl.state_url(PROJECT, "dev"));
    let info = crate::support::client::lock_info("x", ALICE).to_string();
    let (status, www, body) = ask(
        "POST",
        &lock,
        (
            "Authorization",
            basic_auth(ALICE, "glpat-alice-read-000000"),
        ),
        Some(&info),
    );
    assert_eq!(status, 403);
    assert_eq!(www, None);
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scope"], "api read_api");
}

fn env_with(sandbox: &Sandbox, token: &str) {
    let text = sandbox.seed_env_text(ALICE, token, "dev-alice");
    sandbox.write(".env", text);
}

#[test]
fn tfw_says_the_token_was_revoked_or_expired_and_where_to_put_a_new_one() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let fix = "personal_access_tokens?name=tfw&scopes=api";

    sandbox.gitlab.revoke_token(ALICE_TOKEN);
    // terraform meets it (no body shown): tfw asks GitLab for the reason.
    sandbox
        .tfw(&["plan"])
        .run()
        .code(1)
        .stderr_has("the token in `TF_HTTP_PASSWORD` was revoked")
        .stderr_has("(401 invalid_token: \"Token was revoked\")")
        .stderr_has(fix)
        .stderr_has(".env` (line 4) as `TF_HTTP_PASSWORD`")
        .stderr_has("`tfw setup`")
        .lacks(ALICE_TOKEN);
    // GraphQL meets it ("Invalid token" only): the same reason.
    sandbox
        .tfw(&["state", "list"])
        .run()
        .code(1)
        .stderr_has("was revoked");

    sandbox.gitlab.expire_token(ALICE_TOKEN);
    sandbox
        .tfw(&["state", "pull"])
        .run()
        .code(1)
        .stderr_has("the token in `TF_HTTP_PASSWORD` has expired")
        .stderr_has(fix);

    // From the shell, not `.env`: the fix says where it really comes from.
    sandbox
        .tfw(&["state", "list"])
        .env("TF_HTTP_PASSWORD", ALICE_TOKEN)
        .run()
        .code(1)
        .stderr_has("has expired")
        .stderr_has("your shell's environment");

    env_with(&sandbox, "glpat-never-issued-0000");
    sandbox
        .tfw(&["plan"])
        .run()
        .code(1)
        .stderr_has("GitLab does not know the token in `TF_HTTP_PASSWORD`")
        .stderr_has("(401 Unauthorized)");
}

#[test]
fn setup_says_why_gitlab_rejected_the_token() {
    let sandbox = Sandbox::empty();
    sandbox
        .gitlab
        .add_token(ALICE, "glpat-alice-old-0000000", &["api"]);
    sandbox.gitlab.expire_token("glpat-alice-old-0000000");
    let url = sandbox.gitlab.url();
    sandbox
        .tfw(&[
            "setup",
            "--token-stdin",
            "--url",
            &url,
            "--project",
            "group/infra",
            "--username",
            ALICE,
        ])
        .stdin("glpat-alice-old-0000000\n")
        .run()
        .code(1)
        .stderr_has("rejected the token: it has expired (401 invalid_token)")
        .lacks("glpat-alice-old");
    assert!(!sandbox.path(".env").exists());
}

#[test]
fn a_read_api_token_is_told_it_only_reads() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox
        .gitlab
        .add_token(ALICE, "glpat-alice-read-000000", &["read_api"]);
    env_with(&sandbox, "glpat-alice-read-000000");
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("the token has the `read_api` scope, which only reads; GitLab needs `api`")
        .stderr_has("tfw plan --no-lock");
}

#[test]
fn a_job_token_whose_job_ended_is_told_so() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    sandbox.gitlab.finish_job(CI_JOB_TOKEN);
    sandbox
        .tfw(&["plan"])
        .env("CI", "true")
        .env("CI_API_V4_URL", sandbox.gitlab.api_url())
        .env("CI_PROJECT_ID", gitlab::PROJECT_ID.to_string())
        .env("CI_JOB_TOKEN", CI_JOB_TOKEN)
        .env("TF_STATE_NAME", "dev-alice")
        .run()
        .code(1)
        .stderr_has("GitLab refused CI's job token (401 Unauthorized)")
        .stderr_has("only while its job is running")
        .lacks(CI_JOB_TOKEN);
}
