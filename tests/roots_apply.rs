//! Issue 17, item 4: `tfw --all apply` applies only the plans `tfw --all plan` saved and
//! someone reviewed, after one question listing every root and each protected root's name
//! typed; a plan changed after the review, a stale one, or a protected root without its
//! name applies nothing. Real resources: the machine's Terraform 1.11 (`terraform_data`),
//! skipped when absent; outcomes checked against the states the GitLab test server holds.

use std::path::Path;

use expectrl::{Eof, Expect};

use crate::gate::{TERRAFORM_1_11, instances, pty, resources_tf, terraform_minor};
use crate::support::{Sandbox, git, gitlab};

/// A repository with `envs/prod` (protected) and `envs/staging`, each on its own state
/// (`{root}`), with `n` resources each; `None` without Terraform 1.4+.
pub(crate) fn infra(test: &str, n: usize) -> Option<Sandbox> {
    if terraform_minor().is_none_or(|m| m < 4) {
        eprintln!("skipped {test}: no Terraform >= 1.4 at {TERRAFORM_1_11}");
        return None;
    }
    let sandbox = Sandbox::empty();
    let link = sandbox.bin.join("terraform");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(Path::new(TERRAFORM_1_11), &link).unwrap();
    git(sandbox.dir.path(), &["init", "-q"]);
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
    for root in ["prod", "staging"] {
        sandbox.write(&format!("envs/{root}/main.tf"), resources_tf(n, false));
    }
    Some(sandbox)
}

/// The rows of the last table (`ROOT ...` up to the end), root first.
pub(crate) fn last_table(stderr: &str) -> Vec<String> {
    let start = stderr.rfind("\nROOT ").map_or(0, |i| i + 1);
    stderr[start..].lines().skip(1).map(String::from).collect()
}

pub(crate) fn row<'a>(rows: &'a [String], root: &str) -> &'a str {
    rows.iter()
        .find(|r| r.starts_with(root))
        .unwrap_or_else(|| panic!("no row for {root}: {rows:?}"))
}

#[test]
fn all_apply_lists_every_root_then_asks_once_and_for_each_protected_name() {
    let Some(sandbox) = infra(
        "all_apply_lists_every_root_then_asks_once_and_for_each_protected_name",
        2,
    ) else {
        return;
    };
    sandbox.tfw(&["--all", "plan"]).run().success();

    // The wrong name for prod: nothing at all is applied, staging included.
    let mut session = pty(&sandbox, &["--all", "apply"]);
    session.expect("apply (protected)").unwrap();
    session
        .expect("Type `yes` to apply 2 root(s): envs/prod, envs/staging")
        .unwrap();
    session.send_line("yes").unwrap();
    session
        .expect("Type the state name `prod` to apply envs/prod")
        .unwrap();
    session.send_line("staging").unwrap();
    session.expect("cancelled").unwrap();
    session.expect(Eof).unwrap();
    assert!(instances(&sandbox, "prod").is_empty());
    assert!(instances(&sandbox, "staging").is_empty());

    // The plans are still the reviewed ones: asked again, answered, both applied.
    let mut session = pty(&sandbox, &["--all", "apply"]);
    session
        .expect("Type `yes` to apply 2 root(s): envs/prod, envs/staging")
        .unwrap();
    session.send_line("yes").unwrap();
    session
        .expect("Type the state name `prod` to apply envs/prod")
        .unwrap();
    session.send_line("prod").unwrap();
    session.expect("applied").unwrap();
    session.expect(Eof).unwrap();
    for state in ["prod", "staging"] {
        assert_eq!(instances(&sandbox, state).len(), 2, "{state}");
    }
    // Each plan was consumed: nothing is left to apply twice.
    sandbox
        .tfw(&["--all", "apply", "--auto-approve"])
        .run()
        .success()
        .stderr_has("no saved plan")
        .stderr_has("Nothing to apply");
}

