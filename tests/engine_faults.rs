//! Issue "Reliability": terraform itself failing. A binary that is missing, not executable or
//! not a program; one that crashes in the middle of an apply (a real terraform killed while it
//! holds the lock, then its wrapper dying of SIGSEGV) or exits 1 without a word; one that
//! hangs, which tfw's own timeouts never kill, and which signals stop the right way.
//! Fake binaries only where a real terraform cannot show the fault; they wrap the real one.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::gitlab::{Fault, Route};
use crate::support::{MAIN_TF, Out, Sandbox, terraform, wait_with_output};

const APPLY: &[&str] = &["apply", "--auto-approve"];

/// A binary problem is found before anything reaches GitLab or terraform starts.
#[track_caller]
fn refused_before_starting(sandbox: &Sandbox, out: &Out, cause: &str, fix: &str) {
    out.code(1);
    let error = out
        .stderr()
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or("");
    assert!(
        error.contains(cause),
        "cause {cause:?} not named:\n{}",
        out.stderr()
    );
    let hint = out
        .stderr()
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or("");
    assert!(
        hint.contains(fix),
        "fix {fix:?} not named:\n{}",
        out.stderr()
    );
    let writes: Vec<_> = sandbox
        .gitlab
        .requests()
        .into_iter()
        // The GraphQL listing (does the state exist?) is a read sent as POST.
        .filter(|r| r.method != "GET" && !r.url.starts_with("/api/graphql"))
        .collect();
    assert!(
        writes.is_empty(),
        "nothing may change on GitLab: {writes:?}"
    );
}

#[test]
fn a_missing_or_unusable_binary_is_named_with_the_fix() {
    let sandbox = Sandbox::new();
    let garbage = sandbox.home.path().join("garbage-terraform");
    std::fs::write(&garbage, [0x7f, b'E', b'L', b'F', 0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o755)).unwrap();
    let no_interpreter = sandbox.home.path().join("script-terraform");
    std::fs::write(&no_interpreter, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(&no_interpreter, std::fs::Permissions::from_mode(0o755)).unwrap();
    let not_executable = sandbox.home.path().join("plain-terraform");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let directory = sandbox.home.path().to_path_buf();

    let cases: Vec<(&str, PathBuf, &str, &str)> = vec![
        (
            "missing",
            PathBuf::from("/nonexistent/terraform"),
            "does not exist",
            "fix TFW_BINARY",
        ),
        (
            "not executable",
            not_executable.clone(),
            "is not an executable file",
            "chmod +x",
        ),
        (
            "a directory",
            directory,
            "is not an executable file",
            "TFW_BINARY",
        ),
        (
            "not a program",
            garbage,
            "cannot start",
            "not a program this machine can run",
        ),
        (
            "missing interpreter",
            no_interpreter,
            "cannot start",
            "`#!` line",
        ),
    ];
    for (name, binary, cause, fix) in &cases {
        for args in [&["plan"][..], APPLY, &["exec", "--", "state", "list"]] {
            sandbox.gitlab.clear_requests();
            let out = sandbox.tfw(args).env("TFW_BINARY", binary).run();
            eprintln!("[{name}] {args:?}");
            refused_before_starting(&sandbox, &out, cause, fix);
        }
    }
    // Not on PATH at all.
    std::fs::remove_file(sandbox.bin.join("terraform")).unwrap();
    for args in [&["plan"][..], APPLY] {
        let out = sandbox.tfw(args).run();
        refused_before_starting(
            &sandbox,
            &out,
            "`terraform` was not found on PATH",
            "install terraform",
        );
    }
    assert!(sandbox.gitlab.state("42", "dev-alice").is_none());
}

/// A wrapper around the real terraform whose `apply` misbehaves as `apply_script` says; every
/// other command (init, plan, version) is the real thing.
fn wrapper(sandbox: &Sandbox, name: &str, apply_script: &str) -> PathBuf {
    sandbox.fake_binary(
        name,
        &format!(
            "real='{}'\nif [ \"$1\" = apply ]; then\n{apply_script}\nfi\nexec \"$real\" \"$@\"",
            terraform().display()
        ),
    )
}

/// Applied once ("hello"), the configuration then changed: the next apply has work to do.
fn applied_once() -> (Sandbox, Vec<(u64, Vec<u8>)>) {
    let sandbox = Sandbox::new();
    sandbox.tfw(APPLY).run().success();
    sandbox.write("main.tf", MAIN_TF.replace("hello", "changed"));
    let versions = sandbox.gitlab.versions("42", "dev-alice");
    (sandbox, versions)
}

#[track_caller]
fn backup_is(sandbox: &Sandbox, previous: &[u8]) {
    let folder = sandbox.path(".tfw/backups/dev-alice");
    let backups: Vec<_> = std::fs::read_dir(&folder).unwrap().flatten().collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read(backups[0].path()).unwrap(), previous);
}

