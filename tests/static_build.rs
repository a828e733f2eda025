//! tfw's static builds, whose start-up is not the default build's:
//! - musl, which CI jobs run: templates/gitlab-ci.yml's install-tfw job builds tfw in
//!   `rust:alpine`. Without Rust's `main` wrapper (src/main.rs), musl gives std no command
//!   line, and that build once ignored every argument, printed the help and exited 0, so a
//!   pipeline "applied" by doing nothing.
//! - glibc with crt-static, which scripts/install builds on Linux (no dynamic loader: the
//!   build `tfw prompt` is fastest in, docs/benchmarks.md).
//!
//! scripts/install-test-static builds them where it can (`TFW_TEST_MUSL_TFW`,
//! `TFW_TEST_STATIC_GLIBC_TFW`); where it cannot, these tests say they were skipped.

use std::path::PathBuf;

use crate::ci::{assert_job, ci_sandbox, job_log, pipeline_repo, run_pipeline_with};
use crate::support::Sandbox;
use crate::support::gitlab::ALICE_TOKEN;

/// The static builds at hand, by name.
fn builds(test: &str) -> Vec<(&'static str, PathBuf)> {
    [
        ("musl", "TFW_TEST_MUSL_TFW"),
        ("static glibc", "TFW_TEST_STATIC_GLIBC_TFW"),
    ]
    .into_iter()
    .filter_map(
        |(name, var)| match std::env::var_os(var).filter(|p| !p.is_empty()) {
            Some(path) => Some((name, PathBuf::from(path))),
            None => {
                eprintln!(
                    "skipped {test} for the {name} build: no {var} (scripts/install-test-static)"
                );
                None
            }
        },
    )
    .collect()
}

#[test]
fn static_builds_read_their_command_line() {
    for (name, tfw) in builds("static_builds_read_their_command_line") {
        let sandbox = Sandbox::new();
        let out = sandbox.tfw_built(&tfw, &["--version"]).run();
        out.success();
        assert_eq!(
            out.stdout,
            format!("tfw {}\n", env!("CARGO_PKG_VERSION")),
            "{name}"
        );
        let out = sandbox.tfw_built(&tfw, &["prompt"]).run();
        out.success();
        assert_eq!(out.stdout, "dev-alice\n", "{name}");
        let out = sandbox
            .tfw_built(&tfw, &["--state", "prod", "prompt", "--marker=*"])
            .run();
        out.success();
        assert_eq!(out.stdout, "prod*\n", "{name}");
        sandbox
            .tfw_built(&tfw, &["plna"])
            .run()
            .code(2)
            .stderr_has("unrecognized subcommand 'plna'");
    }
}

/// The whole way to terraform: settings, GitLab over HTTP (name resolution included: the
/// test server's address is `localhost`), the run lock, terraform, the state written back.
#[test]
fn static_builds_plan_and_apply_against_gitlab() {
    for (name, tfw) in builds("static_builds_plan_and_apply_against_gitlab") {
        let sandbox = Sandbox::new();
        let env = sandbox.seed_env_text("alice", ALICE_TOKEN, "dev-alice");
        sandbox.write(".env", env.replace("//127.0.0.1:", "//localhost:"));
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
        assert_eq!(state["outputs"]["greeting"]["value"], "hello", "{name}");
        assert!(sandbox.gitlab.lock("42", "dev-alice").is_none(), "{name}");
    }
}

/// scripts/install picks the build: static on a glibc Linux host, the plain `cargo install`
/// elsewhere or when asked. Stand-ins for `rustc` (the host it reports) and `cargo` (what it
/// was asked): the static build itself is the one the tests above run.
#[test]
fn scripts_install_builds_static_on_glibc_linux_only() {
    let sandbox = Sandbox::empty();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install");
    let log = sandbox.home.path().join("cargo.log");
    sandbox.fake_binary(
        "cargo",
        &format!("echo \"RUSTFLAGS=$RUSTFLAGS $*\" > '{}'", log.display()),
    );
    let run = |host: &str, extra: &[(&str, &str)]| {
        sandbox.fake_binary("rustc", &format!("printf 'rustc 1.95.0\\nhost: {host}\\n'"));
        let mut command = std::process::Command::new("bash");
        command
            .arg(&script)
            .args(["--root", "/nowhere"])
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", sandbox.bin.display()));
        for (key, value) in extra {
            command.env(key, value);
        }
        let out = command.output().expect("run scripts/install");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&log).unwrap().trim().to_string()
    };
    assert_eq!(
        run("x86_64-unknown-linux-gnu", &[]),
        "RUSTFLAGS= -C target-feature=+crt-static install --locked --path . \
         --target x86_64-unknown-linux-gnu --root /nowhere"
    );
    assert_eq!(
        run("x86_64-unknown-linux-gnu", &[("TFW_INSTALL_DYNAMIC", "1")]),
        "RUSTFLAGS= install --locked --path . --root /nowhere"
    );
    assert_eq!(
        run("aarch64-apple-darwin", &[]),
        "RUSTFLAGS= install --locked --path . --root /nowhere"
    );
    assert_eq!(
        run("x86_64-unknown-linux-musl", &[]),
        "RUSTFLAGS= install --locked --path . --root /nowhere"
    );
}

/// The shipped pipeline with the musl build as its tfw, as `rust:alpine` builds it: the
/// install job checks the version it prints, and plan and apply do their work.
#[test]
fn the_shipped_pipeline_runs_the_musl_build() {
    let Some((_, tfw)) = builds("the_shipped_pipeline_runs_the_musl_build")
        .into_iter()
        .find(|(name, _)| *name == "musl")
    else {
        return;
    };
    let sandbox = ci_sandbox();
    pipeline_repo(&sandbox);
    let jobs = ["install-tfw", "plan", "apply"];
    let out = run_pipeline_with(&sandbox, &tfw, &jobs, &[]);
    out.success();
    for job in jobs {
        assert_job(&out, job, "PASS");
    }
    let install = job_log(&sandbox, "install-tfw");
    assert!(
        install.contains(&format!("tfw {}", env!("CARGO_PKG_VERSION"))),
        "{install}"
    );
    assert!(sandbox.gitlab.has_state("42", "gitlab-ci"));
}

/// A tfw that does not say its version (the musl build that read no command line printed
/// the help and exited 0) fails the install job, so no later job "succeeds" doing nothing.
#[test]
fn the_install_job_refuses_a_tfw_that_prints_no_version() {
    let sandbox = ci_sandbox();
    pipeline_repo(&sandbox);
    let broken = sandbox.fake_binary("broken-tfw", "echo 'Usage: tfw [OPTIONS] <COMMAND>'");
    let out = run_pipeline_with(&sandbox, &broken, &["install-tfw", "plan"], &[]);
    out.code(1);
    assert_job(&out, "install-tfw", "FAIL");
    let install = job_log(&sandbox, "install-tfw");
    assert!(
        install.contains("printed no version: not a working tfw"),
        "{install}"
    );
}
