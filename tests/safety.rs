//! Issue "Safety": nothing reaches a shared state by accident, and nothing is lost.

use std::time::Duration;

use expectrl::{Eof, Expect};

use crate::support::gitlab::{ALICE_TOKEN, DAVE_TOKEN, Fault, Route};
use crate::support::{Sandbox, wait_with_output};

fn lock_info(who: &str) -> serde_json::Value {
    serde_json::json!({
        "ID": "6b1d9a3e-0000-4000-8000-000000000001",
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": who,
        "Version": "1.0.3",
        "Created": "2026-11-20T09:15:00Z",
        "Path": ""
    })
}

#[test]
fn protected_destroy_needs_allow_protected() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["--state", "prod", "apply", "--auto-approve"])
        .run()
        .success();
    let before = sandbox.gitlab.versions("42", "prod");
    sandbox.gitlab.clear_requests();
    sandbox
        .tfw(&["--state", "prod", "destroy", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("`prod` is a protected state")
        .stderr_has("--allow-protected");
    assert!(
        sandbox.gitlab.requests().is_empty(),
        "refusal must not reach the server"
    );
    assert_eq!(sandbox.gitlab.versions("42", "prod"), before);

    sandbox
        .tfw(&[
            "--state",
            "prod",
            "destroy",
            "--auto-approve",
            "--allow-protected",
        ])
        .run()
        .success();
    let state = sandbox.remote_state("prod").unwrap();
    assert_eq!(state["outputs"], serde_json::json!({}));
}

#[test]
fn tfw_toml_declares_protected_globs() {
    let sandbox = Sandbox::new();
    sandbox.write("tfw.toml", "protected = [\"prod\", \"staging*\"]\n");
    sandbox
        .tfw(&["--state", "staging-eu", "destroy", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("protected");
    // `production` is protected only by the built-in default, which tfw.toml replaced.
    sandbox
        .tfw(&["--state", "production", "destroy", "--auto-approve"])
        .run()
        .success();
}

fn pty(sandbox: &Sandbox, args: &[&str]) -> expectrl::session::OsSession {
    let mut session = expectrl::Session::spawn(sandbox.tfw(args).command).expect("spawn in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session
}

#[test]
fn protected_apply_asks_for_the_state_name_in_a_terminal() {
    let sandbox = Sandbox::new();
    let mut session = pty(&sandbox, &["--state", "staging", "apply"]);
    session
        .expect("Type the state name `staging` to apply")
        .unwrap();
    session.send_line("prod").unwrap();
    session.expect("`tfw apply` cancelled").unwrap();
    session.expect(Eof).unwrap();
    assert!(
        sandbox.gitlab.state("42", "staging").is_none(),
        "nothing may be written"
    );

    let mut session = pty(&sandbox, &["--state", "staging", "apply"]);
    session.expect("address: ").unwrap();
    session
        .expect("Type the state name `staging` to apply")
        .unwrap();
    session.send_line("staging").unwrap();
    session.expect("Apply complete!").unwrap();
    session.expect(Eof).unwrap();
    assert!(sandbox.gitlab.state("42", "staging").is_some());
}

#[test]
fn own_state_asks_yes_and_shows_the_summary() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["plan"]).run().success();
    let mut session = pty(&sandbox, &["apply"]);
    session.expect("no changes to resources").unwrap();
    session.expect("Type `yes` to apply `dev-alice`").unwrap();
    session.send_line("no").unwrap();
    session.expect("cancelled").unwrap();
    session.expect(Eof).unwrap();
    assert!(sandbox.gitlab.state("42", "dev-alice").is_none());
    let mut session = pty(&sandbox, &["apply"]);
    session.expect("Type `yes`").unwrap();
    session.send_line("yes").unwrap();
    session.expect("Apply complete!").unwrap();
    session.expect(Eof).unwrap();
    assert!(sandbox.gitlab.state("42", "dev-alice").is_some());
}

#[test]
fn a_plan_for_another_state_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["plan"]).run().success();
    sandbox.seed_env("alice", ALICE_TOKEN, "staging");
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("is for state `dev-alice`, but the current state is `staging`");
    assert!(sandbox.gitlab.state("42", "staging").is_none());
    // A plan file moved under the current state's name is caught by its metadata.
    std::fs::rename(
        sandbox.path(".tfw/plans/dev-alice.tfplan"),
        sandbox.path(".tfw/plans/staging.tfplan"),
    )
    .unwrap();
    std::fs::rename(
        sandbox.path(".tfw/plans/dev-alice.json"),
        sandbox.path(".tfw/plans/staging.json"),
    )
    .unwrap();
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("it was made for state `dev-alice`");
    assert!(sandbox.gitlab.state("42", "staging").is_none());
}

#[test]
fn a_plan_made_before_a_change_is_stale() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["plan"]).run().success();
    sandbox.write("more.tf", "output \"more\" {\n  value = 1\n}\n");
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("the configuration (*.tf, *.tfvars) changed since");
    assert!(sandbox.gitlab.state("42", "dev-alice").is_none());
    sandbox.tfw(&["plan"]).run().success();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
}

