//! Issue 19 items 4 and 7: GitLab's state protection rules, read from the test server's
//! `GET /projects/:id/terraform/state_protection_rules`, shown by `use`, `state show` and
//! `doctor`, and a write the rule would refuse (403) refused by tfw before any lock is taken.
//! A GitLab without the feature (404, the test server's default) works as before.

use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::support::gitlab::{DAVE_TOKEN, Role};

const PROJECT: &str = "42";

fn doc(serial: u64) -> Vec<u8> {
    serde_json::to_vec(
        &json!({ "version": 4, "serial": serial, "lineage": "l", "outputs": {}, "resources": [] }),
    )
    .unwrap()
}

/// prod takes writes from CI jobs only; staging from Owners only.
fn seeded() -> Sandbox {
    let sandbox = Sandbox::new();
    let gitlab = &sandbox.gitlab;
    gitlab.put_state(PROJECT, "prod", &doc(3));
    gitlab.put_state(PROJECT, "staging", &doc(2));
    gitlab.set_protection_rules_api(true);
    gitlab.add_protection_rule(PROJECT, "prod", Role::Maintainer, "ci_only");
    gitlab.add_protection_rule(PROJECT, "staging", Role::Owner, "anywhere");
    sandbox
}

/// No lock was asked for, and nothing was written.
#[track_caller]
fn nothing_locked(sandbox: &Sandbox) {
    let writes: Vec<String> = sandbox
        .gitlab
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && r.path().contains("/terraform/state/"))
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    assert_eq!(
        writes,
        Vec::<String>::new(),
        "tfw asked GitLab to change a state"
    );
    assert!(!sandbox.path(".terraform").exists(), "terraform ran");
}

#[test]
fn a_laptop_apply_to_a_ci_only_state_is_refused_before_the_lock() {
    let sandbox = seeded();
    let out = sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run();
    out.code(1)
        .stderr_has("error: GitLab's protection rule on `prod` accepts writes only from CI jobs (`minimum_access_level_for_write: maintainer`, `allowed_from: ci_only`): apply refused before taking the lock, nothing was changed")
        .stderr_has("hint: change `prod` through the pipeline");
    nothing_locked(&sandbox);
    let out = sandbox
        .tfw(&[
            "--state",
            "prod",
            "destroy",
            "--auto-approve",
            "--allow-protected",
        ])
        .run();
    out.code(1)
        .stderr_has("destroy refused before taking the lock");
    let out = sandbox
        .tfw(&["state", "unlock", "prod", "--force", "--confirm", "prod"])
        .run();
    out.code(1)
        .stderr_has("unlock refused before taking the lock");
    nothing_locked(&sandbox);
    // The role a rule asks for is checked too (alice is a Maintainer).
    let out = sandbox
        .tfw(&["--state", "staging", "apply", "--auto-approve"])
        .run();
    out.code(1).stderr_has(
        "GitLab's protection rule on `staging` needs the owner role or higher for writes",
    );
    nothing_locked(&sandbox);
}

#[test]
fn use_state_show_and_doctor_show_the_rule() {
    let sandbox = seeded();
    let out = sandbox.tfw(&["use", "prod"]).run();
    out.success()
        .stderr_has("note: `prod` is protected on GitLab: GitLab rule: writes need maintainer or higher, from CI jobs only (`allowed_from: ci_only`)")
        .stderr_has("GitLab will refuse apply and destroy of `prod` from here");
    let out = sandbox.tfw(&["state", "show"]).run();
    out.success().stdout_has(
        "protection  GitLab rule: writes need maintainer or higher, from CI jobs only (`allowed_from: ci_only`)",
    );
    let out = sandbox.tfw(&["state", "show", "--json"]).run();
    out.success();
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        shown["protection_rule"],
        json!({ "state_name": "prod", "minimum_access_level_for_write": "maintainer", "allowed_from": "ci_only" })
    );
    let out = sandbox.tfw(&["doctor"]).run();
    out.success();
    out.stderr_has("protection")
        .stderr_has("`prod`: GitLab rule: writes need maintainer")
        .stderr_has("warning: GitLab's protection rule on `prod` accepts writes only from CI jobs");
    // A state without a rule.
    sandbox.gitlab.put_state(PROJECT, "dev-alice", &doc(1));
    let out = sandbox.tfw(&["state", "show", "dev-alice"]).run();
    out.success().stdout_has("protection  none\n");
}

