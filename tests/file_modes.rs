//! Issue 13: every file tfw keeps that holds a state, a plan or a secret is 0600 in a 0700
//! folder, also under umask 022 (the suite starts every tfw with it, and terraform inherits
//! it: `plan -out` writes 0644). `tfw doctor` names wider ones, `tfw clean --fix-modes`
//! narrows them without removing anything, and the next write repairs its own folder.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::gitlab::ALICE_TOKEN;
use crate::support::{Sandbox, files_below};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every folder and file below `.tfw/<folder>` is private.
#[track_caller]
fn private_below(sandbox: &Sandbox, folder: &str) {
    let root = sandbox.path(".tfw").join(folder);
    assert_eq!(mode(&root), 0o700, "{folder}");
    let files = files_below(&root);
    assert!(!files.is_empty(), "nothing in {folder}");
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
        assert_eq!(mode(file.parent().unwrap()), 0o700, "{}", file.display());
    }
}

/// A plan, a backup and a `.env` copy: the three kinds of private files tfw keeps, made by
/// tfw (and terraform) running under `umask`.
fn with_every_private_file(umask: u32) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .setup_force(ALICE_TOKEN)
        .umask(umask)
        .run()
        .success();
    let mut env = std::fs::OpenOptions::new()
        .append(true)
        .open(sandbox.path(".env"))
        .unwrap();
    std::io::Write::write_all(&mut env, b"TF_STATE_NAME=dev-alice\n").unwrap();
    let tfw = |args: &[&str]| {
        sandbox.tfw(args).umask(umask).run().success();
    };
    tfw(&["apply", "--auto-approve"]);
    tfw(&["apply", "--auto-approve", "--", "-var", "greeting=x"]);
    tfw(&["plan"]);
    sandbox
}

#[test]
fn states_plans_and_secrets_are_private_under_umask_022() {
    let sandbox = with_every_private_file(0o022);
    private_below(&sandbox, "plans");
    private_below(&sandbox, "backups");
    private_below(&sandbox, "env-backups");
    assert!(sandbox.path(".tfw/plans/dev-alice.tfplan").is_file());
    assert_eq!(mode(&sandbox.path(".env")), 0o600);
    // What holds no secret keeps the usual modes.
    assert_eq!(mode(&sandbox.path(".tfw/init.json")), 0o644);
    sandbox
        .tfw(&["doctor", "--offline"])
        .run()
        .success()
        .stderr_has("files")
        .lacks("--fix-modes");
}

/// umask 000 (a shared build box) widens nothing: tfw sets modes, never leaves them to it.
#[test]
fn states_plans_and_secrets_are_private_under_umask_000() {
    let sandbox = with_every_private_file(0);
    for folder in ["plans", "backups", "env-backups"] {
        private_below(&sandbox, folder);
    }
    assert_eq!(mode(&sandbox.path(".env")), 0o600);
}

#[test]
fn doctor_names_wider_ones_and_fix_modes_narrows_them() {
    let sandbox = with_every_private_file(0o022);
    let backups = sandbox.path(".tfw/backups/dev-alice");
    let backup = files_below(&backups).remove(0);
    let plan = sandbox.path(".tfw/plans/dev-alice.tfplan");
    let copy = files_below(&sandbox.path(".tfw/env-backups")).remove(0);
    let errored = sandbox.path("errored.tfstate");
    std::fs::write(&errored, "{}").unwrap();
    for (path, wide) in [
        (&backups, 0o755),
        (&backup, 0o644),
        (&plan, 0o644),
        (&copy, 0o640),
        (&errored, 0o644),
    ] {
        chmod(path, wide);
    }
    chmod(&sandbox.path(".env"), 0o644);

    let out = sandbox.tfw(&["doctor", "--offline"]).run();
    out.success();
    for name in [
        ".tfw/backups/dev-alice`",
        ".tfw/plans/dev-alice.tfplan`",
        ".tfw/env-backups/",
        "errored.tfstate`",
    ] {
        out.stderr_has(name);
    }
    out.stderr_has("readable by others")
        .stderr_has("run `tfw clean --fix-modes`");

    let dry = sandbox.tfw(&["clean", "--fix-modes", "--dry-run"]).run();
    dry.success()
        .stdout_has("would change `errored.tfstate` from 644 to 600");
    assert_eq!(mode(&backup), 0o644, "--dry-run changes nothing");

    sandbox.tfw(&["clean", "--fix-modes"]).run().success();
    assert_eq!(mode(&backups), 0o700);
    for file in [&backup, &plan, &copy, &errored, &sandbox.path(".env")] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    // Nothing was removed, and doctor is satisfied.
    assert!(plan.is_file() && backup.is_file() && errored.is_file());
    sandbox
        .tfw(&["doctor", "--offline"])
        .run()
        .success()
        .lacks("--fix-modes");
}

#[test]
fn the_next_write_repairs_its_folder() {
    let sandbox = with_every_private_file(0o022);
    chmod(&sandbox.path(".tfw/plans"), 0o755);
    chmod(&sandbox.path(".tfw/backups"), 0o775);
    chmod(&sandbox.path(".tfw/backups/dev-alice"), 0o755);
    sandbox
        .tfw(&["apply", "--auto-approve", "--", "-var", "greeting=y"])
        .run()
        .success();
    sandbox.tfw(&["plan"]).run().success();
    private_below(&sandbox, "plans");
    private_below(&sandbox, "backups");
}
