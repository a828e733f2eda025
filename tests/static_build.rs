//! The static build CI jobs run: templates/gitlab-ci.yml's install-tfw job builds tfw in
//! `rust:alpine`, for musl. Its start-up is not the glibc build's: without Rust's `main`
//! wrapper (src/main.rs), musl gives std no command line, and that build once ignored every
//! argument, printed the help and exited 0, so a pipeline "applied" by doing nothing.
//! scripts/install-test-musl builds it where the musl target can be installed
//! (`TFW_TEST_MUSL_TFW`); elsewhere these tests say they were skipped.

use std::path::PathBuf;

use crate::support::Sandbox;
use crate::support::gitlab::ALICE_TOKEN;

fn musl_tfw(test: &str) -> Option<PathBuf> {
    match std::env::var_os("TFW_TEST_MUSL_TFW").filter(|path| !path.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!(
                "skipped {test}: no musl build (TFW_TEST_MUSL_TFW, scripts/install-test-musl)"
            );
            None
        }
    }
}

#[test]
fn the_musl_build_reads_its_command_line() {
    let Some(tfw) = musl_tfw("the_musl_build_reads_its_command_line") else {
        return;
    };
    let sandbox = Sandbox::new();
    let out = sandbox.tfw_built(&tfw, &["--version"]).run();
    out.success();
    assert_eq!(out.stdout, format!("tfw {}\n", env!("CARGO_PKG_VERSION")));
    let out = sandbox.tfw_built(&tfw, &["prompt"]).run();
    out.success();
    assert_eq!(out.stdout, "dev-alice\n");
    let out = sandbox
        .tfw_built(&tfw, &["--state", "prod", "prompt", "--marker=*"])
        .run();
    out.success();
    assert_eq!(out.stdout, "prod*\n");
    sandbox
        .tfw_built(&tfw, &["plna"])
        .run()
        .code(2)
        .stderr_has("unrecognized subcommand 'plna'");
}

#[test]
fn the_musl_build_plans_and_applies_against_gitlab() {
    let Some(tfw) = musl_tfw("the_musl_build_plans_and_applies_against_gitlab") else {
        return;
    };
    let sandbox = Sandbox::new();
    sandbox.seed_env("alice", ALICE_TOKEN, "dev-alice");
    sandbox
        .tfw_built(&tfw, &["plan"])
        .run()
        .success()
        .stderr_has("Plan for `dev-alice`");
    sandbox
        .tfw_built(&tfw, &["apply", "--auto-approve"])
        .run()
        .success();
    let state = sandbox
        .remote_state("dev-alice")
        .expect("the state on GitLab");
    assert_eq!(state["outputs"]["greeting"]["value"], "hello");
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
}