#[test]
fn a_gitlab_without_rules_or_a_role_that_cannot_read_them_works_as_before() {
    let sandbox = seeded();
    sandbox.gitlab.set_protection_rules_api(false);
    let out = sandbox.tfw(&["state", "show", "prod", "--json"]).run();
    out.success();
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["protection_rule"], Value::Null);
    let out = sandbox.tfw(&["state", "show", "prod"]).run();
    out.success()
        .stdout_has("protection  none (this GitLab has no state protection rules)");
    let out = sandbox.tfw(&["use", "prod"]).run();
    out.success().lacks("protected on GitLab");

    // Dave (Developer) may not read the rules: unknown, never an error.
    sandbox.gitlab.set_protection_rules_api(true);
    sandbox.seed_env("dave", DAVE_TOKEN, "prod");
    let out = sandbox.tfw(&["state", "show", "prod"]).run();
    out.success()
        .stdout_has("protection  unknown (the rules could not be read");
}

/// Item 4 for `tfw plan`: a plan takes the state's lock, and GitLab's rule guards the lock
/// as it guards writes. The refusal is predicted before any lock is asked for, and the plan
/// goes without it (it only reads), naming the rule.
#[test]
fn a_plan_whose_lock_the_rule_refuses_never_asks_for_the_lock() {
    let sandbox = seeded();
    sandbox.gitlab.clear_requests();
    let locks = |sandbox: &Sandbox| -> Vec<String> {
        sandbox
            .gitlab
            .requests()
            .iter()
            .filter(|r| r.path().ends_with("/lock"))
            .map(|r| format!("{} {} {}", r.method, r.path(), r.status))
            .collect()
    };
    for (state, rule) in [
        (
            "prod",
            "GitLab rule: writes need maintainer or higher, from CI jobs only (`allowed_from: ci_only`)",
        ),
        (
            "staging",
            "GitLab rule: writes need owner or higher, from anywhere (`allowed_from: anywhere`)",
        ),
    ] {
        let out = sandbox.tfw(&["--state", state, "plan"]).run();
        out.success()
            .stderr_has(&format!(
                "{rule}: GitLab would refuse the lock of `{state}` from here (403)"
            ))
            .stderr_has("is applied through the pipeline");
        assert_eq!(
            locks(&sandbox),
            Vec::<String>::new(),
            "{state}: the lock was asked for"
        );
    }
    // A state without a rule plans with its lock, as always.
    sandbox.tfw(&["plan"]).run().success();
    assert_eq!(locks(&sandbox).len(), 2, "{:?}", locks(&sandbox));

    // A GitLab that cannot show its rules still enforces them: the plan asks, is refused,
    // and plans again without the lock (as for a Developer).
    sandbox.gitlab.set_protection_rules_api(false);
    sandbox.gitlab.clear_requests();
    let out = sandbox.tfw(&["--state", "prod", "plan"]).run();
    out.success().stderr_has("planning again with -lock=false");
    assert_eq!(
        locks(&sandbox).first().map(String::as_str),
        Some("POST /api/v4/projects/42/terraform/state/prod/lock 403")
    );
}

/// `tfw exec` writes (apply, import, state rm/push, taint) reach the same lock and write as
/// `tfw apply`: the rule refuses them before terraform starts, whatever `--allow-protected`.
#[test]
fn exec_writes_the_rule_refuses_never_take_the_lock() {
    let sandbox = seeded();
    for (state, args) in [
        ("prod", &["apply", "-auto-approve"][..]),
        ("prod", &["import", "terraform_data.r", "x"][..]),
        ("prod", &["state", "rm", "terraform_data.r"][..]),
        ("prod", &["state", "push", "other.tfstate"][..]),
        ("staging", &["taint", "terraform_data.r"][..]),
    ] {
        let mut line = vec!["--state", state, "exec", "--allow-protected", "--"];
        line.extend_from_slice(args);
        let out = sandbox.tfw(&line).run();
        out.code(1)
            .stderr_has(&format!("error: GitLab's protection rule on `{state}`"))
            .stderr_has(&format!(
                "`tfw exec -- {}` refused before taking the lock, nothing was changed",
                args.join(" ")
            ));
        nothing_locked(&sandbox);
    }
    // Reads are not writes: the rule does not stop them.
    sandbox
        .tfw(&["--state", "prod", "exec", "--", "state", "list"])
        .run()
        .success();
}
