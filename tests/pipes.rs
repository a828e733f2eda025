//! Issue 16, one output channel: every line of data reaches stdout through the printer, and a
//! reader that went away (`tfw state list | head -1`) ends tfw quietly with exit 0, as ripgrep
//! does, never with a panic (Rust ignores SIGPIPE, so a bare `println!` panicked there).
//!
//! The pipe's reading end is closed before tfw starts: the first write meets a closed pipe
//! whatever the output's size (with a live `head -1`, a short output fits in the pipe's buffer
//! and no write would ever fail).

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;
use std::time::Duration;

use crate::support::{Cmd, Out, Sandbox, wait_with_output};

/// Runs `cmd` with stdout a pipe nobody reads.
#[track_caller]
fn closed_stdout(mut cmd: Cmd) -> Out {
    let mut fds = [0; 2];
    // SAFETY: `pipe` fills both descriptors, each owned once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "a pipe");
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let child = cmd
        .command
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tfw");
    // The command holds a copy of the writing end: closed, so only the child has one.
    drop(cmd);
    wait_with_output(child, Duration::from_secs(120))
}

#[track_caller]
fn quiet_exit(args: &[&str], sandbox: &Sandbox) {
    closed_stdout(sandbox.tfw(args))
        .lacks("panicked")
        .lacks("error:")
        .code(0);
}

#[test]
fn state_list_into_a_closed_pipe_exits_quietly() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(
        "42",
        "dev-alice",
        b"{\"version\":4,\"serial\":1,\"lineage\":\"l\",\"outputs\":{},\"resources\":[]}",
    );
    quiet_exit(&["state", "list"], &sandbox);
    quiet_exit(&["state", "list", "--json"], &sandbox);
}

#[test]
fn env_into_a_closed_pipe_exits_quietly() {
    let sandbox = Sandbox::new();
    quiet_exit(&["env"], &sandbox);
    quiet_exit(&["env", "--json"], &sandbox);
}

#[test]
fn completions_and_man_into_a_closed_pipe_exit_quietly() {
    let sandbox = Sandbox::empty();
    quiet_exit(&["completions", "bash"], &sandbox);
    quiet_exit(&["man"], &sandbox);
}

#[test]
fn fleet_status_and_sync_into_a_closed_pipe_exit_quietly() {
    let fleet = crate::fleet_sync::behind_fleet();
    let quiet = |args: &[&str]| {
        closed_stdout(fleet.sandbox.tfw(args))
            .lacks("panicked")
            .lacks("error:")
            .code(0);
    };
    quiet(&["fleet", "status", "--group", "fleet"]);
    quiet(&["fleet", "status", "--group", "fleet", "--json"]);
    quiet(&["fleet", "sync", "--group", "fleet", "--dry-run"]);
}

#[test]
fn prompt_into_a_closed_pipe_exits_quietly() {
    // The prompt skips clap and the printer's set-up: SIGPIPE is still ignored on that path.
    let sandbox = Sandbox::new();
    quiet_exit(&["prompt"], &sandbox);
}

/// tfw started with stdout closed (`tfw prompt >&-` in a shell) ends quietly with exit 0:
/// `tfw::start` makes the descriptor `/dev/null` before anything is opened (as Rust's own
/// `main` wrapper did), so no file tfw opens can take its place.
#[test]
fn a_closed_stdout_is_dev_null() {
    use std::os::unix::process::CommandExt;
    let sandbox = Sandbox::new();
    for args in [&["prompt"][..], &["env"]] {
        let mut cmd = sandbox.tfw(args);
        // SAFETY: `close` is async-signal-safe.
        unsafe {
            cmd.command.pre_exec(|| {
                libc::close(1);
                Ok(())
            });
        }
        let child = cmd
            .command
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tfw");
        drop(cmd);
        wait_with_output(child, Duration::from_secs(120))
            .lacks("panicked")
            .lacks("error:")
            .code(0);
    }
}