#[test]
fn a_plan_replaced_after_the_question_is_refused_by_its_root() {
    let Some(sandbox) = infra(
        "a_plan_replaced_after_the_question_is_refused_by_its_root",
        1,
    ) else {
        return;
    };
    sandbox.tfw(&["--all", "plan"]).run().success();
    let plan = sandbox.path("envs/staging/.tfw/plans/staging.tfplan");
    let mut session = pty(&sandbox, &["--all", "-j", "1", "apply"]);
    session.expect("Type `yes` to apply 2 root(s)").unwrap();
    // While the person reads the list, another plan lands in staging's place.
    let mut bytes = std::fs::read(&plan).unwrap();
    bytes.extend_from_slice(b"\0");
    std::fs::write(&plan, bytes).unwrap();
    session.send_line("yes").unwrap();
    session.expect("Type the state name `prod`").unwrap();
    session.send_line("prod").unwrap();
    session
        .expect("the plan file for `staging` changed after it was reviewed")
        .unwrap();
    session.expect("failed (exit 1)").unwrap();
    session.expect(Eof).unwrap();
    assert_eq!(instances(&sandbox, "prod").len(), 1);
    assert!(instances(&sandbox, "staging").is_empty());
    assert!(!plan.exists(), "the refused plan is withdrawn");
}

