//! Issue 19 items 2 and 6: `tfw drift --all` checks every root through the `--all` pool, each
//! root with the states its tfw.toml lists in `drift` (default: its own state), and reports
//! a state it could not check as a row with the reason, with exit 3 when nothing drifted.

use serde_json::Value;

use crate::drift_issues::greeting_state;
use crate::support::{MAIN_TF, Sandbox, git, gitlab};

/// `envs/prod` and `envs/staging` on the states `prod` and `staging`; both in sync.
fn repo() -> Sandbox {
    let sandbox = Sandbox::empty();
    git(sandbox.dir.path(), &["init", "-q"]);
    sandbox.write(".gitignore", ".env\n.terraform/\n.tfw/\n");
    sandbox.write("envs/prod/main.tf", MAIN_TF);
    sandbox.write("envs/staging/main.tf", MAIN_TF);
    sandbox.write("tfw.toml", "state = \"{root}\"\n");
    sandbox.write(
        ".env",
        format!(
            "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={}\n",
            sandbox.gitlab.url(),
            gitlab::ALICE_TOKEN
        ),
    );
    sandbox
        .gitlab
        .put_state("42", "prod", &greeting_state(1, "hello"));
    sandbox
        .gitlab
        .put_state("42", "staging", &greeting_state(1, "hello"));
    sandbox
}

fn json(out: &crate::support::Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()))
}

fn rows(report: &Value) -> Vec<(String, String, String)> {
    report["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["root"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap_or("?").to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_root_with_its_listed_states_in_one_report() {
    let sandbox = repo();
    let out = sandbox.tfw(&["drift", "--all"]).run();
    out.success()
        .stdout_has("`prod`: in sync")
        .stdout_has("envs/staging  staging  in sync");
    assert!(out.stderr().contains("==> envs/prod"), "{}", out.all());

    // staging drifts; prod is also checked against a state GitLab does not have.
    sandbox
        .gitlab
        .put_state("42", "staging", &greeting_state(2, "old"));
    sandbox.write(
        "tfw.toml",
        "state = \"{root}\"\n\n[roots.\"envs/prod\"]\ndrift = [\"prod\", \"prod-eu\"]\n",
    );
    let out = sandbox.tfw(&["--all", "drift", "--json"]).run();
    out.code(2);
    let report = json(&out);
    let expected = [
        ("envs/prod", "prod", "in_sync"),
        ("envs/prod", "prod-eu", "failed"),
        ("envs/staging", "staging", "drifted"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(rows(&report), expected);
    assert_eq!(report["complete"], false);
    assert_eq!(report["drifted"], 1);
    let failed = &report["states"][1];
    assert_eq!(
        failed["reason"],
        "GitLab has no state `prod-eu`: there is nothing to compare with"
    );
    assert_eq!(report["states"][2]["outputs"][0]["path"], "greeting");

    // Nothing drifted, but one state could not be checked: incomplete, exit 3.
    sandbox
        .gitlab
        .put_state("42", "staging", &greeting_state(3, "hello"));
    let out = sandbox.tfw(&["drift", "--all"]).run();
    out.code(3)
        .stdout_has("envs/prod     prod-eu  failed: GitLab has no state `prod-eu`")
        .stderr_has("the answer is incomplete");
    // --roots narrows, --state is refused with --all.
    let out = sandbox
        .tfw(&["--roots", "envs/staging", "drift", "--json"])
        .run();
    out.success();
    assert_eq!(rows(&json(&out)).len(), 1);
    sandbox
        .tfw(&["--state", "prod", "drift", "--all"])
        .run()
        .code(1)
        .stderr_has("`--state` with `--all` would check one state in every root");
}

#[test]
fn a_root_that_cannot_be_checked_is_a_row_with_its_reason() {
    let sandbox = repo();
    // This root's .env leaves a placeholder: its settings are wrong, the others still run.
    sandbox.write("envs/staging/.env", "TF_HTTP_PASSWORD=\"<your token>\"\n");
    let out = sandbox.tfw(&["drift", "--all", "--json"]).run();
    out.code(3);
    let report = json(&out);
    assert_eq!(report["states"][0]["status"], "in_sync", "{}", out.all());
    let broken = &report["states"][1];
    assert_eq!(broken["root"], "envs/staging");
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["reason"]
            .as_str()
            .unwrap()
            .contains("TF_HTTP_PASSWORD"),
        "{broken}"
    );
    assert!(
        out.stderr().contains("error:"),
        "the root's own error is shown: {}",
        out.stderr()
    );
}
