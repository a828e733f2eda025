//! Issue 12 items 4 and 6, issue 13 item 6: where the state comes from and what a state name
//! (or a URL) may hold. A Makefile-era `.env` naming its state only in `TF_HTTP_ADDRESS`
//! works on that state, and `env`, `doctor` and the commands agree; names with invisible
//! edges, control characters or a token in them, and URLs with credentials, are refused
//! at their flag or line before anything reaches GitLab or the disk.

use crate::support::Sandbox;
use crate::support::gitlab::{ALICE_TOKEN, Role};

/// The seed's `.env`, half filled in as developers had it: no `TF_STATE_NAME`, the state
/// written into the address.
fn makefile_era_env(sandbox: &Sandbox, state: &str) -> String {
    format!(
        "# TOKEN DOIT avoir permissions read/write\n\
         export TF_HTTP_USERNAME=\"alice\"\n\
         export TF_HTTP_PASSWORD=\"{ALICE_TOKEN}\"\n\
         export TF_HTTP_ADDRESS=\"{api}/projects/42/terraform/state/{state}\"\n\
         export TF_HTTP_LOCK_ADDRESS=\"{api}/projects/42/terraform/state/{state}/lock\"\n\
         export TF_HTTP_UNLOCK_ADDRESS=\"{api}/projects/42/terraform/state/{state}/lock\"\n",
        api = sandbox.gitlab.api_url()
    )
}

#[test]
fn the_address_names_the_state_and_everyone_agrees() {
    let sandbox = Sandbox::new();
    sandbox.write(".env", makefile_era_env(&sandbox, "shared"));

    let out = sandbox.tfw(&["env"]).run();
    out.success();
    let state_row = out.stdout.lines().find(|l| l.starts_with("state")).unwrap();
    assert!(state_row.contains("shared"), "{}", out.stdout);
    assert!(
        state_row.contains("TF_HTTP_ADDRESS at ") && state_row.contains(".env:4"),
        "the origin names the address's line: {state_row}"
    );
    assert!(!out.stdout.contains("dev-alice"), "{}", out.stdout);

    let out = sandbox.tfw(&["env", "--json"]).run();
    out.success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["state"]["value"], "shared");
    assert_eq!(json["state"]["origin"]["kind"], "derived");
    assert!(json["address"].as_str().unwrap().ends_with("/state/shared"));

    sandbox
        .tfw(&["doctor", "--offline"])
        .run()
        .success()
        .stderr_has("state `shared`");

    sandbox.tfw(&["plan"]).run().success();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    assert!(sandbox.gitlab.state("42", "shared").is_some());
    assert!(
        sandbox.gitlab.state("42", "dev-alice").is_none(),
        "the personal state stands in only when nothing names a state"
    );
    sandbox
        .tfw(&["doctor"])
        .run()
        .success()
        .stderr_has("state `shared` has serial");

    // `--state` still picks another state for one command.
    sandbox
        .tfw(&["--state", "other", "apply", "--auto-approve"])
        .run()
        .success();
    assert!(sandbox.gitlab.state("42", "other").is_some());
}

#[test]
fn a_shell_state_that_disagrees_with_the_address_is_said() {
    let sandbox = Sandbox::new();
    sandbox.write(".env", makefile_era_env(&sandbox, "shared"));
    sandbox
        .tfw(&["env"])
        .env("TF_STATE_NAME", "mine")
        .run()
        .success()
        .stderr_has("`TF_STATE_NAME` is `mine` (environment) but `TF_HTTP_ADDRESS` names `shared`")
        .stderr_has("`mine` is used");
}

/// (label, `.env`, flags, expected message, expected location)
type Case<'a> = (&'a str, String, Vec<&'a str>, &'a str, Option<&'a str>);

