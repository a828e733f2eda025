//! Issue "Core": every `.env` validation rule. Each bad file exits 1, names the line, says
//! what to do, and never starts terraform.

use crate::support::gitlab::ALICE_TOKEN;
use crate::support::{MAIN_TF, Sandbox, git};

struct Case {
    name: &'static str,
    env: String,
    /// Expected in stderr.
    message: &'static str,
    location: Option<&'static str>,
}

fn marker_binary(sandbox: &Sandbox) -> (std::path::PathBuf, std::path::PathBuf) {
    let marker = sandbox.home.path().join("terraform-started");
    let binary = sandbox.fake_binary("marker-terraform", &format!("touch '{}'", marker.display()));
    (binary, marker)
}

fn cases(api: &str) -> Vec<Case> {
    let seed = |state: &str, address: &str| {
        format!(
            "export TF_HTTP_USERNAME=\"alice\"\nexport TF_STATE_NAME=\"{state}\"\nexport TF_HTTP_PASSWORD=\"{ALICE_TOKEN}\"\nexport TF_HTTP_ADDRESS=\"{address}\"\n"
        )
    };
    vec![
        Case {
            name: "unparsable line",
            env: format!("TF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD {ALICE_TOKEN}\n"),
            message: "cannot parse this line",
            location: Some(".env:2"),
        },
        Case {
            name: "missing token",
            env: format!("GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\n"),
            message: "`TF_HTTP_PASSWORD` is missing",
            location: Some(".env"),
        },
        Case {
            name: "empty username",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=\"\"\nTF_HTTP_PASSWORD={ALICE_TOKEN}\n"
            ),
            message: "`TF_HTTP_USERNAME` is empty",
            location: Some(".env:3"),
        },
        Case {
            name: "missing project",
            env: format!(
                "GITLAB_URL={api}\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\n"
            ),
            message: "`GITLAB_PROJECT` is missing",
            location: Some(".env"),
        },
        Case {
            name: "placeholder from env.example",
            env: seed("dev", "<myurl>/state/${TF_STATE_NAME}"),
            message: "`TF_HTTP_ADDRESS` still holds the example value",
            location: Some(".env:4"),
        },
        Case {
            name: "placeholder token",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD=changeme\n"
            ),
            message: "`TF_HTTP_PASSWORD` still holds the example value",
            location: Some(".env:4"),
        },
        Case {
            name: "malformed URL",
            env: format!(
                "GITLAB_URL=gitlab.example.com\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\n"
            ),
            message: "`GITLAB_URL` is not a valid http(s) URL",
            location: Some(".env:1"),
        },
        Case {
            name: "empty state name",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\nTF_STATE_NAME=\"\"\n"
            ),
            message: "`TF_STATE_NAME` is empty",
            location: Some(".env:5"),
        },
        Case {
            name: "state name too long",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\nTF_STATE_NAME={}\n",
                "s".repeat(256)
            ),
            message: "GitLab allows at most 255",
            location: Some(".env:5"),
        },
        Case {
            name: "address for another state",
            env: seed(
                "dev-alice",
                &format!("{api}/projects/42/terraform/state/prod"),
            ),
            message: "`TF_HTTP_ADDRESS` ends in `prod` but `TF_STATE_NAME` is `dev-alice`",
            location: Some(".env:4"),
        },
        Case {
            name: "raw slash in the state name",
            env: seed(
                "team/dev",
                &format!("{api}/projects/42/terraform/state/${{TF_STATE_NAME}}"),
            ),
            message: "URL-encoded: `team%2Fdev`",
            location: Some(".env:4"),
        },
        Case {
            name: "lock address not address/lock",
            env: format!(
                "{}export TF_HTTP_LOCK_ADDRESS=\"{api}/projects/42/terraform/state/dev/lock\"\n",
                seed(
                    "dev-alice",
                    &format!("{api}/projects/42/terraform/state/${{TF_STATE_NAME}}")
                )
            ),
            message: "`TF_HTTP_LOCK_ADDRESS` is",
            location: Some(".env:5"),
        },
        Case {
            name: "unknown backend key",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\nTF_HTTP_LOCK_METOD=POST\n"
            ),
            message: "did you mean `TF_HTTP_LOCK_METHOD`?",
            location: Some(".env:5"),
        },
        Case {
            name: "the seed's placeholder username",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nexport TF_HTTP_USERNAME=\"PseudoGitlab\"\nTF_HTTP_PASSWORD={ALICE_TOKEN}\n"
            ),
            message: "`TF_HTTP_USERNAME` still holds the example value",
            location: Some(".env:3"),
        },
        Case {
            name: "the seed's placeholder token",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nexport TF_HTTP_PASSWORD=\"monPersonnalAccessTokenGitlab\"\n"
            ),
            message: "`TF_HTTP_PASSWORD` still holds the example value",
            location: Some(".env:4"),
        },
        Case {
            name: "the seed's placeholder AWS key",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\nexport AWS_ACCESS_KEY_ID=\"AWS-access-key-id\"\nexport AWS_SECRET_ACCESS_KEY=\"secret-AWS-access-key\"\n"
            ),
            message: "`AWS_ACCESS_KEY_ID` still holds the example value",
            location: Some(".env:5"),
        },
        Case {
            name: "a lock method GitLab does not take, with GITLAB_URL",
            env: format!(
                "GITLAB_URL={api}\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\nTF_HTTP_LOCK_METHOD=LOCK\n"
            ),
            message: "`TF_HTTP_LOCK_METHOD` is `LOCK`; GitLab needs `POST`",
            location: Some(".env:5"),
        },
        Case {
            name: "an unlock method GitLab does not take",
            env: format!(
                "{}TF_HTTP_UNLOCK_METHOD=PUT\n",
                seed(
                    "dev-alice",
                    &format!("{api}/projects/42/terraform/state/${{TF_STATE_NAME}}")
                )
            ),
            message: "`TF_HTTP_UNLOCK_METHOD` is `PUT`; GitLab needs `DELETE`",
            location: Some(".env:5"),
        },
        Case {
            name: "not a GitLab address",
            env: seed("dev", "https://gitlab.example.com/state/dev"),
            message: "is not a GitLab state address",
            location: Some(".env:4"),
        },
    ]
}

