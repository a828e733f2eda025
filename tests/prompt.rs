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

/// The whole process as the kernel sees it, traced by strace (skipped where strace is not
/// installed or may not trace): the prompt starts no process, opens no socket, and the only
/// files it opens are `.env` and `tfw.toml` at each level, beside the dynamic loader's
/// libraries. Counted, not timed, like the tests above.
#[test]
fn the_kernel_sees_no_process_no_socket_and_only_env_and_tfw_toml_opened() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.path(".git")).unwrap();
    sandbox.write("tfw.toml", "protected = [\"prod\"]\n");
    let Ok(strace) = which::which("strace") else {
        println!("skipped: strace is not installed");
        return;
    };
    // Tracing needs ptrace, which a container may forbid.
    let traces = std::process::Command::new(&strace)
        .args(["-qq", "-o", "/dev/null", "true"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !traces {
        println!("skipped: strace cannot trace here");
        return;
    }
    let trace = sandbox.home.path().join("prompt.trace");
    let tfw = sandbox.tfw(&["prompt"]).command;
    let mut command = std::process::Command::new(strace);
    command
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .args(["-e", "trace=%process,%network,open,openat,openat2,creat"])
        .arg(tfw.get_program())
        .args(tfw.get_args())
        .current_dir(tfw.get_current_dir().expect("the sandbox"))
        .env_clear()
        .envs(tfw.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = crate::support::wait_with_output(
        command.spawn().expect("start strace"),
        std::time::Duration::from_secs(120),
    );
    out.success();
    assert_eq!(out.stdout, "dev-alice\n");
    let trace = std::fs::read_to_string(&trace).unwrap();
    let calls: Vec<&str> = trace.lines().collect();
    let execs = calls.iter().filter(|line| line.contains("execve(")).count();
    assert_eq!(execs, 1, "tfw's own exec and nothing else:\n{trace}");
    for line in &calls {
        let name = line.split_whitespace().nth(1).unwrap_or("");
        let name = name.split('(').next().unwrap_or("");
        assert!(
            !matches!(
                name,
                "fork" | "vfork" | "clone" | "clone3" | "socket" | "connect" | "socketpair"
            ),
            "a prompt starts nothing and connects nowhere: {line}\n{trace}"
        );
        if let Some(path) = name
            .starts_with("open")
            .then(|| line.split('"').nth(1))
            .flatten()
        {
            let loader = path == "/etc/ld.so.cache"
                || ["/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/"]
                    .iter()
                    .any(|dir| path.starts_with(dir));
            assert!(
                loader || path.ends_with("/.env") || path.ends_with("/tfw.toml"),
                "a prompt opened {path}:\n{trace}"
            );
        }
    }
    let opened = |file: &str| calls.iter().any(|l| l.contains(file) && l.contains("open"));
    assert!(opened("/.env") && opened("/tfw.toml"), "{trace}");
}
