//! Issue 12: the gate judges what terraform will do, not the subcommand typed. Scenarios that
//! need real resources run with the machine's Terraform 1.11 (`terraform_data`, `local-exec`,
//! no provider download) and say they were skipped when it is absent. Outcomes are checked
//! against the state the GitLab test server holds, not only against messages.

use std::path::Path;
use std::time::Duration;

use expectrl::{Eof, Expect};

use crate::support::{Sandbox, wait_with_output};

const TERRAFORM_1_11: &str = "/usr/local/bin/terraform";

/// `n` resources; with `wait`, creating them waits (at most two minutes) for a file `go` in
/// the working directory, so a test can act while the apply holds the lock.
fn resources_tf(n: usize, wait: bool) -> String {
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
fn terraform_minor() -> Option<u32> {
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
fn sandbox_needing(test: &str, n: usize, min_minor: u32) -> Option<Sandbox> {
    let minor = terraform_minor();
    if minor.is_none_or(|m| m < min_minor) {
        eprintln!(
            "skipped gate::{test}: no Terraform >= 1.{min_minor} at {TERRAFORM_1_11} (found 1.{minor:?})"
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

fn sandbox_with_resources(test: &str, n: usize) -> Option<Sandbox> {
    sandbox_needing(test, n, 4)
}

/// The resource instances GitLab holds for `state`, as terraform addresses them.
fn instances(sandbox: &Sandbox, state: &str) -> Vec<String> {
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
fn prod_with(test: &str, n: usize) -> Option<Sandbox> {
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
fn unchanged(sandbox: &Sandbox, before: &[(u64, Vec<u8>)]) {
    assert_eq!(
        &sandbox.gitlab.versions("42", "prod"),
        before,
        "the refused command wrote a new version of `prod`"
    );
}

fn pty(sandbox: &Sandbox, args: &[&str]) -> expectrl::session::OsSession {
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
        .stderr_has("Destroy 0 to add, 0 to change, 25 to destroy to state prod")
        .stderr_has("... and 5 more");
    assert_eq!(
        out.stderr.matches("  destroy  terraform_data.r[").count(),
        20
    );
    assert!(instances(&sandbox, "prod").is_empty());
}

#[test]
fn exec_writes_on_prod_need_allow_protected_and_are_backed_up() {
    let Some(sandbox) = prod_with(
        "exec_writes_on_prod_need_allow_protected_and_are_backed_up",
        2,
    ) else {
        return;
    };
    let before = sandbox.gitlab.versions("42", "prod");
    for args in [
        &["destroy", "-auto-approve"][..],
        &["state", "rm", "terraform_data.r[0]"][..],
        &["taint", "terraform_data.r[0]"][..],
    ] {
        let mut line = vec!["--state", "prod", "exec", "--"];
        line.extend_from_slice(args);
        sandbox
            .tfw(&line)
            .run()
            .code(1)
            .stderr_has("changes protected state `prod`: refused")
            .stderr_has("--allow-protected");
        unchanged(&sandbox, &before);
    }
    // Reading passes as before.
    sandbox
        .tfw(&["--state", "prod", "exec", "--", "state", "list"])
        .run()
        .success()
        .stdout_has("terraform_data.r[1]");
    assert!(!sandbox.path(".tfw/backups/prod").exists());

    sandbox
        .tfw(&[
            "--state",
            "prod",
            "exec",
            "--allow-protected",
            "--",
            "destroy",
            "-auto-approve",
        ])
        .run()
        .success()
        .stderr_has("approved by `--allow-protected`")
        .stderr_has("Backed up the current state");
    assert!(instances(&sandbox, "prod").is_empty());
    let backups: Vec<_> = std::fs::read_dir(sandbox.path(".tfw/backups/prod"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read(backups[0].path()).unwrap(),
        before.last().unwrap().1
    );
}

#[test]
fn writes_without_the_lock_are_refused_on_shared_states() {
    let Some(sandbox) =
        sandbox_with_resources("writes_without_the_lock_are_refused_on_shared_states", 1)
    else {
        return;
    };
    for args in [
        &[
            "--state",
            "team",
            "apply",
            "--auto-approve",
            "--",
            "-lock=false",
        ][..],
        &[
            "--state",
            "team",
            "exec",
            "--",
            "apply",
            "-auto-approve",
            "-lock=false",
        ][..],
        &[
            "--state",
            "prod",
            "exec",
            "--allow-protected",
            "--",
            "apply",
            "-auto-approve",
            "-lock=false",
        ][..],
    ] {
        sandbox
            .tfw(args)
            .run()
            .code(1)
            .stderr_has("with `-lock=false` on shared state")
            .stderr_has("only plans may skip the state lock");
    }
    // Nor through terraform's own variables, from the shell or `.env`.
    sandbox
        .tfw(&["--state", "team", "apply", "--auto-approve"])
        .env("TF_CLI_ARGS_apply", "-lock=false")
        .run()
        .code(1)
        .stderr_has("with `-lock=false` (from `TF_CLI_ARGS_apply`) on shared state `team`");
    let env = sandbox.read(".env");
    sandbox.write(".env", format!("{env}TF_CLI_ARGS=\"-lock=false\"\n"));
    sandbox
        .tfw(&[
            "--state",
            "team",
            "exec",
            "--",
            "import",
            "terraform_data.r[0]",
            "x",
        ])
        .run()
        .code(1)
        .stderr_has("(from `TF_CLI_ARGS`) on shared state `team`");
    sandbox.write(".env", env);
    assert!(!sandbox.gitlab.has_state("42", "team"));
    assert!(!sandbox.gitlab.has_state("42", "prod"));
    // A plan may skip it, and so may a write on your own state.
    sandbox
        .tfw(&["--state", "team", "plan", "--", "-lock=false"])
        .run()
        .success();
    sandbox
        .tfw(&["apply", "--auto-approve", "--", "-lock=false"])
        .run()
        .success();
    assert_eq!(instances(&sandbox, "dev-alice").len(), 1);
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
fn unlock_is_refused_while_an_apply_here_holds_the_lock() {
    let Some(sandbox) =
        sandbox_with_resources("unlock_is_refused_while_an_apply_here_holds_the_lock", 1)
    else {
        return;
    };
    sandbox.write("main.tf", resources_tf(1, true));
    let child = sandbox
        .tfw(&["--state", "team", "apply", "--auto-approve"])
        .spawn();
    // The plan locks too: wait for the apply's lock (the saved plan is there by then).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !sandbox.path(".tfw/plans/team.json").exists()
        || sandbox.gitlab.lock("42", "team").is_none()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never locked `team`"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for extra in [&[][..], &["--force", "--confirm", "team"][..]] {
        let mut args = vec!["state", "unlock", "team"];
        args.extend_from_slice(extra);
        sandbox
            .tfw(&args)
            .run()
            .code(1)
            .stderr_has("still running in this directory")
            .stderr_has("nothing was released");
        assert!(sandbox.gitlab.lock("42", "team").is_some());
    }
    // Nor may `clean` take `.terraform` and the plan from under it, nor anything else
    // change a state or the settings here meanwhile.
    for args in [
        &["clean"][..],
        &["use", "dev-alice"][..],
        &["state", "delete", "dev-alice", "--yes"][..],
        &[
            "--state",
            "team",
            "exec",
            "--",
            "state",
            "rm",
            "terraform_data.r[0]",
        ][..],
    ] {
        sandbox
            .tfw(args)
            .run()
            .code(1)
            .stderr_has("--state team apply --auto-approve (pid ")
            .stderr_has("is running in this directory");
    }
    assert!(sandbox.path(".terraform").is_dir());
    sandbox.write("go", "");
    let out = wait_with_output(child, Duration::from_secs(120));
    out.success();
    assert!(sandbox.gitlab.lock("42", "team").is_none());
    assert_eq!(instances(&sandbox, "team"), ["terraform_data.r[0]"]);
}

#[test]
fn a_root_without_an_http_backend_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "main.tf",
        "terraform {\n  # backend \"http\" {}\n}\n\noutput \"x\" {\n  value = 1\n}\n",
    );
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"][..],
        &["destroy", "--auto-approve"][..],
    ] {
        sandbox
            .tfw(args)
            .run()
            .code(1)
            .stderr_has("no `backend \"http\"` block in the root module")
            .stderr_has("inside the `terraform { }` block of `main.tf`");
    }
    assert!(!sandbox.path("terraform.tfstate").exists());
    assert!(!sandbox.path(".terraform").exists());
    assert!(sandbox.gitlab.state_names("42").is_empty());
    // `exec` may still run a local-state command.
    sandbox.tfw(&["exec", "--", "validate"]).run().success();
}

#[test]
fn your_own_lock_is_described_and_asked_about_on_a_terminal() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let created = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() - Duration::from_secs(3 * 3600),
    )
    .to_string();
    sandbox.gitlab.set_lock(
        "42",
        "dev-alice",
        serde_json::json!({"ID": "mine-1", "Who": "alice", "Operation": "OperationTypeApply", "Created": created}),
    );
    let mut session = pty(&sandbox, &["state", "unlock"]);
    // GitLab keeps who and when (not the operation: its 409 echoes the asker's).
    session
        .expect("locked by alice, 3h ago (lock ID mine-1)")
        .unwrap();
    session.expect("your own lock").unwrap();
    session
        .expect("Type `yes` to release your lock on `dev-alice`")
        .unwrap();
    session.send_line("no").unwrap();
    session.expect("cancelled").unwrap();
    session.expect(Eof).unwrap();
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_some());

    // Without a terminal there is nobody to ask: described, then released as before.
    sandbox
        .tfw(&["state", "unlock"])
        .run()
        .success()
        .stderr_has("locked by alice, 3h ago (lock ID mine-1): your own lock");
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
}

#[test]
fn forgetting_resources_of_prod_needs_allow_protected() {
    const TEST: &str = "forgetting_resources_of_prod_needs_allow_protected";
    // `removed { lifecycle { destroy = false } }` came with Terraform 1.7.
    if terraform_minor().is_none_or(|m| m < 7) {
        eprintln!("skipped gate::{TEST}: no Terraform >= 1.7 at {TERRAFORM_1_11}");
        return;
    }
    let Some(sandbox) = prod_with(TEST, 2) else {
        return;
    };
    let before = sandbox.gitlab.versions("42", "prod");
    sandbox.write(
        "main.tf",
        "terraform {\n  backend \"http\" {}\n}\n\nremoved {\n  from = terraform_data.r\n  lifecycle {\n    destroy = false\n  }\n}\n",
    );
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

#[test]
fn deleting_a_protected_state_on_a_terminal_asks_for_its_name_even_with_yes() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .success();
    let mut session = pty(
        &sandbox,
        &["state", "delete", "prod", "--allow-protected", "--yes"],
    );
    session.expect("Type the state name `prod`").unwrap();
    session.send_line("yes").unwrap();
    session.expect("cancelled").unwrap();
    session.expect(Eof).unwrap();
    assert!(sandbox.gitlab.has_state("42", "prod"));
    // Without a terminal `--yes` stands in, and says so.
    sandbox
        .tfw(&["state", "delete", "prod", "--allow-protected", "--yes"])
        .run()
        .success()
        .stderr_has("protected state `prod`: deletion approved by `--allow-protected --yes`");
    // GitLab deletes in the background: scheduled now, gone once its worker ran.
    assert!(sandbox.gitlab.is_deleting("42", "prod") || !sandbox.gitlab.has_state("42", "prod"));
}