#[test]
fn terraform_killed_mid_apply_while_holding_the_lock() {
    let (sandbox, before) = applied_once();
    let go = sandbox.home.path().join("go");
    let binary = wrapper(
        &sandbox,
        "terraform-crashing",
        &format!(
            "(exec \"$real\" \"$@\") &\npid=$!\nwhile [ ! -e '{}' ]; do sleep 0.05; done\nkill -9 $pid\nkill -SEGV $$",
            go.display()
        ),
    );
    // The state write never gets an answer: terraform is killed while it holds the lock.
    sandbox
        .gitlab
        .fault(Fault::hang(Route::State, Duration::from_secs(60)).method("POST"));
    sandbox.gitlab.clear_requests();
    let child = sandbox.tfw(APPLY).env("TFW_BINARY", &binary).spawn();
    let seen = sandbox
        .gitlab
        .wait_for_request(Duration::from_secs(60), |r| {
            r.method == "POST" && r.url.contains("/state/dev-alice?ID=")
        });
    assert!(seen.is_some(), "the apply never reached the state write");
    std::fs::write(&go, "").unwrap();
    let out = wait_with_output(child, Duration::from_secs(120));
    out.code(128 + libc::SIGSEGV)
        .stderr_has("terraform was killed by signal 11")
        .stderr_has("GitLab shows it still locked by alice")
        .stderr_has("tfw state unlock dev-alice");
    assert_eq!(
        sandbox.gitlab.versions("42", "dev-alice"),
        before,
        "no version was written"
    );
    let lock = sandbox
        .gitlab
        .lock("42", "dev-alice")
        .expect("the crash left the lock");
    assert_eq!(lock["Who"], "alice");
    backup_is(&sandbox, &before.last().unwrap().1);
    // The way out tfw names works: after the unlock, apply runs again and succeeds.
    sandbox.gitlab.clear_faults();
    sandbox.gitlab.clear_lock("42", "dev-alice");
    sandbox.tfw(APPLY).run().success();
    assert_eq!(
        sandbox.remote_state("dev-alice").unwrap()["outputs"]["greeting"]["value"],
        "changed"
    );
}

#[test]
fn terraform_dying_or_failing_without_a_word_is_reported() {
    let cases: Vec<(&str, &str, i32, &str)> = vec![
        (
            "segfault",
            "kill -SEGV $$",
            128 + libc::SIGSEGV,
            "killed by signal 11 (SIGSEGV",
        ),
        (
            "exit 1 mid-apply",
            "echo 'aws_instance.web: Modifying...'\nexit 1",
            1,
            "stopped with exit 1 without an error message",
        ),
        (
            "go panic",
            "echo 'panic: runtime error: invalid memory address' >&2\necho '!!!!! TERRAFORM CRASH !!!!!' >&2\nexit 11",
            11,
            "crashed (exit 11; its panic message is above)",
        ),
        (
            "killed (OOM)",
            "kill -KILL $$",
            128 + libc::SIGKILL,
            "SIGKILL: out of memory, or killed",
        ),
    ];
    for (name, script, code, message) in cases {
        let (sandbox, before) = applied_once();
        let binary = wrapper(&sandbox, "terraform-failing", script);
        let out = sandbox.tfw(APPLY).env("TFW_BINARY", &binary).run();
        assert_eq!(out.status(), Some(code), "[{name}]\n{}", out.stderr());
        assert!(
            out.stderr().contains(message),
            "[{name}] {message:?} missing:\n{}",
            out.stderr()
        );
        assert!(
            out.stderr().contains("hint: `tfw state show dev-alice`"),
            "[{name}]\n{}",
            out.stderr()
        );
        // Nothing held the lock when it died: tfw looked, and does not claim one.
        assert!(
            !out.stderr().contains("still locked"),
            "[{name}]\n{}",
            out.stderr()
        );
        assert_eq!(
            sandbox.gitlab.versions("42", "dev-alice"),
            before,
            "[{name}]"
        );
        assert!(sandbox.gitlab.lock("42", "dev-alice").is_none(), "[{name}]");
        backup_is(&sandbox, &before.last().unwrap().1);
    }
}

/// A `local-exec` daemon, or anything terraform leaves behind, may keep terraform's output
/// open after it exited: tfw still finishes (it used to wait for the orphan).
#[test]
fn an_orphan_holding_terraforms_output_does_not_keep_tfw_waiting() {
    let (sandbox, _) = applied_once();
    let binary = wrapper(
        &sandbox,
        "terraform-orphan",
        "sleep 40 &
\"$real\" \"$@\"\nexit $?",
    );
    sandbox
        .tfw(APPLY)
        .env("TFW_BINARY", &binary)
        .timeout(Duration::from_secs(30))
        .run()
        .success();
    assert_eq!(
        sandbox.remote_state("dev-alice").unwrap()["outputs"]["greeting"]["value"],
        "changed"
    );
}

