//! Issue 17, item 7: `tfw new --roots staging,prod` lays out a repository with one folder per
//! environment that tfw runs as roots, and `tfw adopt` recognises such a repository: no
//! backend at the top (the repository root is no root), the pipeline per root.

use crate::support::{MAIN_TF, Sandbox, git, gitlab};

fn shared_env(sandbox: &Sandbox, at: &str) {
    sandbox.write(
        &format!("{at}.env"),
        format!(
            "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={}\n",
            sandbox.gitlab.url(),
            gitlab::ALICE_TOKEN
        ),
    );
}

#[test]
fn new_with_roots_scaffolds_environments_that_plan_as_roots() {
    let sandbox = Sandbox::empty();
    let out = sandbox
        .tfw(&["new", "infra", "--roots", "staging,prod"])
        .run();
    out.success()
        .stderr_has("created    envs/staging/main.tf")
        .stderr_has("created    envs/prod/main.tf")
        .stderr_has("created    modules/app/main.tf");
    assert!(!sandbox.path("infra/backend.tf").exists(), "{}", out.all());
    assert!(
        sandbox
            .read("infra/tfw.toml")
            .contains("state = \"{root}\"")
    );
    assert!(
        sandbox
            .read("infra/.gitlab-ci.yml")
            .contains("TFW_PIPELINE: \"roots\"")
    );
    assert!(
        sandbox
            .read("infra/envs/prod/main.tf")
            .contains("../../modules/app")
    );
    // The template is still in sync: the top-level backend is opted out of, not missing.
    sandbox
        .tfw(&["-C", "infra", "sync", "--check"])
        .run()
        .success();

    shared_env(&sandbox, "infra/");
    let json: serde_json::Value = serde_json::from_str(
        &sandbox
            .tfw(&["-C", "infra", "roots", "--json", "--offline"])
            .run()
            .success()
            .stdout,
    )
    .unwrap();
    let roots: Vec<(&str, &str, bool)> = json["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["root"].as_str().unwrap(),
                r["state"].as_str().unwrap(),
                r["protected"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        roots,
        [
            ("envs/prod", "prod", true),
            ("envs/staging", "staging", true)
        ]
    );
    sandbox
        .tfw(&["-C", "infra", "--all", "plan"])
        .run()
        .success()
        .stderr_has("Plan for `prod`")
        .stderr_has("Plan for `staging`");

    sandbox
        .tfw(&["new", "other", "--roots", "../prod"])
        .run()
        .code(1)
        .stderr_has("a root's name is one folder name");
}

#[test]
fn adopt_recognises_a_repository_of_roots() {
    let sandbox = Sandbox::empty();
    git(sandbox.dir.path(), &["init", "-q"]);
    sandbox.write("envs/staging/main.tf", MAIN_TF);
    sandbox.write("envs/prod/main.tf", MAIN_TF);
    sandbox.write("modules/net/main.tf", "variable \"x\" {}\n");
    git(sandbox.dir.path(), &["add", "-A"]);
    git(sandbox.dir.path(), &["commit", "-q", "-m", "infra"]);
    let out = sandbox.tfw(&["adopt"]).run();
    out.success()
        .stderr_has("2 roots: envs/prod, envs/staging")
        .stderr_has("state = \"{root}\"");
    assert!(!sandbox.path("backend.tf").exists(), "{}", out.all());
    assert!(
        sandbox
            .read(".gitlab-ci.yml")
            .contains("TFW_PIPELINE: \"roots\"")
    );
    sandbox.tfw(&["sync", "--check"]).run().success();
}
