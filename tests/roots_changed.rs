//! Issue 17, item 5: `--changed[=REF]` selects the roots whose files, or the local modules
//! they call (transitively), changed since REF (default: the merge base with the default
//! branch), in real git repositories; `tfw roots --changed` says why each was selected.

use crate::support::{MAIN_TF, Sandbox, git, gitlab};

/// `envs/prod` calls `modules/app`, which calls `modules/net`; `envs/staging` calls
/// `modules/net`; `envs/qa` calls nothing local. Committed on `main`, then on a branch.
fn repo() -> Sandbox {
    let sandbox = Sandbox::empty();
    let dir = sandbox.dir.path();
    git(dir, &["init", "-q"]);
    sandbox.write(".gitignore", ".env\n.terraform/\n.tfw/\n");
    sandbox.write(
        ".env",
        format!(
            "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={}\n",
            sandbox.gitlab.url(),
            gitlab::ALICE_TOKEN
        ),
    );
    sandbox.write("tfw.toml", "state = \"{root}\"\nprotected = [\"prod\"]\n");
    let call = |to: &str| format!("{MAIN_TF}\nmodule \"m\" {{\n  source = \"{to}\"\n}}\n");
    sandbox.write("envs/prod/main.tf", call("../../modules/app"));
    sandbox.write("envs/staging/main.tf", call("../../modules/net"));
    sandbox.write("envs/qa/main.tf", MAIN_TF);
    sandbox.write(
        "modules/app/main.tf",
        "module \"net\" {\n  source = \"../net\"\n}\n",
    );
    sandbox.write(
        "modules/net/main.tf",
        "variable \"cidr\" {\n  default = \"a\"\n}\n",
    );
    sandbox.write("modules/unused/main.tf", "variable \"x\" {}\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "infra"]);
    git(dir, &["checkout", "-q", "-b", "feature"]);
    sandbox
}

fn roots_json(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["roots", "--json", "--offline"];
    all.extend_from_slice(args);
    let out = sandbox.tfw(&all).run();
    out.success();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()))
}

/// Each selected root with its reasons.
fn selected(json: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    json["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let why = r["changed"].as_array().unwrap();
            (
                r["root"].as_str().unwrap().to_string(),
                why.iter()
                    .map(|w| w.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn changed_roots_follow_their_files_and_local_modules_transitively() {
    let sandbox = repo();
    let dir = sandbox.dir.path();
    // Nothing changed on the branch yet.
    assert!(selected(&roots_json(&sandbox, &["--changed"])).is_empty());
    sandbox.write("modules/unused/main.tf", "variable \"y\" {}\n");
    sandbox.write(
        "modules/net/main.tf",
        "variable \"cidr\" {\n  default = \"b\"\n}\n",
    );
    git(dir, &["commit", "-q", "-am", "net"]);

    let json = roots_json(&sandbox, &["--changed"]);
    assert_eq!(json["since"]["ref"], "main", "{json}");
    let roots = selected(&json);
    let names: Vec<&str> = roots.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(names, ["envs/prod", "envs/staging"], "{json}");
    assert_eq!(
        roots[0].1,
        [
            "module `modules/net` (called at envs/prod/main.tf:14 → modules/app/main.tf:2) changed: modules/net/main.tf"
        ]
    );
    assert_eq!(
        roots[1].1,
        ["module `modules/net` (called at envs/staging/main.tf:14) changed: modules/net/main.tf"]
    );

    // The work tree counts: an edit not yet committed, and a new file git does not ignore.
    sandbox.write("envs/qa/variables.tf", "variable \"v\" {}\n");
    sandbox.write("envs/qa/.tfw/plans/x.json", "{}");
    let out = sandbox.tfw(&["roots", "--changed", "--offline"]).run();
    out.success()
        .stderr_has("3 of 3 roots changed since `main`")
        .stdout_has("  changed: envs/qa/variables.tf")
        .lacks("x.json");

    // Since HEAD: only what is not committed.
    let roots = selected(&roots_json(&sandbox, &["--changed=HEAD"]));
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].0, "envs/qa");

    // `--changed` runs the command in those roots only, and combines with `--roots`.
    let out = sandbox.tfw(&["--changed=HEAD", "validate"]).run();
    out.success();
    assert!(out.stderr().contains("\nenvs/qa "), "{}", out.all());
    assert!(!out.stderr().contains("\nenvs/prod "), "{}", out.all());
    sandbox
        .tfw(&["--changed", "--roots", "envs/p*", "validate"])
        .run()
        .success()
        .lacks("envs/staging ")
        .lacks("envs/qa ");

    // Nothing changed: nothing runs, and that is not a failure.
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "qa"]);
    sandbox
        .tfw(&["--changed=HEAD", "plan"])
        .run()
        .success()
        .stderr_has("no root changed since `HEAD`");
}

#[test]
fn the_default_branch_is_origin_head_then_main_or_master() {
    let sandbox = repo();
    let dir = sandbox.dir.path();
    // A clone whose remote's default branch is called `trunk`: only origin/HEAD names it.
    git(dir, &["checkout", "-q", "-b", "trunk", "main"]);
    git(dir, &["branch", "-q", "-D", "main"]);
    let work = sandbox.home.path().join("work");
    git(
        sandbox.home.path(),
        &["clone", "-q", dir.to_str().unwrap(), "work"],
    );
    git(&work, &["checkout", "-q", "-b", "change"]);
    std::fs::write(work.join("envs/qa/main.tf"), format!("{MAIN_TF}\n# edit\n")).unwrap();
    std::fs::copy(dir.join(".env"), work.join(".env")).unwrap();
    let out = sandbox
        .tfw(&[
            "-C",
            work.to_str().unwrap(),
            "roots",
            "--changed",
            "--offline",
        ])
        .run();
    out.success()
        .stderr_has("since `origin/trunk`")
        .stdout_has("envs/qa")
        .lacks("envs/prod");

    // No origin/HEAD, no main, no master: an error saying how to name the revision.
    sandbox
        .tfw(&["roots", "--changed", "--offline"])
        .run()
        .code(1)
        .stderr_has("cannot find the default branch")
        .stderr_has("--changed=REF");
    sandbox
        .tfw(&["roots", "--changed=no-such-ref", "--offline"])
        .run()
        .code(1)
        .stderr_has("`--changed=no-such-ref`: git knows no such revision");
    // Outside git: said, not guessed.
    let plain = Sandbox::empty();
    plain.write("envs/a/main.tf", MAIN_TF);
    plain
        .tfw(&["roots", "--changed", "--offline"])
        .run()
        .code(1)
        .stderr_has("is not in a git work tree");
}

#[test]
fn a_saved_plan_is_stale_once_a_local_module_it_calls_changed() {
    let sandbox = repo();
    sandbox.tfw(&["-C", "envs/staging", "plan"]).run().success();
    sandbox.write(
        "modules/net/main.tf",
        "variable \"cidr\" {\n  default = \"changed\"\n}\n",
    );
    sandbox
        .tfw(&["-C", "envs/staging", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("the configuration (*.tf, *.tfvars) changed since it was made");
    assert!(sandbox.remote_state("staging").is_none());
}
