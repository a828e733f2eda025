//! Issue 15, item 2: `tfw adopt` is reviewable and loses nothing: every file listed with what
//! happens to it and why, only the Makefile template's own files removed (edited copies shown
//! as a diff and kept unless --force), git-ignored and unknown files never, the old
//! `env.example` keys and the scripts' terraform arguments carried over (and used).

use crate::support::gitlab::ALICE_TOKEN;
use crate::support::{Sandbox, git};

/// The old Makefile template's files, as shipped (the originals tfw recognises).
pub(crate) const LEGACY: &[(&str, &str)] = &[
    ("Makefile", include_str!("../templates/legacy/Makefile")),
    (
        "scripts/init.sh",
        include_str!("../templates/legacy/scripts/init.sh"),
    ),
    (
        "scripts/plan.sh",
        include_str!("../templates/legacy/scripts/plan.sh"),
    ),
    (
        "scripts/apply.sh",
        include_str!("../templates/legacy/scripts/apply.sh"),
    ),
    (
        "scripts/destroy.sh",
        include_str!("../templates/legacy/scripts/destroy.sh"),
    ),
    (
        "scripts/format.sh",
        include_str!("../templates/legacy/scripts/format.sh"),
    ),
    (
        "scripts/graph.sh",
        include_str!("../templates/legacy/scripts/graph.sh"),
    ),
    (
        "scripts/clean.sh",
        include_str!("../templates/legacy/scripts/clean.sh"),
    ),
    (
        "env.example",
        include_str!("../templates/legacy/env.example"),
    ),
];

/// The old Makefile template's layout, committed (without `.env`, which is only on disk).
pub(crate) fn legacy_repo(sandbox: &Sandbox, main_tf: &str) {
    for (path, text) in LEGACY {
        sandbox.write(path, text);
    }
    sandbox.write(
        "backend.hcl",
        "lock_method = \"POST\"\nunlock_method = \"DELETE\"\n",
    );
    sandbox.write(
        "README.md",
        "# Infra\n\n## Usage\n\nCopy env.example to .env, then `make init` and `make plan`.\n",
    );
    sandbox.write("main.tf", main_tf);
    sandbox.seed_env("alice", ALICE_TOKEN, "dev-alice");
    let dir = sandbox.dir.path();
    git(dir, &["init", "-q"]);
    git(
        dir,
        &[
            "add",
            "Makefile",
            "scripts",
            "backend.hcl",
            "env.example",
            "README.md",
            "main.tf",
        ],
    );
    git(dir, &["commit", "-q", "-m", "from the Makefile template"]);
}

#[test]
fn adopt_converts_a_makefile_repo_and_doctor_passes() {
    let sandbox = Sandbox::empty();
    legacy_repo(&sandbox, "output \"greeting\" {\n  value = \"hello\"\n}\n");
    sandbox.write("backend.tf", "terraform {\n  backend \"http\" {\n  }\n}\n");
    git(sandbox.dir.path(), &["add", "backend.tf"]);
    git(sandbox.dir.path(), &["commit", "-q", "-m", "backend"]);
    let env_before = sandbox.read(".env");

    sandbox
        .tfw(&["adopt", "--dry-run"])
        .run()
        .success()
        .stdout_has("+GITLAB_URL=")
        .stderr_has("Dry run");
    assert_eq!(
        git(
            sandbox.dir.path(),
            &["status", "--porcelain", "--untracked-files=no"]
        ),
        ""
    );
    assert!(!sandbox.path(".tfw/template.lock").exists());

    sandbox
        .tfw(&["adopt"])
        .run()
        .success()
        .stderr_has("`.env` is unchanged and works as it is")
        .stderr_has("--remove-legacy");
    assert_eq!(sandbox.read(".env"), env_before, ".env is never rewritten");
    assert!(sandbox.path("Makefile").is_file() && sandbox.path("scripts/init.sh").is_file());
    assert!(
        sandbox.read("env.example").contains("GITLAB_URL="),
        "the export-style example is replaced"
    );
    assert!(
        sandbox.read("backend.tf").contains("Managed by `tfw sync`"),
        "an equivalent backend.tf is replaced"
    );
    assert!(
        sandbox.read("README.md").starts_with("# Infra\n"),
        "the README keeps its own part"
    );
    git(sandbox.dir.path(), &["check-ignore", "-q", ".env"]);

    sandbox
        .tfw(&["doctor"])
        .run()
        .success()
        .stderr_has("All checks passed");
    sandbox.tfw(&["plan"]).run().success();
    sandbox.tfw(&["sync", "--check"]).run().code(0);
    sandbox.tfw(&["adopt"]).run().code(1).stderr_has("tfw sync");
}

#[test]
fn adopt_removes_legacy_files_only_when_asked_and_never_declares_a_second_backend() {
    let sandbox = Sandbox::empty();
    // The backend lives in main.tf here: backend.tf would be a second one.
    legacy_repo(&sandbox, crate::support::MAIN_TF);
    sandbox
        .tfw(&["adopt", "--remove-legacy"])
        .run()
        .success()
        .stderr_has("backend.tf");
    for gone in ["Makefile", "scripts", "backend.hcl"] {
        assert!(!sandbox.path(gone).exists(), "{gone} still there");
    }
    assert!(!sandbox.path("backend.tf").exists());
    assert!(sandbox.read(".tfw/template.lock").contains("skip = true"));
    sandbox.tfw(&["doctor"]).run().success();
    sandbox.tfw(&["sync", "--check"]).run().code(0);
}

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