#[test]
fn every_rule_names_the_line_and_never_starts_terraform() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    let (binary, marker) = marker_binary(&sandbox);
    for case in cases(&sandbox.gitlab.api_url()) {
        sandbox.write(".env", &case.env);
        let out = sandbox.tfw(&["plan"]).env("TFW_BINARY", &binary).run();
        assert_eq!(out.status(), Some(1), "{}: {out:?}", case.name);
        assert!(
            out.stderr().contains(case.message),
            "{}: {}",
            case.name,
            out.stderr()
        );
        assert!(
            out.stderr().contains("hint:"),
            "{}: no hint in {}",
            case.name,
            out.stderr()
        );
        if let Some(location) = case.location {
            assert!(
                out.stderr().contains(location),
                "{}: no {location} in {}",
                case.name,
                out.stderr()
            );
        }
        assert!(
            !out.stderr().contains(ALICE_TOKEN),
            "{}: token leaked",
            case.name
        );
        assert!(!marker.exists(), "{}: terraform was started", case.name);
    }
    assert!(
        sandbox.gitlab.requests().is_empty(),
        "nothing may reach GitLab"
    );
}

#[test]
fn missing_env_file_suggests_the_fix() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    let (binary, marker) = marker_binary(&sandbox);
    sandbox
        .tfw(&["plan"])
        .env("TFW_BINARY", &binary)
        .run()
        .code(1)
        .stderr_has(".env` does not exist")
        .stderr_has("env.example")
        .stderr_has("tfw setup");
    assert!(!marker.exists());
}

#[test]
fn env_tracked_by_git_is_an_error_and_unignored_a_warning() {
    let sandbox = Sandbox::new();
    git(sandbox.dir.path(), &["init", "-q"]);
    sandbox
        .tfw(&["doctor", "--offline"])
        .run()
        .success()
        .stderr_has(".env is not ignored by git");
    git(sandbox.dir.path(), &["add", ".env"]);
    let (binary, marker) = marker_binary(&sandbox);
    sandbox
        .tfw(&["init"])
        .env("TFW_BINARY", &binary)
        .run()
        .code(1)
        .stderr_has(".env is tracked by git")
        .stderr_has("git rm --cached .env");
    assert!(!marker.exists());
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["destroy", "--auto-approve"],
    ] {
        let out = sandbox.tfw(args).env("TFW_BINARY", &binary).run();
        out.code(1).stderr_has(".env is tracked by git");
    }
    assert!(!marker.exists());
    assert!(sandbox.gitlab.requests().is_empty());
    git(sandbox.dir.path(), &["rm", "-q", "--cached", ".env"]);
    sandbox.write(".gitignore", ".env\n");
    let out = sandbox.tfw(&["doctor", "--offline"]).run();
    out.success();
    assert!(!out.stderr().contains("not ignored"), "{}", out.stderr());
}

#[test]
fn env_readable_by_others_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    std::fs::set_permissions(sandbox.path(".env"), std::fs::Permissions::from_mode(0o644)).unwrap();
    sandbox
        .tfw(&["env"])
        .run()
        .success()
        .stderr_has("readable by other users")
        .stderr_has("chmod 600");
}

