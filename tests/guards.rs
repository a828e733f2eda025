//! Issue 12: the guards around the gate. `exec` writes, writes without the lock, the run
//! lock against `state unlock`, `clean` and the rest while an apply runs, your own lock
//! described, a protected delete, and a root that keeps no state on GitLab. Helpers and the
//! Terraform 1.11 rule (skipped, saying so, when absent) are `gate`'s.

use std::time::Duration;

use expectrl::{Eof, Expect};

use crate::gate::{instances, prod_with, pty, resources_tf, sandbox_with_resources, unchanged};
use crate::support::{Sandbox, wait_with_output};

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
    // Nor through the team's own `[args] apply` in tfw.toml, for apply and destroy alike.
    assert!(!sandbox.path("tfw.toml").exists());
    sandbox.write("tfw.toml", "[args]\napply = [\"-lock=false\"]\n");
    for command in ["apply", "destroy"] {
        sandbox
            .tfw(&["--state", "team", command, "--auto-approve"])
            .run()
            .code(1)
            .stderr_has("(from `tfw.toml [args] apply`) on shared state `team`");
    }
    std::fs::remove_file(sandbox.path("tfw.toml")).unwrap();
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
