//! Issue 12: the gate judges what terraform will do, not the subcommand typed. Scenarios that
//! need real resources run with the machine's Terraform 1.11 (`terraform_data`, `local-exec`,
//! no provider download) and say they were skipped when it is absent. Outcomes are checked
//! against the state the GitLab test server holds, not only against messages.

use std::path::Path;
use std::time::Duration;

use expectrl::{Eof, Expect};

use crate::support::Sandbox;

pub(crate) const TERRAFORM_1_11: &str = "/usr/local/bin/terraform";

/// `terraform_data.r` no longer managed here but left running (Terraform 1.7+).
pub(crate) const FORGET_ALL_TF: &str = "terraform {\n  backend \"http\" {}\n}\n\nremoved {\n  from = terraform_data.r\n  lifecycle {\n    destroy = false\n  }\n}\n";

/// `n` resources; with `wait`, creating them waits (at most two minutes) for a file `go` in
/// the working directory, so a test can act while the apply holds the lock.
pub(crate) fn resources_tf(n: usize, wait: bool) -> String {
    let provisioner = if wait {
        "  provisioner \"local-exec\" {\n    command = \"i=0; while [ ! -e go ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\"\n  }\n"
    } else {
        ""
    };
    format!(
        "terraform {{\n  backend \"http\" {{}}\n}}\n\nresource \"terraform_data\" \"r\" {{\n  count = {n}\n  input = \"v${{count.index}}\"\n{provisioner}}}\n"
    )
}

/// The minor version of the machine's Terraform 1.x, if there is one.
pub(crate) fn terraform_minor() -> Option<u32> {
    let out = std::process::Command::new(TERRAFORM_1_11)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .ok()?;
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let mut parts = version["terraform_version"].as_str()?.split('.');
    match (parts.next(), parts.next()) {
        (Some("1"), Some(minor)) => minor.parse().ok(),
        _ => None,
    }
}

/// A sandbox whose PATH terraform is the machine's 1.11 (any 1.`min_minor`+ will do; 1.4
/// has `terraform_data`), with `n` resources in `main.tf`; `None`, and a line saying so,
/// when there is none.
pub(crate) fn sandbox_needing(test: &str, n: usize, min_minor: u32) -> Option<Sandbox> {
    let minor = terraform_minor();
    if minor.is_none_or(|m| m < min_minor) {
        eprintln!(
            "skipped {test}: no Terraform >= 1.{min_minor} at {TERRAFORM_1_11} (found 1.{minor:?})"
        );
        return None;
    }
    let sandbox = Sandbox::new();
    let link = sandbox.bin.join("terraform");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(Path::new(TERRAFORM_1_11), &link).unwrap();
    sandbox.write("main.tf", resources_tf(n, false));
    Some(sandbox)
}

pub(crate) fn sandbox_with_resources(test: &str, n: usize) -> Option<Sandbox> {
    sandbox_needing(test, n, 4)
}

/// The resource instances GitLab holds for `state`, as terraform addresses them.
pub(crate) fn instances(sandbox: &Sandbox, state: &str) -> Vec<String> {
    let Some(document) = sandbox.remote_state(state) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for resource in document["resources"].as_array().into_iter().flatten() {
        let base = format!(
            "{}.{}",
            resource["type"].as_str().unwrap(),
            resource["name"].as_str().unwrap()
        );
        for instance in resource["instances"].as_array().into_iter().flatten() {
            match &instance["index_key"] {
                serde_json::Value::Null => out.push(base.clone()),
                key => out.push(format!("{base}[{key}]")),
            }
        }
    }
    out.sort();
    out
}

/// `prod` holding `n` resources, applied without a terminal (no destroy: no extra flag).
pub(crate) fn prod_with(test: &str, n: usize) -> Option<Sandbox> {
    let sandbox = sandbox_with_resources(test, n)?;
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .success()
        .stderr_has("protected state `prod`")
        .stderr_has("approved by `--auto-approve`");
    assert_eq!(instances(&sandbox, "prod").len(), n);
    Some(sandbox)
}

#[track_caller]
pub(crate) fn unchanged(sandbox: &Sandbox, before: &[(u64, Vec<u8>)]) {
    assert_eq!(
        &sandbox.gitlab.versions("42", "prod"),
        before,
        "the refused command wrote a new version of `prod`"
    );
}

