//! Issue 13: interrupts as CI runners and terminals really send them, against a real slow
//! apply (Terraform 1.11 at /usr/local/bin/terraform: a `terraform_data` whose `local-exec`
//! provisioner sleeps, no provider download; skipped with a message where it is absent).
//! Each pattern stops tfw while terraform sleeps inside the apply, holding the lock, then
//! the state is checked on the GitLab test server: the resource is there or cleanly absent,
//! the lock is released, nothing is in `errored.tfstate`, terraform got one interrupt (no
//! "Two interrupts received") and is gone, and tfw said what GitLab shows.
//! Markers in the output, never fixed sleeps, decide when to act (`support::slow_apply`).

use std::path::Path;
use std::time::{Duration, Instant};

use expectrl::Expect;

use crate::support::slow_apply::{
    MARKER, clean_afterwards, existing_state, kill, killed_mid_apply, one_interrupt, pty,
    rest_and_status, sandbox, start, terraform_ran_past, what_is_left,
};

/// One signal, or a signal to the whole group, while terraform sleeps in the apply.
#[test]
fn a_signal_to_tfw_or_its_group_stops_terraform_once_and_cleanly() {
    for (label, signal, group, code) in [
        ("SIGINT to tfw", libc::SIGINT, false, 130),
        ("SIGTERM to tfw", libc::SIGTERM, false, 143),
        ("SIGHUP to tfw", libc::SIGHUP, false, 129),
        ("SIGTERM to the group", libc::SIGTERM, true, 143),
        ("SIGINT to the group", libc::SIGINT, true, 130),
    ] {
        let Some(sandbox) = sandbox(label, 600) else {
            return;
        };
        let run = start(&sandbox, &[]);
        run.wait_for_marker();
        let pid = run.pid();
        kill(if group { -pid } else { pid }, signal);
        let out = run.wait();
        let all = out.all();
        eprintln!("[{label}]\n{all}");
        assert_eq!(out.status(), Some(code), "[{label}]\n{all}");
        one_interrupt(label, &all);
        clean_afterwards(&sandbox, label, &all);
        // What tfw says is what GitLab shows.
        assert!(
            out.stderr().contains("GitLab shows the state unlocked"),
            "[{label}]\n{all}"
        );
    }
}

/// GNU `timeout` when its time is up (here: when it is told to stop, at a moment the test
/// picks): the signal goes to tfw and then to `timeout`'s whole process group, so tfw gets
/// it twice, and terraform, in a group of its own, not at all.
#[test]
fn gnu_timeout_stops_terraform_once_and_cleanly() {
    let label = "GNU timeout";
    if !Path::new("/usr/bin/timeout").is_file() {
        eprintln!("skipped {label}: no /usr/bin/timeout");
        return;
    }
    let Some(sandbox) = sandbox(label, 600) else {
        return;
    };
    let run = start(&sandbox, &["/usr/bin/timeout", "-s", "TERM", "900"]);
    run.wait_for_marker();
    kill(run.pid(), libc::SIGTERM);
    let out = run.wait();
    let all = out.all();
    out.code(143);
    one_interrupt(label, &all);
    clean_afterwards(&sandbox, label, &all);
    out.stderr_has("GitLab shows the state unlocked");
}

/// A CI runner's cancel: SIGTERM to the job's process group, SIGKILL after a grace period
/// that ends while terraform is still stopping (its state write is slow). tfw dies; terraform,
/// in a session of its own, finishes stopping: the state is written and the lock released.
#[test]
fn a_ci_cancel_sigterm_then_sigkill_after_the_grace_period() {
    let label = "group SIGTERM, SIGKILL after grace";
    let Some(sandbox) = sandbox(label, 600) else {
        return;
    };
    let run = start(&sandbox, &[]);
    run.wait_for_marker();
    sandbox.gitlab.fault(
        crate::support::gitlab::Fault::delay(
            crate::support::gitlab::Route::State,
            Duration::from_secs(6),
        )
        .method("POST"),
    );
    sandbox.gitlab.clear_requests();
    let pid = run.pid();
    kill(-pid, libc::SIGTERM);
    let writing = sandbox
        .gitlab
        .wait_for_request(Duration::from_secs(120), |r| r.method == "POST");
    assert!(
        writing.is_some(),
        "terraform never wrote its state:\n{}",
        run.text()
    );
    // The grace period is over while the write is in flight.
    kill(-pid, libc::SIGKILL);
    let out = run.wait();
    assert_eq!(out.status(), None, "tfw was killed");
    // tfw died before it could show all terraform printed: what is on GitLab tells instead.
    let all = out.all();
    assert!(
        clean_afterwards(&sandbox, label, &all),
        "terraform's last write records the resource"
    );
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(
        state["resources"][0]["instances"][0]["status"], "tainted",
        "stopped by its interrupt, inside the provisioner's sleep: {state}"
    );
}

/// `kill -9` of tfw alone, mid-apply: terraform is not tfw's to lose. It goes on writing its
/// output (to a file, not a pipe without a reader: no SIGPIPE) and finishes the apply.
#[test]
fn kill_9_of_tfw_alone_lets_terraform_finish_the_apply() {
    let label = "kill -9 of tfw";
    let Some(sandbox) = sandbox(label, 3) else {
        return;
    };
    let all = killed_mid_apply(&sandbox).all();
    assert!(
        clean_afterwards(&sandbox, label, &all),
        "the apply finished"
    );
    let state = sandbox.remote_state("dev-alice").unwrap();
    let slow = &state["resources"][0];
    assert_eq!(slow["name"], "slow", "{state}");
    assert!(
        slow["instances"][0]["status"].is_null(),
        "created, not tainted: {state}"
    );
}

