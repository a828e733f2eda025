//! Issue 12, item 4: a state GitLab does not have. A name close to an existing one says
//! "did you mean" (and is not created by accident without a terminal), a first apply says it
//! creates the state, a destroy of a missing state does nothing, and the check costs one
//! listing call on commands that write, skipped when the token cannot list (a CI job token).

use std::time::Duration;

use expectrl::{Eof, Expect};

use crate::support::gitlab::{self, Role};
use crate::support::{Cmd, Sandbox};

fn graphql_calls(sandbox: &Sandbox) -> usize {
    sandbox
        .gitlab
        .requests()
        .iter()
        .filter(|r| r.url.starts_with("/api/graphql"))
        .count()
}

const EMPTY_STATE: &str = r#"{"version":4,"terraform_version":"1.0.3","serial":1,"lineage":"l-1","outputs":{},"resources":[]}"#;

#[test]
fn a_typo_says_did_you_mean_and_creates_nothing() {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .put_state("42", "shared", EMPTY_STATE.as_bytes());

    // A first apply says it creates the state.
    sandbox
        .tfw(&["--state", "team-a", "apply", "--auto-approve"])
        .run()
        .success()
        .stderr_has("`team-a` does not exist on GitLab yet: this apply creates it");
    assert!(sandbox.gitlab.state("42", "team-a").is_some());

    // One listing call for a plan, none for the commands that only read or look.
    sandbox.gitlab.clear_requests();
    sandbox
        .tfw(&["--state", "shraed", "plan"])
        .run()
        .success()
        .stderr_has("state `shraed` does not exist on GitLab; did you mean `shared`?");
    assert_eq!(graphql_calls(&sandbox), 1);
    sandbox.gitlab.clear_requests();
    sandbox.tfw(&["--state", "shraed", "env"]).run().success();
    sandbox
        .tfw(&["--state", "shraed", "doctor", "--offline"])
        .run()
        .success();
    assert!(sandbox.gitlab.requests().is_empty());

    // Without a terminal, `--auto-approve` does not create a near-duplicate.
    let out = sandbox
        .tfw(&["--state", "shraed", "apply", "--auto-approve"])
        .run();
    out.code(1)
        .stderr_has("did you mean `shared`?")
        .stderr_has("--new-state");
    assert!(sandbox.gitlab.state("42", "shraed").is_none());
    // The same from TF_STATE_NAME, with a case typo.
    sandbox.short_env("alice", gitlab::ALICE_TOKEN, Some("Shared"));
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("did you mean `shared`?");
    assert!(sandbox.gitlab.state("42", "Shared").is_none());
    sandbox.seed_env("alice", gitlab::ALICE_TOKEN, "dev-alice");

    sandbox
        .tfw(&[
            "--state",
            "shraed",
            "apply",
            "--auto-approve",
            "--new-state",
        ])
        .run()
        .success()
        .stderr_has("Creating the new state `shraed`");
    assert!(sandbox.gitlab.state("42", "shraed").is_some());

    // Destroy: a typo is an error, a state that was never made is nothing to do.
    sandbox
        .tfw(&["--state", "sharde", "destroy", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("did you mean `shared`?");
    sandbox
        .tfw(&["--state", "never-made", "destroy", "--auto-approve"])
        .run()
        .success()
        .stderr_has("state `never-made` does not exist on GitLab: nothing to destroy");
    for name in ["sharde", "never-made"] {
        assert!(sandbox.gitlab.state("42", name).is_none(), "{name} created");
        assert!(sandbox.gitlab.lock("42", name).is_none());
    }
}

#[test]
fn a_new_state_on_a_terminal_is_asked_even_with_auto_approve() {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .put_state("42", "shared", EMPTY_STATE.as_bytes());
    let spawn = |args: &[&str]| {
        let mut session =
            expectrl::Session::spawn(sandbox.tfw(args).command).expect("spawn in a pty");
        session.set_expect_timeout(Some(Duration::from_secs(60)));
        session
    };
    let mut session = spawn(&["--state", "shraed", "apply", "--auto-approve"]);
    session.expect("did you mean `shared`?").unwrap();
    session
        .expect("Type `yes` to create the new state `shraed`")
        .unwrap();
    session.send_line("no").unwrap();
    session.expect("cancelled").unwrap();
    session.expect(Eof).unwrap();
    assert!(sandbox.gitlab.state("42", "shraed").is_none());

    // A new state that is no typo: said, and asked on a terminal even with --auto-approve.
    let mut session = spawn(&["--state", "team-b", "apply", "--auto-approve"]);
    session
        .expect("`team-b` does not exist on GitLab yet: this apply creates it")
        .unwrap();
    session
        .expect("Type `yes` to create the new state `team-b`")
        .unwrap();
    session.send_line("yes").unwrap();
    session.expect("Apply complete!").unwrap();
    session.expect(Eof).unwrap();
    assert!(sandbox.gitlab.state("42", "team-b").is_some());
}

#[test]
fn a_job_token_skips_the_check() {
    let sandbox = Sandbox::new();
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    let ci = |args: &[&str]| -> Cmd {
        sandbox
            .tfw(args)
            .env("CI", "true")
            .env("CI_API_V4_URL", sandbox.gitlab.api_url())
            .env("CI_PROJECT_ID", gitlab::PROJECT_ID.to_string())
            .env("CI_JOB_TOKEN", gitlab::CI_JOB_TOKEN)
    };
    ci(&["-v", "plan"])
        .run()
        .success()
        .stderr_has("not checking whether state `gitlab-ci` exists");
    assert_eq!(graphql_calls(&sandbox), 0, "GraphQL refuses job tokens");

    // A personal token that cannot list (GitLab answers GraphQL with an error): skipped too.
    sandbox
        .gitlab
        .add_user("erin", "glpat-erin-0123456789abcdef", Role::Maintainer);
    sandbox.short_env("erin", "glpat-erin-0123456789abcdef", None);
    sandbox
        .gitlab
        .fault(gitlab::Fault::status(gitlab::Route::GraphQL, 500));
    sandbox
        .tfw(&["-v", "plan"])
        .run()
        .success()
        .stderr_has("not checking whether state `dev-erin` exists");
}