pub(crate) fn pty(sandbox: &Sandbox, args: &[&str]) -> expectrl::session::OsSession {
    let mut session = expectrl::Session::spawn(sandbox.tfw(args).command).expect("spawn in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(120)));
    session
}

#[test]
fn every_way_to_a_destroy_plan_on_prod_is_refused() {
    let Some(sandbox) = prod_with("every_way_to_a_destroy_plan_on_prod_is_refused", 3) else {
        return;
    };
    let before = sandbox.gitlab.versions("42", "prod");
    // `-destroy` through `apply --`.
    sandbox
        .tfw(&[
            "--state",
            "prod",
            "apply",
            "--auto-approve",
            "--",
            "-destroy",
        ])
        .run()
        .code(1)
        .stderr_has("the plan for protected state `prod` has 3 destroyed and 0 replaced")
        .stderr_has("destroy  terraform_data.r[0]")
        .stderr_has("--allow-protected");
    unchanged(&sandbox, &before);
    // A destroy plan saved by `plan`, applied later.
    sandbox
        .tfw(&["--state", "prod", "plan", "--", "-destroy"])
        .run()
        .success();
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("Using the saved plan")
        .stderr_has("3 destroyed");
    unchanged(&sandbox, &before);
    // The refused plan is withdrawn: it cannot be applied by a later, less careful command.
    assert!(!sandbox.path(".tfw/plans/prod.tfplan").exists());
    // `-replace=`.
    sandbox
        .tfw(&[
            "--state",
            "prod",
            "apply",
            "--auto-approve",
            "--",
            "-replace=terraform_data.r[1]",
        ])
        .run()
        .code(1)
        .stderr_has("0 destroyed and 1 replaced")
        .stderr_has("replace  terraform_data.r[1]");
    unchanged(&sandbox, &before);
    // A resource removed from the configuration.
    sandbox.write("main.tf", resources_tf(2, false));
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("1 destroyed")
        .stderr_has("destroy  terraform_data.r[2]");
    unchanged(&sandbox, &before);
    // `tfw destroy` itself goes through the same gate.
    sandbox
        .tfw(&["--state", "prod", "destroy", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("--allow-protected");
    unchanged(&sandbox, &before);
    assert_eq!(instances(&sandbox, "prod").len(), 3);

    // With the flag, off a terminal: one line says which state was approved by which flags.
    let out = sandbox
        .tfw(&[
            "--state",
            "prod",
            "apply",
            "--auto-approve",
            "--allow-protected",
        ])
        .run();
    out.success().stderr_has(
        "protected state `prod` (1 destroyed and 0 replaced, 0 to change): approved by `--auto-approve --allow-protected`",
    );
    assert_eq!(
        instances(&sandbox, "prod"),
        ["terraform_data.r[0]", "terraform_data.r[1]"]
    );
    assert!(
        std::fs::read_dir(sandbox.path(".tfw/backups/prod"))
            .unwrap()
            .count()
            >= 1,
        "no backup before the destroy"
    );
}

#[test]
fn a_personal_state_destroys_without_the_protected_flag() {
    let Some(sandbox) =
        sandbox_with_resources("a_personal_state_destroys_without_the_protected_flag", 2)
    else {
        return;
    };
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox
        .tfw(&["apply", "--auto-approve", "--", "-destroy"])
        .run()
        .success()
        .lacks("protected");
    assert!(instances(&sandbox, "dev-alice").is_empty());
}

#[test]
fn more_than_twenty_destroyed_addresses_end_with_and_n_more() {
    let Some(sandbox) = prod_with(
        "more_than_twenty_destroyed_addresses_end_with_and_n_more",
        25,
    ) else {
        return;
    };
    let out = sandbox
        .tfw(&[
            "--state",
            "prod",
            "destroy",
            "--allow-protected",
            "--auto-approve",
        ])
        .run();
    out.success()
        .stderr_has("Destroy on state prod: 25 to destroy")
        .stderr_has("... and 5 more");
    assert_eq!(
        out.stderr().matches("  destroy  terraform_data.r[").count(),
        20
    );
    assert!(instances(&sandbox, "prod").is_empty());
}

#[test]
fn on_a_terminal_the_protected_name_is_typed_even_with_auto_approve() {
    let Some(sandbox) = prod_with(
        "on_a_terminal_the_protected_name_is_typed_even_with_auto_approve",
        2,
    ) else {
        return;
    };
    let before = sandbox.gitlab.versions("42", "prod");
    sandbox.write("main.tf", resources_tf(3, false));
    let mut session = pty(&sandbox, &["--state", "prod", "apply", "--auto-approve"]);
    session
        .expect("Type the state name `prod` to apply")
        .unwrap();
    session.send_line("yes").unwrap();
    session.expect("cancelled").unwrap();
    session.expect(Eof).unwrap();
    unchanged(&sandbox, &before);

    // A destroy with --allow-protected, confirmed by typing the name.
    let mut session = pty(
        &sandbox,
        &[
            "--state",
            "prod",
            "apply",
            "--allow-protected",
            "--",
            "-destroy",
        ],
    );
    session.expect("destroy  terraform_data.r[1]").unwrap();
    session
        .expect("Type the state name `prod` to apply")
        .unwrap();
    session.send_line("prod").unwrap();
    session.expect("Apply complete!").unwrap();
    session.expect(Eof).unwrap();
    assert!(instances(&sandbox, "prod").is_empty());
}

#[test]
fn forgetting_resources_of_prod_needs_allow_protected() {
    const TEST: &str = "forgetting_resources_of_prod_needs_allow_protected";
    // `removed { lifecycle { destroy = false } }` came with Terraform 1.7.
    if terraform_minor().is_none_or(|m| m < 7) {
        eprintln!("skipped {TEST}: no Terraform >= 1.7 at {TERRAFORM_1_11}");
        return;
    }
    let Some(sandbox) = prod_with(TEST, 2) else {
        return;
    };
    let before = sandbox.gitlab.versions("42", "prod");
    sandbox.write("main.tf", FORGET_ALL_TF);
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("0 destroyed, 0 replaced and 2 forgotten")
        .stderr_has("forget   terraform_data.r[0]");
    unchanged(&sandbox, &before);
    sandbox
        .tfw(&[
            "--state",
            "prod",
            "apply",
            "--auto-approve",
            "--allow-protected",
        ])
        .run()
        .success();
    assert!(instances(&sandbox, "prod").is_empty());
}
