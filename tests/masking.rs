//! Issue 13, item 7: which values are secrets (by key, whatever the case, `TF_VAR_*` included;
//! by shape, whatever the key), and that they are masked in `tfw env`, `--json`, `-v` logs,
//! errors and terraform's own output, from `.env` and from the process environment alike,
//! while `-v` still shows every other value.

use crate::support::gitlab::ALICE_TOKEN;
use crate::support::{MAIN_TF, Sandbox};

/// Secret values, each recognisable, under keys the old suffix rule missed.
const DOTENV_SECRETS: &[(&str, &str)] = &[
    ("TF_VAR_db_password", "dbpw-7f3a9c1e5b"),
    ("CLOUDFLARE_API_KEY", "cfkey-2b8d4f6a0c"),
    ("GOOGLE_CREDENTIALS", "gcreds-9e1c3a5b7d"),
    ("DB_PASS", "dbpass-4c6e8a0b2d"),
    ("TF_VAR_ApiToken", "apitok-1a3c5e7b9d"),
    // A token under an innocent key: masked by its shape.
    ("SOME_SETTING", "ghp_0123456789abcdefABCDEF0123456789abcd"),
];

/// A secret terraform prints escaped (`"` and `\`): masked in that form too.
const QUOTED: (&str, &str) = ("TF_VAR_quoted_password", r#"q"uo\te-5d7f9b"#);
const QUOTED_ESCAPED: &str = r#"q\"uo\\te-5d7f9b"#;

/// Secrets only in the process environment (terraform inherits them too).
const ENV_SECRETS: &[(&str, &str)] = &[
    ("TF_VAR_shell_password", "shellpw-8d0f2b4a6c"),
    ("ARM_CLIENT_SECRET", "armsecret-5a7c9e1b3d"),
];

fn sandbox() -> Sandbox {
    let sandbox = Sandbox::empty();
    let mut tf = MAIN_TF.to_string();
    // terraform prints every output's value in a plan: each secret is echoed by terraform.
    for name in [
        "db_password",
        "ApiToken",
        "shell_password",
        "quoted_password",
    ] {
        tf.push_str(&format!(
            "variable \"{name}\" {{}}\noutput \"{name}\" {{\n  value = var.{name}\n}}\n"
        ));
    }
    sandbox.write("main.tf", tf);
    let mut env = format!(
        "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={ALICE_TOKEN}\n",
        sandbox.gitlab.url()
    );
    for (key, value) in DOTENV_SECRETS {
        env.push_str(&format!("{key}=\"{value}\"\n"));
    }
    env.push_str(&format!("{}='{}'\n", QUOTED.0, QUOTED.1));
    sandbox.write(".env", env);
    sandbox
}

fn with_env(sandbox: &Sandbox, args: &[&str]) -> crate::support::Cmd {
    ENV_SECRETS
        .iter()
        .fold(sandbox.tfw(args), |cmd, (key, value)| cmd.env(key, value))
}

#[track_caller]
fn assert_masked(label: &str, text: &str) {
    for (key, value) in DOTENV_SECRETS.iter().chain(ENV_SECRETS) {
        assert!(
            !text.contains(value),
            "[{label}] {key}'s value shown:\n{text}"
        );
    }
    assert!(!text.contains(ALICE_TOKEN), "[{label}] the token shown");
    assert!(
        !text.contains(QUOTED.1),
        "[{label}] the quoted secret shown"
    );
    assert!(
        !text.contains(QUOTED_ESCAPED),
        "[{label}] the quoted secret shown escaped"
    );
}

#[test]
fn secrets_are_masked_by_key_and_by_shape_everywhere() {
    let sandbox = sandbox();
    let url = sandbox.gitlab.url();

    let out = with_env(&sandbox, &["env"]).run();
    out.success();
    assert_masked("env", &out.all());
    for (key, _) in DOTENV_SECRETS {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(key) && l.contains("****")),
            "{key} not shown masked:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains(&url), "GITLAB_URL is not a secret");

    let out = with_env(&sandbox, &["env", "--json"]).run();
    out.success();
    assert_masked("env --json", &out.all());
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let variable = |key: &str| {
        json["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["key"] == key)
            .unwrap_or_else(|| panic!("{key} in {json}"))["value"]
            .clone()
    };
    assert_eq!(variable("DB_PASS"), "****");
    assert_eq!(variable("GITLAB_URL"), url.as_str());

    // terraform prints each output's value in the plan; tfw masks them in its output.
    let out = with_env(&sandbox, &["-v", "plan"]).run();
    out.success();
    assert!(out.stdout.contains("Changes to Outputs"), "{}", out.stdout);
    assert_masked("-v plan", &out.all());
    // `-v` hides secrets only: the rest of terraform's environment is shown.
    assert!(
        out.stderr().contains(&format!("env GITLAB_URL={url}")),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("env TF_HTTP_USERNAME=alice"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("env TF_HTTP_PASSWORD=****"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("env DB_PASS=****"),
        "{}",
        out.stderr()
    );

    // An error quoting a value: the shell disagreeing with `.env` on a secret key.
    let out = with_env(&sandbox, &["env"])
        .env("TF_HTTP_PASSWORD", "glpat-other-0123456789abcdef")
        .run();
    out.success();
    assert!(
        out.stderr().contains("TF_HTTP_PASSWORD"),
        "{}",
        out.stderr()
    );
    assert!(!out.all().contains("glpat-other-0123456789abcdef"));
    assert_masked("disagreement", &out.all());
}
