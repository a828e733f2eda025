//! Issue 19 item 5, `tfw prompt`: the current state for a shell prompt, from `.env` and
//! `tfw.toml` alone. "No network, no process" is counted (the GitLab request log, logging
//! stand-ins for git and terraform), never timed: the speed is in scripts/bench.

use std::path::PathBuf;

use crate::support::{Out, Sandbox};

/// Logging stand-ins for git and terraform: any start of either leaves a line in the log.
fn count_processes(sandbox: &Sandbox) -> PathBuf {
    let log = sandbox.home.path().join("processes.log");
    for name in ["git", "terraform"] {
        // The sandbox's terraform is a symlink to the shared real one: never write through it.
        let _ = std::fs::remove_file(sandbox.bin.join(name));
        sandbox.fake_binary(name, &format!("echo {name} \"$*\" >> '{}'", log.display()));
    }
    log
}

#[track_caller]
fn assert_alone(sandbox: &Sandbox, log: &PathBuf, out: &Out) {
    out.success();
    assert_eq!(out.stderr(), "", "a prompt prints nothing on stderr");
    assert!(
        !log.exists(),
        "processes started: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    assert_eq!(
        sandbox.gitlab.requests(),
        vec![],
        "a prompt never asks GitLab"
    );
}

#[test]
fn prints_the_current_state_without_network_or_processes() {
    let sandbox = Sandbox::new();
    // A git repository around it, as a real one: still no git.
    std::fs::create_dir_all(sandbox.path(".git")).unwrap();
    let log = count_processes(&sandbox);
    let out = sandbox.tfw(&["prompt"]).run();
    assert_alone(&sandbox, &log, &out);
    assert_eq!(out.stdout, "dev-alice\n");

    // A protected state carries the marker; the format and the marker are the user's.
    sandbox.seed_env("alice", crate::support::gitlab::ALICE_TOKEN, "prod");
    let out = sandbox.tfw(&["prompt"]).run();
    assert_alone(&sandbox, &log, &out);
    assert_eq!(out.stdout, "prod!\n");
    let out = sandbox
        .tfw(&[
            "prompt",
            "--format",
            "(tf {state}{protected}) ",
            "--marker=*",
        ])
        .run();
    assert_alone(&sandbox, &log, &out);
    assert_eq!(out.stdout, "(tf prod*) \n");
    // `--state` and a `TF_STATE_NAME` exported in the shell win, as for every command.
    let out = sandbox.tfw(&["prompt", "--state", "dev-x"]).run();
    out.success();
    assert_eq!(out.stdout, "dev-x\n");
    let out = sandbox
        .tfw(&["prompt"])
        .env("TF_STATE_NAME", "staging")
        .run();
    out.success();
    assert_eq!(out.stdout, "staging!\n");
}

#[test]
fn protection_and_personal_states_follow_tfw_toml() {
    let sandbox = Sandbox::empty();
    sandbox.short_env("alice", crate::support::gitlab::ALICE_TOKEN, None);
    sandbox.write(
        "tfw.toml",
        "protected = [\"live-*\"]\npersonal = \"sandbox-{username}\"\n",
    );
    let log = count_processes(&sandbox);
    let out = sandbox.tfw(&["prompt"]).run();
    assert_alone(&sandbox, &log, &out);
    assert_eq!(out.stdout, "sandbox-alice\n");
    let out = sandbox.tfw(&["prompt", "--state", "live-eu"]).run();
    out.success();
    assert_eq!(out.stdout, "live-eu!\n");
    let out = sandbox.tfw(&["prompt", "--state", "prod"]).run();
    out.success();
    assert_eq!(
        out.stdout, "prod\n",
        "tfw.toml replaced the default patterns"
    );
}

#[test]
fn prints_nothing_outside_a_tfw_root() {
    let sandbox = Sandbox::empty();
    let log = count_processes(&sandbox);
    // No .env, no tfw.toml; even with a state exported in the shell.
    let out = sandbox
        .tfw(&["prompt"])
        .env("TF_STATE_NAME", "prod")
        .env("TF_HTTP_USERNAME", "alice")
        .run();
    assert_alone(&sandbox, &log, &out);
    assert_eq!(out.stdout, "");
    // Another tool's .env.
    sandbox.write(".env", "NODE_ENV=production\nTF_HTTP_USERNAME=alice\n");
    let out = sandbox.tfw(&["prompt"]).run();
    assert_alone(&sandbox, &log, &out);
    assert_eq!(out.stdout, "");
    // A .env tfw cannot read, or a `-C` that is not a directory: still silent, exit 0.
    sandbox.write(".env", b"TF_STATE_NAME=\xff\xfe\n".as_slice());
    let out = sandbox.tfw(&["prompt"]).run();
    assert_alone(&sandbox, &log, &out);
    assert_eq!(out.stdout, "");
    let out = sandbox.tfw(&["-C", "missing", "prompt"]).run();
    assert_alone(&sandbox, &log, &out);
    assert_eq!(out.stdout, "");
}

#[test]
fn clap_and_the_fast_path_agree_and_bad_formats_are_usage_errors() {
    let sandbox = Sandbox::new();
    sandbox.seed_env("alice", crate::support::gitlab::ALICE_TOKEN, "staging");
    // `-q` is not a shape the fast path takes: clap parses it, same answer.
    for args in [
        &["prompt"][..],
        &["-q", "prompt"],
        &["prompt", "--no-color", "-v"],
    ] {
        let out = sandbox.tfw(args).run();
        out.success();
        assert_eq!(out.stdout, "staging!\n", "{args:?}");
    }
    let out = sandbox.tfw(&["prompt", "--format", "{stat}"]).run();
    out.code(2).stderr_has("unknown placeholder `{stat}`");
    // A name that would be a prompt escape in zsh or bash prints as `?`.
    let out = sandbox
        .tfw(&["prompt", "--state", "x%F{red}$(id)`\\"])
        .run();
    out.success();
    assert_eq!(out.stdout, "x?F{red}?(id)??\n");
}