#[test]
fn all_apply_off_a_terminal_needs_auto_approve_and_refuses_changed_or_stale_plans() {
    let Some(sandbox) = infra(
        "all_apply_off_a_terminal_needs_auto_approve_and_refuses_changed_or_stale_plans",
        1,
    ) else {
        return;
    };
    sandbox.gitlab.clear_requests();
    sandbox
        .tfw(&["--all", "apply"])
        .run()
        .code(1)
        .stderr_has("`tfw --all apply` needs a confirmation")
        .stderr_has("--auto-approve");
    assert!(sandbox.gitlab.requests().is_empty());

    sandbox.tfw(&["--all", "plan"]).run().success();
    // A plan file changed after the review (its bytes are not those `show -json` judged).
    let plan = sandbox.path("envs/staging/.tfw/plans/staging.tfplan");
    let reviewed = std::fs::read(&plan).unwrap();
    std::fs::write(&plan, b"not the reviewed plan").unwrap();
    let out = sandbox.tfw(&["--all", "apply", "--auto-approve"]).run();
    out.code(1)
        .stderr_has("`envs/staging`: its plan file changed after it was reviewed")
        .stderr_has("1 root(s) cannot apply their saved plan: nothing was applied");
    assert!(row(&last_table(out.stderr()), "envs/prod").contains("apply (protected)"));
    assert!(instances(&sandbox, "prod").is_empty(), "prod was applied");

    // A stale plan: the configuration changed since it was made.
    std::fs::write(&plan, reviewed).unwrap();
    sandbox.write("envs/staging/extra.tf", "locals {\n  x = 1\n}\n");
    sandbox
        .tfw(&["--all", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("`envs/staging`: its plan is stale: the configuration")
        .stderr_has("nothing was applied");
    assert!(instances(&sandbox, "prod").is_empty());

    // The child's own check: a tfw told another plan was reviewed refuses this one.
    let before = sandbox.gitlab.versions("42", "prod");
    sandbox
        .tfw(&[
            "-C",
            "envs/prod",
            "apply",
            "--auto-approve",
            "--reviewed-plan",
            "0000",
        ])
        .run()
        .code(1)
        .stderr_has("changed after it was reviewed (reviewed SHA-256 0000");
    assert_eq!(sandbox.gitlab.versions("42", "prod"), before);

    // No saved plan is not an error: that root is left alone, the others applied; off a
    // terminal, a line names the protected state approved by the flag.
    std::fs::remove_file(sandbox.path("envs/staging/extra.tf")).unwrap();
    std::fs::remove_file(&plan).unwrap();
    // (the refusal above withdrew prod's plan, as every refused plan is)
    sandbox
        .tfw(&["--roots", "envs/prod", "plan"])
        .run()
        .success();
    let out = sandbox.tfw(&["--all", "apply", "--auto-approve"]).run();
    out.success().stderr_has(
        "protected state `prod` (envs/prod): approved by `--auto-approve`, without a terminal",
    );
    let rows = last_table(out.stderr());
    assert!(row(&rows, "envs/prod").contains("applied"), "{rows:?}");
    assert!(
        row(&rows, "envs/staging").contains("no saved plan"),
        "{rows:?}"
    );
    assert_eq!(instances(&sandbox, "prod").len(), 1);
    assert!(instances(&sandbox, "staging").is_empty());
}

#[test]
fn destroying_every_root_is_a_reviewed_destroy_plan_and_prod_needs_allow_protected() {
    let Some(sandbox) = infra(
        "destroying_every_root_is_a_reviewed_destroy_plan_and_prod_needs_allow_protected",
        2,
    ) else {
        return;
    };
    sandbox
        .tfw(&["--all", "destroy", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("tfw --all plan -- -destroy");
    sandbox.tfw(&["--all", "plan"]).run().success();
    sandbox
        .tfw(&["--all", "apply", "--auto-approve"])
        .run()
        .success();
    sandbox
        .tfw(&["--all", "plan", "--", "-destroy"])
        .run()
        .success();
    let before = sandbox.gitlab.versions("42", "prod");
    sandbox
        .tfw(&["--all", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("destroy  terraform_data.r[1]")
        .stderr_has("the plan of `envs/prod` for protected state `prod` destroys")
        .stderr_has("--allow-protected");
    assert_eq!(sandbox.gitlab.versions("42", "prod"), before);
    assert_eq!(instances(&sandbox, "staging").len(), 2, "nothing applied");

    let out = sandbox
        .tfw(&["--all", "apply", "--auto-approve", "--allow-protected"])
        .run();
    out.success();
    let rows = last_table(out.stderr());
    assert!(row(&rows, "envs/prod").contains("  2  "), "{rows:?}");
    for state in ["prod", "staging"] {
        assert!(instances(&sandbox, state).is_empty(), "{state}");
    }
}

/// A SIGTERM (a CI cancel, `kill`) at the question, which comes after the saved plans were
/// read by child tfws: the pool that answered signals while they ran gives them back when they
/// end. It kept them for good: the SIGTERM only broke the question's read, ended with 130.
/// And console raises SIGINT on tfw itself when a signal interrupts its read: the signal that
/// did is handled first now (143 for SIGTERM, 129 for SIGHUP). Ctrl-C there is a key (the
/// question reads the terminal raw) and ends it with 130 as before.
#[test]
fn a_signal_at_the_question_after_the_plans_were_read_ends_tfw() {
    let Some(sandbox) = infra(
        "a_signal_at_the_question_after_the_plans_were_read_ends_tfw",
        1,
    ) else {
        return;
    };
    sandbox.tfw(&["--all", "plan"]).run().success();
    for (signal, code) in [
        (None, 130),
        (Some(libc::SIGTERM), 143),
        (Some(libc::SIGHUP), 129),
    ] {
        let mut session = pty(&sandbox, &["--all", "apply"]);
        session.expect("Reading 2 saved plan(s)").unwrap();
        session
            .expect("Type `yes` to apply 2 root(s): envs/prod, envs/staging")
            .unwrap();
        match signal {
            // SAFETY: kill(2) on the tfw this test started.
            Some(signal) => unsafe {
                libc::kill(session.get_process().pid().as_raw(), signal);
            },
            None => session.send(expectrl::ControlCode::EndOfText).unwrap(),
        }
        session.expect(Eof).unwrap();
        let status = session.get_process().wait().unwrap();
        assert!(
            matches!(status, expectrl::process::unix::WaitStatus::Exited(_, c) if c == code),
            "{signal:?}: {status:?}"
        );
        for state in ["prod", "staging"] {
            assert!(instances(&sandbox, state).is_empty(), "{state}");
        }
    }
}
