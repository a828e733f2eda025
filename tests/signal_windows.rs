//! Signals in the moments around terraform (issue: a hostile-user audit of signals): with no
//! terraform running, a signal ends tfw at once, except while tfw holds a GitLab lock of its
//! own or finishes a write (then it waits for the release), and a hand-over to `tfw --all`'s
//! pool ends with the pool. Each case is timed by a request the GitLab test server holds
//! back, never by a sleep. What is checked is what GitLab holds afterwards.

use std::time::Duration;

use crate::gitlab_ci_locks::in_ci;
use crate::support::Sandbox;
use crate::support::gitlab::{CI_JOB_TOKEN, Fault, RequestRecord, Route};
use crate::support::slow_apply::{
    clean_afterwards, collected, kill, killed_mid_apply, running_in, sandbox,
    wait_until_nothing_runs,
};

const PROJECT: &str = "42";

fn from_tfw(request: &RequestRecord) -> bool {
    request
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("user-agent") && v.starts_with("tfw/"))
}

/// Waits until tfw's own request (not terraform's) matching `what` reached the server.
#[track_caller]
fn tfw_sent(sandbox: &Sandbox, what: impl Fn(&RequestRecord) -> bool) {
    let found = sandbox
        .gitlab
        .wait_for_request(Duration::from_secs(120), |r| from_tfw(r) && what(r));
    assert!(found.is_some(), "{:#?}", sandbox.gitlab.requests());
}

/// Waits until the server has answered every request it got, a held-back one too (a client
/// that went away does not stop GitLab from carrying a request out).
fn settled(sandbox: &Sandbox) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sandbox.gitlab.requests().iter().any(|r| r.status == 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "a request never ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lock_request(request: &RequestRecord) -> bool {
    request.method == "POST" && request.path().ends_with("/lock")
}

/// `tfw state unlock` in CI asks GitLab by taking the lock (GraphQL refuses job tokens) and
/// releases it at once: a SIGTERM meanwhile used to end tfw with GitLab granting the lock
/// after it had gone, the state locked by the pipeline user for good.
#[test]
fn a_signal_while_tfw_holds_its_own_probe_lock_waits_for_the_release() {
    let sandbox = Sandbox::new();
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    sandbox.gitlab.put_state(
        PROJECT,
        "prod",
        br#"{"version":4,"terraform_version":"1.0.3","serial":1,"lineage":"l-1","outputs":{},"resources":[]}"#,
    );
    let ids = sandbox.gitlab.job_ids(CI_JOB_TOKEN).unwrap();
    sandbox.gitlab.fault(
        Fault::delay(Route::Lock, Duration::from_secs(3))
            .method("POST")
            .times(1),
    );
    let run = collected(in_ci(&sandbox, ids, &["state", "unlock"]));
    tfw_sent(&sandbox, lock_request);
    kill(run.pid(), libc::SIGTERM);
    let out = run.wait();
    settled(&sandbox);
    assert_eq!(sandbox.gitlab.lock(PROJECT, "prod"), None, "{}", out.all());
    out.code(143);
}

/// `tfw state restore` writes under a lock of its own: a SIGTERM during the write ends tfw
/// once the lock is released and what was restored is said.
#[test]
fn a_signal_during_a_restore_ends_tfw_after_its_lock_is_released() {
    let sandbox = crate::states::seeded();
    let backup = ".tfw/backups/dev-alice/0000000002-20240101T000000Z.tfstate";
    sandbox.write(backup, crate::states::doc(2, "restored"));
    sandbox
        .gitlab
        .fault(Fault::delay(Route::State, Duration::from_secs(3)).method("POST"));
    let run = collected(sandbox.tfw(&["state", "restore", backup, "--confirm", "dev-alice"]));
    tfw_sent(&sandbox, |r| {
        r.method == "POST" && !r.path().ends_with("/lock")
    });
    kill(run.pid(), libc::SIGTERM);
    let out = run.wait();
    settled(&sandbox);
    assert_eq!(
        sandbox.gitlab.lock(PROJECT, "dev-alice"),
        None,
        "{}",
        out.all()
    );
    out.code(143).stderr_has("as serial 4");
    let now = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(now["outputs"]["greeting"]["value"], "restored", "{now}");
}

/// A signal after the run lock is taken and before terraform starts (tfw backing up the state
/// before the apply): tfw stops at once with 128+n, terraform never starts, GitLab holds no
/// lock, no temporary file is left, and the directory is free for the next run.
#[test]
fn a_signal_before_terraform_starts_leaves_nothing_behind() {
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let label = format!("signal {signal} during the backup");
        let Some(sandbox) = sandbox(&label, 1) else {
            return;
        };
        sandbox
            .gitlab
            .fault(Fault::delay(Route::State, Duration::from_secs(2)).method("GET"));
        let run = collected(sandbox.tfw(&["apply", "--auto-approve"]));
        tfw_sent(&sandbox, |r| {
            r.method == "GET" && r.path().ends_with("/dev-alice")
        });
        kill(run.pid(), signal);
        let out = run.wait();
        let all = out.all();
        out.code(code);
        wait_until_nothing_runs(&sandbox);
        assert!(!all.contains("terraform_data.slow: Creating"), "{all}");
        assert!(!clean_afterwards(&sandbox, &label, &all), "nothing applied");
        let temporary: Vec<_> = walk(&sandbox.path(".tfw"))
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("tfw-tmp"))
            .collect();
        assert!(temporary.is_empty(), "{temporary:?}");
        sandbox.gitlab.clear_faults();
        sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