#[test]
fn seed_format_quirks_are_accepted() {
    // CRLF endings, a BOM, comments, a bare `export`, duplicate keys (last wins, warned).
    let sandbox = Sandbox::new();
    let text = sandbox.seed_env_text("alice", ALICE_TOKEN, "dev-alice");
    let text = format!(
        "\u{feff}# team file\r\nexport OLD_FLAG\r\nexport TF_STATE_NAME=\"ignored\"\r\n{}",
        text.replace('\n', "\r\n")
    );
    sandbox.write(".env", text);
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .success()
        .stderr_has("`TF_STATE_NAME` is set twice")
        .stderr_has("`export OLD_FLAG` has no value");
    assert!(sandbox.gitlab.state("42", "dev-alice").is_some());
}

#[test]
fn other_keys_reach_terraform_untouched() {
    let sandbox = Sandbox::new();
    let mut text = sandbox.seed_env_text("alice", ALICE_TOKEN, "dev-alice");
    text.push_str("export TF_VAR_greeting=\"from .env\"\n");
    sandbox.write(".env", text);
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(state["outputs"]["greeting"]["value"], "from .env");
}

/// The seed's `env.example`, as it was shipped (see the migration guide).
const SEED_ENV_EXAMPLE: &str = r#"# TOKEN DOIT avoir permissions read/write
export TF_HTTP_USERNAME="PseudoGitlab"
export TF_STATE_NAME="dev"
# Cf.https://docs.gitlab.com/ee/user/profile/personal_access_tokens.html
export TF_HTTP_PASSWORD="monPersonnalAccessTokenGitlab"
# Backend HTTP
export TF_HTTP_ADDRESS="<myurl>/state/${TF_STATE_NAME}"
export TF_HTTP_LOCK_ADDRESS="<myurl>/state/${TF_STATE_NAME}/lock"
export TF_HTTP_UNLOCK_ADDRESS="<myurl>/state/${TF_STATE_NAME}/lock"
# Accès AWS
export AWS_ACCESS_KEY_ID="AWS-access-key-id"
export AWS_SECRET_ACCESS_KEY="secret-AWS-access-key"
"#;

#[test]
fn placeholders_are_errors_at_their_line_and_doctor_reports_them() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    sandbox.write("env.example", SEED_ENV_EXAMPLE);
    // A copy half filled in: the address is real, the rest still the seed's.
    let api = sandbox.gitlab.api_url();
    sandbox.write(
        ".env",
        SEED_ENV_EXAMPLE.replace("<myurl>", &format!("{api}/projects/42/terraform")),
    );
    for args in [&["doctor", "--offline"][..], &["doctor"], &["plan"]] {
        let out = sandbox.tfw(args).run();
        out.code(1);
        for (key, line) in [
            ("TF_HTTP_USERNAME", 2),
            ("TF_HTTP_PASSWORD", 5),
            ("AWS_ACCESS_KEY_ID", 11),
            ("AWS_SECRET_ACCESS_KEY", 12),
        ] {
            assert!(
                out.stderr()
                    .contains(&format!("`{key}` still holds the example value")),
                "{args:?} {key}: {}",
                out.stderr()
            );
            assert!(
                out.stderr().contains(&format!(".env:{line}")),
                "{}",
                out.stderr()
            );
        }
    }
    assert!(
        sandbox.gitlab.requests().is_empty(),
        "a placeholder token was sent to GitLab"
    );

    // The repository's own env.example: its values for personal keys are placeholders,
    // its shared values (the URL, the project) are the right ones.
    let url = sandbox.gitlab.url();
    sandbox.write(
        "env.example",
        format!(
            "GITLAB_URL=\"{url}\"\nGITLAB_PROJECT=\"group/infra\"\nTF_HTTP_USERNAME=\"prenom.nom\"\nTF_HTTP_PASSWORD=\"colle-ton-jeton-ici\"\n"
        ),
    );
    sandbox.write(".env", sandbox.read("env.example"));
    let out = sandbox.tfw(&["doctor", "--offline"]).run();
    out.code(1)
        .stderr_has("`TF_HTTP_USERNAME` still holds the example value")
        .stderr_has(".env:3")
        .stderr_has("`TF_HTTP_PASSWORD` still holds the example value")
        .stderr_has(".env:4");
    assert!(
        !out.stderr().contains("`GITLAB_URL` still"),
        "{}",
        out.stderr()
    );
    assert!(
        !out.stderr().contains("`GITLAB_PROJECT` still"),
        "{}",
        out.stderr()
    );
    sandbox.write(
        ".env",
        format!(
            "GITLAB_URL=\"{url}\"\nGITLAB_PROJECT=\"group/infra\"\nTF_HTTP_USERNAME=\"alice\"\nTF_HTTP_PASSWORD=\"{ALICE_TOKEN}\"\n"
        ),
    );
    sandbox.tfw(&["doctor", "--offline"]).run().success();
    assert!(sandbox.gitlab.requests().is_empty());
}
