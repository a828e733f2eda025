//! Issue 15, item 2: `tfw adopt` is reviewable and loses nothing: every file listed with what
//! happens to it and why, only the Makefile template's own files removed (edited copies shown
//! as a diff and kept unless --force), git-ignored and unknown files never, the old
//! `env.example` keys and the scripts' terraform arguments carried over (and used).

use crate::support::Sandbox;
use crate::support::git;
use crate::templates::legacy_repo;

const MAIN_TF: &str = "variable \"greeting\" {\n  default = \"hello world\"\n}\n\noutput \"greeting\" {\n  value = var.greeting\n}\n";

#[test]
fn adopt_lists_everything_carries_what_the_scripts_did_and_removes_only_the_templates_files() {
    let sandbox = Sandbox::empty();
    legacy_repo(&sandbox, MAIN_TF);
    let dir = sandbox.dir.path();
    let plan_sh = sandbox.read("scripts/plan.sh").replace(
        "terraform plan",
        "terraform plan -var-file=dev.tfvars -parallelism=4",
    );
    sandbox.write("scripts/plan.sh", &plan_sh);
    sandbox.write("dev.tfvars", "greeting = \"hello dev\"\n");
    sandbox.write("scripts/team-lint.sh", "#!/bin/sh\ntflint\n");
    sandbox.write(".gitignore", ".env\nscripts/.cache\n");
    sandbox.write("scripts/.cache", "local only\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "the team's edits"]);

    let out = sandbox.tfw(&["adopt", "--dry-run"]).run();
    out.success()
        .stderr_has("legacy     Makefile  (the Makefile template's, unchanged")
        .stderr_has("keep       scripts/plan.sh  (the Makefile template's, edited here")
        .stderr_has("+terraform plan -var-file=dev.tfvars -parallelism=4")
        .stderr_has("keep       scripts/team-lint.sh  (not from the Makefile template)")
        .stderr_has("keep       scripts/.cache  (ignored by git")
        .stderr_has(
            "carry      -var-file=dev.tfvars  (from scripts/plan.sh, into tfw.toml [args] plan)",
        )
        .stderr_has("kept: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY")
        .stderr_has("legacy     backend.hcl");

    sandbox.tfw(&["adopt"]).run().success();
    let example = sandbox.read("env.example");
    assert!(
        example.contains("GITLAB_URL=")
            && example.contains("AWS_SECRET_ACCESS_KEY=\"secret-AWS-access-key\""),
        "{example}"
    );
    let toml = sandbox.read("tfw.toml");
    assert!(
        toml.contains("[args]\nplan = [\"-var-file=dev.tfvars\", \"-parallelism=4\"]"),
        "{toml}"
    );
    // What make planned is what tfw plans.
    sandbox
        .tfw(&["plan"])
        .run()
        .success()
        .stdout_has("hello dev")
        .lacks("hello world");
    sandbox.tfw(&["sync", "--check"]).run().code(0);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "adopt"]);

    // The documented second step, once everyone has switched.
    sandbox
        .tfw(&["adopt", "--remove-legacy"])
        .run()
        .success()
        .stderr_has("remove     Makefile");
    for gone in [
        "Makefile",
        "backend.hcl",
        "scripts/init.sh",
        "scripts/apply.sh",
    ] {
        assert!(!sandbox.path(gone).exists(), "{gone} still there");
    }
    for kept in [
        "scripts/plan.sh",
        "scripts/team-lint.sh",
        "scripts/.cache",
        "dev.tfvars",
    ] {
        assert!(sandbox.path(kept).exists(), "{kept} was removed");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "remove legacy"]);
    sandbox
        .tfw(&["adopt", "--remove-legacy", "--force"])
        .run()
        .success()
        .stderr_has("removed with `--force`");
    assert!(!sandbox.path("scripts/plan.sh").exists());
    assert_eq!(sandbox.read("scripts/.cache"), "local only\n");
    assert!(sandbox.path("scripts/team-lint.sh").exists());
    sandbox.tfw(&["sync", "--check"]).run().code(0);
    sandbox.tfw(&["adopt"]).run().code(1).stderr_has("tfw sync");
}

#[test]
fn adopt_never_opens_a_fifo_it_finds() {
    let sandbox = Sandbox::empty();
    legacy_repo(&sandbox, MAIN_TF);
    std::fs::remove_file(sandbox.path("scripts/plan.sh")).unwrap();
    for fifo in ["scripts/plan.sh", "extra.tf"] {
        let status = std::process::Command::new("mkfifo")
            .arg(sandbox.path(fifo))
            .status()
            .unwrap();
        assert!(status.success());
    }
    sandbox
        .tfw(&["adopt", "--dry-run"])
        .timeout(std::time::Duration::from_secs(60))
        .run()
        .success()
        .stderr_has("keep       scripts/plan.sh  (not from the Makefile template)");
}
