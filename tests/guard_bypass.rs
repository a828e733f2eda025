//! The guards tried the other way round: every path a hurried or hostile user could take to
//! a protected state, a lock or a file, judged by what terraform then does to the state on
//! the GitLab test server. Scenarios that need real resources run with Terraform 1.11 (the
//! `gate` module's helpers), skipped, saying so, when it is absent.

use crate::gate::{instances, prod_with, resources_tf, unchanged};

/// A root whose `backend "http"` block, or an init argument from `.env`, names prod: terraform
/// would write prod (or take a dummy lock) while tfw judged `team`.
#[test]
fn a_backend_configured_for_another_state_is_refused() {
    let Some(sandbox) = prod_with("a_backend_configured_for_another_state_is_refused", 2) else {
        return;
    };
    let before = sandbox.gitlab.versions("42", "prod");
    let prod = sandbox.gitlab.state_url("42", "prod");
    let one = resources_tf(1, false);
    for block in [
        format!("backend \"http\" {{\n    address = \"{prod}\"\n  }}"),
        format!(
            "backend \"http\" {{\n    lock_address   = \"{prod}/lock\"\n    unlock_address = \"{prod}/lock\"\n  }}"
        ),
    ] {
        sandbox.write("main.tf", one.replace("backend \"http\" {}", &block));
        for args in [
            &["--state", "team", "apply", "--auto-approve"][..],
            &["--state", "team", "exec", "--", "apply", "-auto-approve"][..],
            &["--state", "team", "plan"][..],
        ] {
            sandbox
                .tfw(args)
                .run()
                .code(1)
                .stderr_has("terraform was configured with a backend `")
                .stderr_has("for state `prod`, not for state `team`: refused")
                .stderr_has("tfw fills them in");
            unchanged(&sandbox, &before);
        }
    }
    // The same through terraform's own variable for init, in `.env`.
    sandbox.write("main.tf", one);
    let env = sandbox.read(".env");
    sandbox.write(
        ".env",
        format!("{env}TF_CLI_ARGS_init=\"-backend-config=address={prod}\"\n"),
    );
    sandbox
        .tfw(&["--state", "team", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("for state `prod`, not for state `team`: refused");
    unchanged(&sandbox, &before);
    assert_eq!(instances(&sandbox, "prod").len(), 2);
    sandbox.write(".env", env);
    sandbox
        .tfw(&["--state", "team", "apply", "--auto-approve"])
        .run()
        .success();
    unchanged(&sandbox, &before);
    assert_eq!(instances(&sandbox, "team").len(), 1);
}

/// terraform's working data moved (`TF_DATA_DIR`) to a folder initialised for prod, or
/// terraform sent to another folder by `exec -- -chdir=`: both would write a state tfw never
/// judged.
#[test]
fn terraform_kept_in_this_root_and_its_dot_terraform() {
    let Some(sandbox) = prod_with("terraform_kept_in_this_root_and_its_dot_terraform", 2) else {
        return;
    };
    let before = sandbox.gitlab.versions("42", "prod");
    // This root ready for `team`, and a data folder as `init -backend-config=address=...prod`
    // leaves it: terraform would take prod's address from there.
    sandbox.tfw(&["--state", "team", "init"]).run().success();
    let prod = sandbox.gitlab.state_url("42", "prod");
    let record = sandbox.read(".terraform/terraform.tfstate");
    let mut record: serde_json::Value = serde_json::from_str(&record).unwrap();
    record["backend"]["config"]["address"] = prod.clone().into();
    let data = sandbox.path("elsewhere");
    std::fs::create_dir_all(&data).unwrap();
    crate::support::copy_dir(&sandbox.path(".terraform"), &data);
    sandbox.write("elsewhere/terraform.tfstate", record.to_string());
    sandbox.write("main.tf", resources_tf(1, false));
    for args in [
        &["--state", "team", "apply", "--auto-approve"][..],
        &["--state", "team", "exec", "--", "apply", "-auto-approve"][..],
        &["--state", "team", "validate"][..],
    ] {
        sandbox
            .tfw(args)
            .env("TF_DATA_DIR", &data)
            .run()
            .code(1)
            .stderr_has(
                "`TF_DATA_DIR` (environment) moves terraform's working data out of `.terraform/`",
            )
            .stderr_has("unset `TF_DATA_DIR`");
        unchanged(&sandbox, &before);
    }
    let env = sandbox.read(".env");
    sandbox.write(".env", format!("{env}TF_DATA_DIR=elsewhere\n"));
    sandbox
        .tfw(&["--state", "team", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("/.env:10) moves terraform");
    unchanged(&sandbox, &before);
    // Its own `.terraform/`, however written, is no move.
    sandbox.write(".env", format!("{env}TF_DATA_DIR=./.terraform\n"));
    sandbox.tfw(&["--state", "team", "init"]).run().success();

    // `-chdir=` anywhere in `exec`'s arguments: another folder's configuration and init.
    sandbox.write(".env", env);
    for args in [
        &[
            "--state",
            "team",
            "exec",
            "--",
            "-chdir=elsewhere",
            "apply",
            "-auto-approve",
        ][..],
        &[
            "--state",
            "team",
            "exec",
            "--",
            "--chdir=elsewhere",
            "state",
            "list",
        ][..],
    ] {
        sandbox
            .tfw(args)
            .run()
            .code(1)
            .stderr_has("would run terraform in another folder than the one tfw checked")
            .stderr_has("tfw -C DIR exec");
    }
    unchanged(&sandbox, &before);
    assert_eq!(instances(&sandbox, "prod").len(), 2);
}

/// terraform's `force-unlock` through `exec` would release someone's lock under their running
/// apply without a question; `tfw state unlock` is the guarded way.
#[test]
fn exec_force_unlock_points_to_state_unlock() {
    let sandbox = crate::support::Sandbox::new();
    sandbox.gitlab.set_lock(
        "42",
        "team",
        serde_json::json!({"ID": "f00d", "Operation": "OperationTypeApply", "Who": "bob@ci"}),
    );
    for args in [
        &[
            "--state",
            "team",
            "exec",
            "--",
            "force-unlock",
            "-force",
            "f00d",
        ][..],
        &[
            "--state",
            "team",
            "exec",
            "--allow-protected",
            "--",
            "force-unlock",
            "f00d",
        ][..],
    ] {
        sandbox
            .tfw(args)
            .run()
            .code(1)
            .stderr_has("would release the lock of `team` without asking who holds it: refused")
            .stderr_has("run `tfw state unlock team`");
    }
    assert!(
        sandbox.gitlab.lock("42", "team").is_some(),
        "the lock was released"
    );
}

/// `-out` after `--` (or in tfw.toml's `[args] plan`) wins over tfw's own: terraform wrote the
/// plan, the state in clear, outside the repository with its umask's mode.
#[test]
fn a_plan_is_never_written_where_out_says() {
    let sandbox = crate::support::Sandbox::new();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("p.tfplan");
    let out = format!("-out={}", target.display());
    for args in [
        &["plan", "--", out.as_str()][..],
        &["plan", "--", "-out", out.as_str()][..],
        &["apply", "--auto-approve", "--", out.as_str()][..],
    ] {
        sandbox
            .tfw(args)
            .run()
            .code(1)
            .stderr_has("tfw saves the plan itself in `.tfw/plans/`")
            .stderr_has("drop `-out`");
    }
    sandbox.write("tfw.toml", format!("[args]\nplan = [\"{out}\"]\n"));
    sandbox
        .tfw(&["plan"])
        .run()
        .code(1)
        .stderr_has("tfw saves the plan itself");
    assert!(
        !target.exists(),
        "a plan was written outside the repository"
    );
    sandbox.write("tfw.toml", "");
    sandbox.tfw(&["plan"]).run().success();
    assert!(sandbox.path(".tfw/plans/dev-alice.tfplan").exists());
}