#[test]
fn plan_report_and_summary() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["plan", "--json", "report.json"])
        .run()
        .success()
        .stderr_has("Plan for `dev-alice`: no changes");
    let report: serde_json::Value = serde_json::from_str(&sandbox.read("report.json")).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"create": 0, "update": 0, "delete": 0})
    );
    // The summary comes from terraform's own output: one terraform run per plan.
    let meta: serde_json::Value =
        serde_json::from_str(&sandbox.read(".tfw/plans/dev-alice.json")).unwrap();
    assert_eq!(meta["state"], "dev-alice");
    assert_eq!(meta["version"], "1.0.3");
    assert!(meta["files_hash"].as_str().unwrap().len() == 64);
}

#[test]
fn a_lock_held_by_someone_else_names_them() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.gitlab.set_lock("42", "dev-alice", lock_info("bob"));
    let out = sandbox.tfw(&["plan"]).run();
    assert_ne!(out.status(), Some(0));
    out.stderr_has("locked by bob")
        .stderr_has("since 2026-11-20")
        .stderr_has("tfw state unlock dev-alice --force");
    assert!(
        sandbox.gitlab.lock("42", "dev-alice").is_some(),
        "the lock stays"
    );
}

/// A state with one version and a changed configuration, whose next state write GitLab
/// answers slowly: a signal sent during it arrives while terraform holds the lock.
fn slow_apply_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.write(
        "main.tf",
        crate::support::MAIN_TF.replace("hello", "changed"),
    );
    sandbox.gitlab.fault(
        Fault::delay(Route::State, Duration::from_secs(3))
            .method("POST")
            .times(1),
    );
    sandbox.gitlab.clear_requests();
    sandbox
}

fn wait_for_the_state_write(sandbox: &Sandbox) {
    let seen = sandbox
        .gitlab
        .wait_for_request(Duration::from_secs(60), |r| {
            r.method == "POST" && r.url.contains("/state/dev-alice?ID=")
        });
    assert!(seen.is_some(), "the apply never reached the state write");
}

#[test]
fn sigint_during_apply_releases_the_lock() {
    let sandbox = slow_apply_sandbox();
    let child = sandbox.tfw(&["apply", "--auto-approve"]).spawn();
    let pid = child.id() as i32;
    wait_for_the_state_write(&sandbox);
    // SAFETY: signalling the tfw child this test started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let out = wait_with_output(child, Duration::from_secs(120));
    out.code(130);
    assert!(
        sandbox.gitlab.lock("42", "dev-alice").is_none(),
        "lock left behind: {}",
        out.stderr()
    );
    let state = sandbox
        .remote_state("dev-alice")
        .expect("state still readable");
    assert!(state["serial"].as_u64().is_some());
}

#[test]
fn apply_backs_up_the_previous_state() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let previous = sandbox.gitlab.state("42", "dev-alice").unwrap();
    sandbox.write(
        "main.tf",
        crate::support::MAIN_TF.replace("hello", "changed"),
    );
    sandbox
        .tfw(&["apply", "--auto-approve"])
        .run()
        .success()
        .stderr_has("Backed up");
    let folder = sandbox.path(".tfw/backups/dev-alice");
    let backups: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(std::fs::read(&backups[0]).unwrap(), previous);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&backups[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // `tfw state restore` brings it back as the newest version (serial bumped).
    let latest_serial = sandbox.remote_state("dev-alice").unwrap()["serial"]
        .as_u64()
        .unwrap();
    let backup = backups[0]
        .strip_prefix(sandbox.dir.path())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    sandbox
        .tfw(&["state", "restore", &backup, "--confirm", "dev-alice"])
        .run()
        .success();
    let restored = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(restored["outputs"]["greeting"]["value"], "hello");
    assert_eq!(restored["serial"].as_u64(), Some(latest_serial + 1));
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
    // And terraform sees it: nothing to change against the old configuration.
    sandbox.write("main.tf", crate::support::MAIN_TF);
    sandbox
        .tfw(&["plan", "--", "-detailed-exitcode"])
        .run()
        .code(0);
}

#[test]
fn a_read_only_token_can_plan_but_not_apply() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.seed_env("dave", DAVE_TOKEN, "dev-alice");
    sandbox.write(
        "main.tf",
        crate::support::MAIN_TF.replace("hello", "changed"),
    );
    sandbox
        .tfw(&["plan", "--no-lock"])
        .run()
        .success()
        .stderr_has("--no-lock");
    sandbox
        .tfw(&["plan"])
        .run()
        .success()
        .stderr_has("-lock=false");
    let out = sandbox.tfw(&["apply", "--auto-approve"]).run();
    assert_ne!(out.status(), Some(0));
    out.stderr_has("role");
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(state["outputs"]["greeting"]["value"], "hello");
}

#[test]
fn ctrl_c_in_a_terminal_is_not_doubled() {
    let sandbox = slow_apply_sandbox();
    let mut session = pty(&sandbox, &["apply", "--auto-approve"]);
    wait_for_the_state_write(&sandbox);
    // The terminal's line discipline turns ^C into SIGINT for the whole foreground group.
    session.send(expectrl::ControlCode::EndOfText).unwrap();
    let mut output = Vec::new();
    let _ = std::io::Read::read_to_end(&mut session, &mut output);
    let output = String::from_utf8_lossy(&output);
    assert!(output.contains("Interrupt received"), "{output}");
    assert!(
        !output.contains("Two interrupts received"),
        "tfw doubled the interrupt: {output}"
    );
    let status = session.get_process().wait().unwrap();
    assert_eq!(
        status,
        expectrl::process::unix::WaitStatus::Exited(session.get_process().pid(), 130)
    );
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
}
