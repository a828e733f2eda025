//! Issue 17, item 9: `tfw plan` starts one terraform process (`plan -out`); the verdict of
//! issue 12's gate (`show -json` of the plan file) is read by whatever applies the plan, for
//! the bytes it applies. Counted with a logging stand-in, as tests/hot_path.rs counts; the
//! gate's refusals are shown with the machine's Terraform 1.11 (`terraform_data`) for plans
//! saved by `tfw plan`, by `tfw --all plan`, by `tfw exec -- plan -out` and by terraform
//! itself, swapped in after planning, with a forged metadata file, and stale. Outcomes are
//! checked against the state versions the GitLab test server holds.

use std::path::Path;
use std::process::Command;

use crate::gate::{FORGET_ALL_TF, TERRAFORM_1_11, instances, prod_with, resources_tf, unchanged};
use crate::hot_path::counted;
use crate::roots_apply::{infra, last_table, row};
use crate::support::{Sandbox, gitlab};

/// The terraform subcommands started since the log was last cleared, in order.
fn started(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| line.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

fn clear(log: &Path) {
    std::fs::write(log, "").unwrap();
}

#[test]
fn tfw_plan_starts_terraform_plan_alone_and_apply_reads_the_plan_it_applies() {
    let sandbox = Sandbox::new();
    let log = counted(&sandbox, "terraform", crate::support::terraform());
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();

    // Nothing to change: one terraform process, with and without -detailed-exitcode.
    clear(&log);
    sandbox
        .tfw(&["plan"])
        .run()
        .success()
        .stderr_has("Plan for `dev-alice`: no changes");
    assert_eq!(started(&log), ["plan"]);
    clear(&log);
    sandbox
        .tfw(&["plan", "--", "-detailed-exitcode"])
        .run()
        .success();
    assert_eq!(started(&log), ["plan"]);

    // A change: still one process to plan it; the apply reads that file, then applies it.
    sandbox.write("main.tf", crate::support::MAIN_TF.replace("hello", "hi"));
    clear(&log);
    sandbox.tfw(&["plan"]).run().success();
    assert_eq!(started(&log), ["plan"]);
    let meta: serde_json::Value =
        serde_json::from_str(&sandbox.read(".tfw/plans/dev-alice.json")).unwrap();
    assert_eq!(
        meta["plan_sha256"].as_str().unwrap(),
        tfw::fsutil::sha256_hex(
            &std::fs::read(sandbox.path(".tfw/plans/dev-alice.tfplan")).unwrap()
        )
    );
    assert!(
        meta.get("changes").is_none(),
        "no verdict is recorded: {meta}"
    );
    clear(&log);
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .success()
        .stderr_has("Using the saved plan");
    assert_eq!(started(&log), ["show", "apply"]);
    assert_eq!(
        sandbox.remote_state("dev-alice").unwrap()["outputs"]["greeting"]["value"],
        "hi"
    );
}

/// terraform 1.11 with `prod`'s backend in its environment, as someone would run it by hand.
fn raw_terraform(sandbox: &Sandbox, dir: &Path, args: &[&str]) {
    let address = sandbox.gitlab.state_url(gitlab::PROJECT_PATH, "prod");
    let lock = format!("{address}/lock");
    let out = Command::new(TERRAFORM_1_11)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", sandbox.home.path())
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env("TF_HTTP_ADDRESS", &address)
        .env("TF_HTTP_LOCK_ADDRESS", &lock)
        .env("TF_HTTP_UNLOCK_ADDRESS", &lock)
        .env("TF_HTTP_LOCK_METHOD", "POST")
        .env("TF_HTTP_UNLOCK_METHOD", "DELETE")
        .env("TF_HTTP_USERNAME", gitlab::ALICE)
        .env("TF_HTTP_PASSWORD", gitlab::ALICE_TOKEN)
        .output()
        .expect("run terraform");
    assert!(
        out.status.success(),
        "terraform {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rewrites the saved plan's metadata so that it names the file now in its place, as
/// someone who swapped the plan could: the gate must not take the metadata's word for it.
fn forge_meta(meta: &Path, plan: &Path) {
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    value["plan_sha256"] = tfw::fsutil::sha256_hex(&std::fs::read(plan).unwrap()).into();
    value["no_changes"] = false.into();
    value["changes"] = serde_json::json!({"plan_sha256": value["plan_sha256"], "summary": {"add": 0, "change": 0, "destroy": 0}, "destroyed": [], "replaced": []});
    std::fs::write(meta, serde_json::to_vec(&value).unwrap()).unwrap();
}

#[test]
fn a_protected_replace_or_destroy_is_refused_however_its_plan_was_saved() {
    const TEST: &str = "a_protected_replace_or_destroy_is_refused_however_its_plan_was_saved";
    let Some(sandbox) = prod_with(TEST, 3) else {
        return;
    };
    let before = sandbox.gitlab.versions("42", "prod");
    let plan = sandbox.path(".tfw/plans/prod.tfplan");
    let meta = sandbox.path(".tfw/plans/prod.json");

    // Saved by `tfw plan`: the plan says at once what the apply will refuse; the apply
    // reads the file and refuses it.
    sandbox
        .tfw(&[
            "--state",
            "prod",
            "plan",
            "--",
            "-replace=terraform_data.r[1]",
        ])
        .run()
        .success()
        .stderr_has("`prod` is protected and this plan destroys or replaces 1 resource(s)")
        .stderr_has("--allow-protected");
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("Using the saved plan")
        .stderr_has("0 destroyed and 1 replaced")
        .stderr_has("replace  terraform_data.r[1]");
    unchanged(&sandbox, &before);
    assert!(!plan.exists(), "the refused plan is withdrawn");

    // A destroy plan from `tfw exec -- plan -out` in place of the one `tfw plan` saved.
    sandbox.tfw(&["--state", "prod", "plan"]).run().success();
    sandbox
        .tfw(&[
            "--state",
            "prod",
            "exec",
            "--",
            "plan",
            "-destroy",
            "-out=.tfw/plans/prod.tfplan",
        ])
        .run()
        .success();
    sandbox
        .tfw(&[
            "--state",
            "prod",
            "apply",
            "--auto-approve",
            "--allow-protected",
        ])
        .run()
        .code(1)
        .stderr_has("is not the one `tfw plan` saved");
    unchanged(&sandbox, &before);
    assert!(!plan.exists(), "the swapped plan is withdrawn");

    // The same from terraform itself, with the metadata forged to name the new file (and a
    // recorded verdict saying "nothing destroyed"): terraform's own reading decides.
    sandbox.tfw(&["--state", "prod", "plan"]).run().success();
    raw_terraform(
        &sandbox,
        sandbox.dir.path(),
        &[
            "plan",
            "-input=false",
            "-destroy",
            "-out=.tfw/plans/prod.tfplan",
        ],
    );
    forge_meta(&meta, &plan);
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("the plan for protected state `prod` has 3 destroyed and 0 replaced")
        .stderr_has("destroy  terraform_data.r[0]");
    unchanged(&sandbox, &before);
    assert_eq!(instances(&sandbox, "prod").len(), 3);
}

#[test]
fn a_stale_saved_plan_is_refused_before_anything_is_written() {
    let Some(sandbox) = prod_with(
        "a_stale_saved_plan_is_refused_before_anything_is_written",
        1,
    ) else {
        return;
    };
    sandbox.write("main.tf", resources_tf(2, false));
    sandbox.tfw(&["--state", "prod", "plan"]).run().success();
    // The state moves on under the saved plan (another apply, from elsewhere).
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("main.tf"), resources_tf(3, false)).unwrap();
    raw_terraform(&sandbox, elsewhere.path(), &["init", "-input=false"]);
    raw_terraform(
        &sandbox,
        elsewhere.path(),
        &["apply", "-input=false", "-auto-approve"],
    );
    let before = sandbox.gitlab.versions("42", "prod");
    // terraform 1.11 shows a stale plan (it reads the file alone) and its apply refuses
    // it; terraform 1.0 refuses to show it: either way before anything is written.
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("Saved plan is stale")
        .stderr_has("changed since the plan was made");
    unchanged(&sandbox, &before);
    assert_eq!(instances(&sandbox, "prod").len(), 3);
}

/// Every root planned and applied (no terminal, `--auto-approve`).
fn plan_and_apply_all(sandbox: &Sandbox) {
    sandbox.tfw(&["--all", "plan"]).run().success();
    sandbox
        .tfw(&["--all", "apply", "--auto-approve"])
        .run()
        .success();
}

#[test]
fn all_apply_reads_every_plan_before_its_question_and_each_root_reads_it_again() {
    let Some(sandbox) = infra(
        "all_apply_reads_every_plan_before_its_question_and_each_root_reads_it_again",
        2,
    ) else {
        return;
    };
    let log = counted(&sandbox, "terraform", Path::new(TERRAFORM_1_11));
    plan_and_apply_all(&sandbox);
    let before = sandbox.gitlab.versions("42", "prod");

    // Nothing to change: the plans make one terraform process per root, and `--all apply`
    // leaves both roots alone without reading them.
    clear(&log);
    sandbox.tfw(&["--all", "plan"]).run().success();
    assert_eq!(started(&log), ["plan", "plan"]);
    clear(&log);
    sandbox
        .tfw(&["--all", "apply", "--auto-approve"])
        .run()
        .success()
        .stderr_has("Nothing to apply");
    assert!(started(&log).is_empty(), "{:?}", started(&log));

    // A replace in prod, saved by `tfw --all plan`: read before the question, refused.
    sandbox
        .tfw(&["--all", "plan", "--", "-replace=terraform_data.r[0]"])
        .run()
        .success()
        .stderr_has("`prod` is protected and this plan destroys or replaces 1 resource(s)");
    clear(&log);
    sandbox
        .tfw(&["--all", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("replace  terraform_data.r[0]")
        .stderr_has("the plan of `envs/prod` for protected state `prod` destroys");
    assert_eq!(started(&log), ["show", "show"]);
    assert_eq!(sandbox.gitlab.versions("42", "prod"), before);

    // The child `--all apply` starts, run by hand with that plan's hash: its own gate reads
    // the plan and refuses it.
    let plan = sandbox.path("envs/prod/.tfw/plans/prod.tfplan");
    let sha = tfw::fsutil::sha256_hex(&std::fs::read(&plan).unwrap());
    sandbox
        .tfw(&[
            "-C",
            "envs/prod",
            "apply",
            "--auto-approve",
            "--reviewed-plan",
            &sha,
        ])
        .run()
        .code(1)
        .stderr_has("0 destroyed and 1 replaced");
    assert_eq!(sandbox.gitlab.versions("42", "prod"), before);

    // A destroy plan from terraform itself in prod's place, its metadata forged to match:
    // the verdict read before the question is terraform's, so it is refused there.
    sandbox
        .tfw(&["--roots", "envs/prod", "plan"])
        .run()
        .success();
    raw_terraform(
        &sandbox,
        &sandbox.path("envs/prod"),
        &[
            "plan",
            "-input=false",
            "-destroy",
            "-out=.tfw/plans/prod.tfplan",
        ],
    );
    forge_meta(&sandbox.path("envs/prod/.tfw/plans/prod.json"), &plan);
    let out = sandbox.tfw(&["--all", "apply", "--auto-approve"]).run();
    out.code(1)
        .stderr_has("destroy  terraform_data.r[1]")
        .stderr_has("the plan of `envs/prod` for protected state `prod` destroys");
    assert!(row(&last_table(out.stderr()), "envs/prod").contains("apply (protected)"));
    assert_eq!(sandbox.gitlab.versions("42", "prod"), before);
    assert_eq!(instances(&sandbox, "prod").len(), 2);
}

#[test]
fn all_apply_lists_a_plan_that_only_forgets_and_prod_needs_allow_protected() {
    const TEST: &str = "all_apply_lists_a_plan_that_only_forgets_and_prod_needs_allow_protected";
    // `removed { lifecycle { destroy = false } }` came with Terraform 1.7.
    if crate::gate::terraform_minor().is_none_or(|m| m < 7) {
        eprintln!("skipped {TEST}: no Terraform >= 1.7 at {TERRAFORM_1_11}");
        return;
    }
    let Some(sandbox) = infra(TEST, 2) else {
        return;
    };
    plan_and_apply_all(&sandbox);
    let before = sandbox.gitlab.versions("42", "prod");
    sandbox.write("envs/prod/main.tf", FORGET_ALL_TF);
    // terraform counts no forget in "Plan: ...": only its verdict of the file tells.
    sandbox
        .tfw(&["--all", "plan"])
        .run()
        .success()
        .stderr_has("Plan for `prod`: no changes");
    let out = sandbox.tfw(&["--all", "apply", "--auto-approve"]).run();
    out.code(1)
        .stderr_has("forget   terraform_data.r[0]")
        .stderr_has(
            "the plan of `envs/prod` for protected state `prod` destroys, replaces or forgets",
        );
    assert_eq!(sandbox.gitlab.versions("42", "prod"), before);
    sandbox
        .tfw(&["--all", "apply", "--auto-approve", "--allow-protected"])
        .run()
        .success();
    assert!(instances(&sandbox, "prod").is_empty());
}