#[test]
fn a_slow_apply_outlives_tfws_http_timeout() {
    let (sandbox, _) = applied_once();
    // Longer than TFW_HTTP_TIMEOUT: tfw's timeouts are for its own calls, never for terraform.
    let binary = wrapper(&sandbox, "terraform-slow", "sleep 3");
    sandbox
        .tfw(APPLY)
        .env("TFW_BINARY", &binary)
        .env("TFW_HTTP_TIMEOUT", "1")
        .run()
        .success();
    assert_eq!(
        sandbox.remote_state("dev-alice").unwrap()["outputs"]["greeting"]["value"],
        "changed"
    );
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
}

/// A terraform `apply` that never ends by itself: it notes every signal it gets in `log`, shrugs
/// off SIGINT (as a busy terraform finishing its current step would), and stops on SIGTERM/HUP.
fn hanging(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let log = sandbox.home.path().join("signals.log");
    let binary = wrapper(
        sandbox,
        "terraform-hanging",
        &format!(
            "log='{}'\necho \"started $$\" >> \"$log\"\ntrap 'echo INT >> \"$log\"' INT\ntrap 'echo TERM >> \"$log\"; exit 143' TERM\ntrap 'echo HUP >> \"$log\"; exit 129' HUP\nwhile :; do sleep 0.05; done",
            log.display()
        ),
    );
    (binary, log)
}

fn wait_for_log(log: &Path, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if pred(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the fake terraform never got there: {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: signalling a process this test started.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

fn alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// Whatever stops tfw, and however often, terraform gets one SIGINT (its graceful stop; its
/// SIGTERM and SIGHUP stop it mid-write) and the time it takes: tfw waits for it.
#[test]
fn signals_to_a_hanging_apply_become_one_sigint_and_tfw_waits() {
    for (first, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        let (sandbox, before) = applied_once();
        let (binary, log) = hanging(&sandbox);
        let child = sandbox
            .tfw(APPLY)
            .env("TFW_BINARY", &binary)
            .env("TFW_HTTP_TIMEOUT", "1")
            .spawn();
        let pid = child.id();
        let started = wait_for_log(&log, |t| t.contains("started"));
        let fake = started.split_whitespace().nth(1).unwrap().to_string();
        signal(pid, first);
        wait_for_log(&log, |t| t.contains("INT"));
        // Sent by processes (a CI runner, `kill`), repeats are not passed on: a second SIGINT
        // would make terraform abandon its lock.
        for again in [first, libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            signal(pid, again);
        }
        std::thread::sleep(Duration::from_millis(500));
        assert!(alive(&fake), "tfw must wait for terraform to stop");
        let seen = std::fs::read_to_string(&log).unwrap();
        assert_eq!(seen.lines().skip(1).collect::<Vec<_>>(), ["INT"], "{seen}");
        // The fake stops only when told by someone else; tfw then ends as it was stopped.
        signal(fake.parse().unwrap(), libc::SIGTERM);
        let out = wait_with_output(child, Duration::from_secs(60));
        out.code(code).stderr_has("interrupted");
        assert_eq!(sandbox.gitlab.versions("42", "dev-alice"), before);
    }
}

#[test]
fn ctrl_c_during_tfws_own_call_stops_at_once_and_changes_nothing() {
    let (sandbox, before) = applied_once();
    sandbox.tfw(&["plan"]).run().success();
    // The backup download (tfw's own call, before terraform applies) never gets an answer;
    // the one before it is terraform 1.0 reading the state to show the plan to the gate.
    sandbox
        .gitlab
        .fault(Fault::pass(Route::State).method("GET").times(1));
    sandbox
        .gitlab
        .fault(Fault::hang(Route::State, Duration::from_secs(60)).method("GET"));
    sandbox.gitlab.clear_requests();
    let child = sandbox.tfw(APPLY).env("TFW_HTTP_TIMEOUT", "60").spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    let state_gets = || {
        let requests = sandbox.gitlab.requests();
        requests
            .iter()
            .filter(|r| r.method == "GET" && r.url.contains("/terraform/state/"))
            .count()
    };
    while state_gets() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(state_gets(), 2, "{:?}", sandbox.gitlab.requests());
    signal(child.id(), libc::SIGINT);
    let out = wait_with_output(child, Duration::from_secs(30));
    // No terraform to wait for: tfw stops as the shell expects, by the signal (or 130).
    assert!(matches!(out.status(), None | Some(130)), "{out:?}");
    assert_eq!(sandbox.gitlab.versions("42", "dev-alice"), before);
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
    let writes = sandbox
        .gitlab
        .requests()
        .into_iter()
        // The GraphQL listing before an apply is a read sent as POST.
        .filter(|r| r.method != "GET" && !r.url.starts_with("/api/graphql"))
        .count();
    assert_eq!(writes, 0, "terraform must not have started");
    // The reviewed plan is still there for the next try.
    assert!(sandbox.path(".tfw/plans/dev-alice.tfplan").exists());
}