/// `kill -9` of tfw mid-apply leaves terraform running in its own session (it finishes or
/// stops on its own), and the kernel frees tfw's run lock. The next tfw here found the
/// directory free: `tfw state unlock` released the running apply's own lock (your own lock
/// goes without ceremony) and a plan re-initialised under it. The run lock's record names
/// that terraform: both are refused until it has ended, and the refusal says how to stop it.
#[test]
fn a_terraform_left_running_by_a_killed_tfw_keeps_the_directory() {
    let label = "kill -9 of tfw, then another tfw";
    let Some(sandbox) = sandbox(label, 600) else {
        return;
    };
    killed_mid_apply(&sandbox);
    let terraform = terraform_in(&sandbox);
    assert!(sandbox.gitlab.lock(PROJECT, "dev-alice").is_some());
    sandbox
        .tfw(&["state", "unlock", "dev-alice"])
        .run()
        .code(1)
        .stderr_has(&format!("terraform (pid {terraform})"))
        .stderr_has("still running in this directory")
        .stderr_has(&format!("kill -INT {terraform}"));
    assert!(
        sandbox.gitlab.lock(PROJECT, "dev-alice").is_some(),
        "released"
    );
    sandbox
        .tfw(&["plan"])
        .run()
        .code(1)
        .stderr_has(&format!("terraform (pid {terraform})"))
        .stderr_has("is running in this directory; nothing was changed");
    // As the refusal says: terraform stops gracefully, releases its lock and writes its state.
    kill(terraform as i32, libc::SIGINT);
    wait_until_nothing_runs(&sandbox);
    clean_afterwards(&sandbox, label, "");
    sandbox.tfw(&["plan"]).run().success();
}

/// The pid of the one terraform running in the sandbox.
fn terraform_in(sandbox: &Sandbox) -> u32 {
    let found: Vec<u32> = running_in(sandbox.dir.path())
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "terraform")
        })
        .filter_map(|pid| pid.parse().ok())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0]
}

/// A CI runner's cancel of `tfw --all apply`: SIGTERM to the job's whole process group while
/// both roots' terraforms sleep in their applies. The child tfws and their terraforms are in
/// groups of their own, so only the parent tfw gets it; it passes it once to each root's tfw,
/// which gives its terraform its one SIGINT. Each stops cleanly, exit 143.
#[test]
fn a_group_sigterm_stops_every_root_of_all_apply_once() {
    let label = "group SIGTERM to tfw --all apply";
    let Some(sandbox) = crate::roots_apply::infra(label, 1) else {
        return;
    };
    for root in ["prod", "staging"] {
        sandbox.write(
            &format!("envs/{root}/main.tf"),
            crate::support::slow_apply::slow_config(600),
        );
    }
    sandbox.tfw(&["--all", "plan"]).run().success();
    let run = collected(sandbox.tfw(&["--all", "--stream", "-j", "2", "apply", "--auto-approve"]));
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    while run
        .text()
        .matches(crate::support::slow_apply::MARKER)
        .count()
        < 2
    {
        assert!(std::time::Instant::now() < deadline, "{}", run.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(-run.pid(), libc::SIGTERM);
    let out = run.wait();
    let all = out.all();
    eprintln!("{all}");
    out.code(143);
    assert_eq!(all.matches("Interrupt received").count(), 2, "{all}");
    assert!(!all.contains("Two interrupts received"), "{all}");
    for root in ["prod", "staging"] {
        let left = running_in(&sandbox.path(&format!("envs/{root}")));
        assert!(left.is_empty(), "{root}: {left:?}");
        assert_eq!(sandbox.gitlab.lock(PROJECT, root), None, "{root}\n{all}");
        assert!(
            !sandbox
                .path(&format!("envs/{root}/errored.tfstate"))
                .exists()
        );
    }
}

/// `nohup tfw apply` and then the terminal closes (a hangup to tfw and to its group): the
/// person asked for the run to outlive the terminal. tfw keeps SIGHUP ignored, terraform (in
/// a session of its own) gets nothing, and the apply finishes: exit 0, the resource created.
#[test]
fn under_nohup_a_hangup_lets_the_apply_finish() {
    use std::os::unix::process::CommandExt;
    let label = "nohup, then SIGHUP";
    let Some(sandbox) = sandbox(label, 3) else {
        return;
    };
    let mut cmd = sandbox.tfw(&["apply", "--auto-approve"]);
    // SAFETY: signal(2) is async-signal-safe; after `started_clean`'s own pre-exec step.
    unsafe {
        cmd.command.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let run = collected(cmd);
    run.wait_for_marker();
    kill(run.pid(), libc::SIGHUP);
    kill(-run.pid(), libc::SIGHUP);
    let out = run.wait();
    let all = out.all();
    out.code(0);
    assert!(!all.contains("Interrupt received"), "{all}");
    assert!(clean_afterwards(&sandbox, label, &all), "applied");
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert!(
        state["resources"][0]["instances"][0]["status"].is_null(),
        "created, not tainted: {state}"
    );
}