#[test]
fn bad_state_names_are_refused_where_they_were_written() {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .add_user("carol", "plainTokenWithoutPrefix", Role::Maintainer);
    let api = sandbox.gitlab.api_url();
    let short = |state: &str| {
        format!(
            "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\nTF_STATE_NAME=\"{state}\"\n",
            sandbox.gitlab.url()
        )
    };
    let cases: Vec<Case> = vec![
        (
            "leading space",
            short("dev-alice"),
            vec!["--state", " prod"],
            "`--state` starts or ends with whitespace",
            None,
        ),
        (
            "trailing space in .env",
            short("prod "),
            vec![],
            "`TF_STATE_NAME` starts or ends with whitespace",
            Some(".env:5"),
        ),
        (
            "tab in .env",
            short("prod\t"),
            vec![],
            "`TF_STATE_NAME` contains control characters",
            Some(".env:5"),
        ),
        (
            "space in the address",
            makefile_era_env(&sandbox, "shared%20"),
            vec![],
            "the state named by `TF_HTTP_ADDRESS` starts or ends with whitespace",
            Some(".env:4"),
        ),
        (
            "a GitLab token as --state",
            short("dev-alice"),
            vec!["--state", ALICE_TOKEN],
            "`--state` looks like an access token",
            None,
        ),
        (
            "a random token as --state",
            short("dev-alice"),
            vec!["--state", "q8Rt2ZkP4vN7xW1mB5cJ9dF3"],
            "`--state` looks like an access token",
            None,
        ),
        (
            "the token in use, without a prefix",
            format!(
                "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=carol\nTF_HTTP_PASSWORD=plainTokenWithoutPrefix\n",
                sandbox.gitlab.url()
            ),
            vec!["--state", "plainTokenWithoutPrefix"],
            "`--state` looks like an access token",
            None,
        ),
        (
            "credentials in GITLAB_URL",
            format!(
                "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\n",
                sandbox
                    .gitlab
                    .url()
                    .replace("http://", "http://alice:plainTokenWithoutPrefix@")
            ),
            vec![],
            "`GITLAB_URL` has a user name or password before its host",
            Some(".env:1"),
        ),
        (
            "a user name alone in the address",
            makefile_era_env(&sandbox, "shared")
                .replace(&api, &api.replace("http://", "http://alice@")),
            vec![],
            "`TF_HTTP_ADDRESS` has a user name or password before its host",
            Some(".env:4"),
        ),
    ];
    for (label, env, flags, message, location) in cases {
        sandbox.write(".env", &env);
        let mut args = flags.clone();
        args.push("plan");
        let out = sandbox.tfw(&args).run();
        assert_eq!(out.status(), Some(1), "[{label}] {}", out.stderr());
        assert!(out.stderr().contains(message), "[{label}] {}", out.stderr());
        assert!(out.stderr().contains("hint:"), "[{label}] {}", out.stderr());
        if let Some(location) = location {
            assert!(
                out.stderr().contains(location),
                "[{label}] no {location}: {}",
                out.stderr()
            );
        }
        for secret in [
            ALICE_TOKEN,
            "plainTokenWithoutPrefix",
            "q8Rt2ZkP4vN7xW1mB5cJ9dF3",
        ] {
            assert!(
                !out.all().contains(secret),
                "[{label}] {secret} shown: {}",
                out.all()
            );
        }
        // Refused before anything was sent or written: no request, no plan, no init marker.
        assert!(
            sandbox.gitlab.requests().is_empty(),
            "[{label}] GitLab was called"
        );
        assert!(
            !sandbox.path(".tfw/plans").exists(),
            "[{label}] a plan was written"
        );
        assert!(
            !sandbox.path(".tfw/init.json").exists(),
            "[{label}] init.json was written"
        );
    }
    // doctor --offline reports the same, and so does env.
    sandbox.write(".env", short("prod "));
    sandbox
        .tfw(&["doctor", "--offline"])
        .run()
        .code(1)
        .stderr_has("starts or ends with whitespace");
}

#[test]
fn a_token_typed_as_a_state_argument_never_travels() {
    let sandbox = Sandbox::new();
    let random = "q8Rt2ZkP4vN7xW1mB5cJ9dF3";
    for args in [
        &["state", "show", ALICE_TOKEN][..],
        &["state", "show", random],
        &["state", "versions", random],
        &["state", "pull", ALICE_TOKEN],
    ] {
        // Refused: by the name rules, or as a name GitLab's listing does not have.
        sandbox.tfw(args).run().code(1);
    }
    sandbox
        .tfw(&["state", "pull", random])
        .run()
        .code(1)
        .stderr_has("the state name given looks like an access token");
    for request in sandbox.gitlab.requests() {
        assert!(
            !request.url.contains(random) && !request.url.contains(ALICE_TOKEN),
            "a token in a URL: {}",
            request.url
        );
    }
}