/// Ctrl-C on a terminal, once: terraform gets it once and stops cleanly.
#[test]
fn ctrl_c_once_on_a_terminal() {
    let label = "Ctrl-C once";
    let Some(sandbox) = sandbox(label, 600) else {
        return;
    };
    let mut session = pty(&sandbox);
    session.expect(MARKER).unwrap();
    session.send(expectrl::ControlCode::EndOfText).unwrap();
    let (output, code) = rest_and_status(session);
    assert_eq!(code, 130, "{output}");
    one_interrupt(label, &output);
    clean_afterwards(&sandbox, label, &output);
    assert!(
        output.contains("GitLab shows the state unlocked"),
        "{output}"
    );
}

/// Ctrl-C twice: the second is the person's wish to stop at once, and reaches terraform.
/// What is left is what tfw says: it read the lock from GitLab, and the command it names
/// releases a lock left behind.
#[test]
fn ctrl_c_twice_on_a_terminal_stops_hard_and_says_what_is_left() {
    let label = "Ctrl-C twice";
    let Some(sandbox) = sandbox(label, 600) else {
        return;
    };
    let mut session = pty(&sandbox);
    session.expect(MARKER).unwrap();
    // terraform's graceful stop then takes a while: its state write is slow.
    sandbox.gitlab.fault(
        crate::support::gitlab::Fault::delay(
            crate::support::gitlab::Route::State,
            Duration::from_secs(5),
        )
        .method("POST"),
    );
    sandbox.gitlab.clear_requests();
    session.send(expectrl::ControlCode::EndOfText).unwrap();
    session.expect("Interrupt received").unwrap();
    let writing = sandbox
        .gitlab
        .wait_for_request(Duration::from_secs(120), |r| r.method == "POST");
    assert!(writing.is_some(), "terraform never wrote its state");
    session.send(expectrl::ControlCode::EndOfText).unwrap();
    let (output, code) = rest_and_status(session);
    eprintln!("{output}");
    assert_eq!(code, 130, "{output}");
    assert!(output.contains("Two interrupts received"), "{output}");
    what_is_left(&sandbox, &output);
}

/// The terminal closes (an SSH connection drops) while terraform applies: the kernel hangs
/// up the terminal and sends SIGHUP to tfw, the session's leader; terraform, in a session
/// of its own, is not hung up but gets one SIGINT from tfw, and stops cleanly.
#[test]
fn the_terminal_closing_stops_terraform_once_and_cleanly() {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    use std::os::unix::process::CommandExt;
    let label = "terminal closed";
    let Some(sandbox) = sandbox(label, 600) else {
        return;
    };
    existing_state(&sandbox);
    let (mut master, slave) = {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty(3) fills two descriptors this test then owns.
        let opened = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(opened, 0, "no pseudo-terminal");
        // Only the test holds the terminal's other end: closing it must hang the terminal up.
        // SAFETY: fcntl(2) on the descriptor openpty just returned.
        unsafe {
            libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        // SAFETY: both descriptors are fresh and owned by nothing else.
        unsafe {
            (
                std::fs::File::from_raw_fd(master),
                std::fs::File::from_raw_fd(slave),
            )
        }
    };
    let mut cmd = sandbox.tfw(&["apply", "--auto-approve"]);
    cmd.command
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    // SAFETY: setsid and ioctl are async-signal-safe; the terminal becomes tfw's own.
    unsafe {
        cmd.command.pre_exec(|| {
            if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.command.spawn().expect("start tfw on a terminal");
    drop(cmd);
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(MARKER) {
        assert!(
            Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&seen)
        );
        let mut poll = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&master),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll(2) on one descriptor this test owns.
        if unsafe { libc::poll(&mut poll, 1, 100) } > 0 {
            match master.read(&mut chunk) {
                Ok(n) if n > 0 => seen.extend_from_slice(&chunk[..n]),
                _ => panic!(
                    "tfw closed the terminal: {}",
                    String::from_utf8_lossy(&seen)
                ),
            }
        }
    }
    drop(master);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "tfw did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(129), "{status:?}");
    let output = String::from_utf8_lossy(&seen).into_owned();
    assert!(clean_afterwards(&sandbox, label, &output));
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(
        state["resources"][0]["instances"][0]["status"], "tainted",
        "stopped by its interrupt inside the provisioner's sleep: {state}"
    );
}

/// Ctrl-C three times in quick succession, as an impatient person does: each reaches
/// terraform as the terminal would give it (the first is its graceful stop; what it makes of
/// the others is its choice), tfw exits only once terraform has, with 130, and what it says
/// about the lock is what GitLab shows.
#[test]
fn ctrl_c_three_times_quickly_on_a_terminal() {
    let label = "Ctrl-C three times";
    let Some(sandbox) = sandbox(label, 600) else {
        return;
    };
    let mut session = pty(&sandbox);
    session.expect(MARKER).unwrap();
    let watch = terraform_ran_past(&sandbox, session.get_process().pid().as_raw());
    for _ in 0..3 {
        session.send(expectrl::ControlCode::EndOfText).unwrap();
    }
    let (output, code) = rest_and_status(session);
    eprintln!("{output}");
    assert_eq!(code, 130, "{output}");
    assert!(output.contains("Interrupt received"), "{output}");
    let left = watch.join().unwrap();
    assert!(
        left.is_empty(),
        "tfw exited while terraform ran: {left:?}\n{output}"
    );
    what_is_left(&sandbox, &output);
}
