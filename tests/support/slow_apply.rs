//! The slow apply the interrupt tests stop (tests/interrupts.rs): Terraform 1.11 at
//! /usr/local/bin/terraform creating a `terraform_data` whose `local-exec` provisioner
//! sleeps (no provider download), tfw started as a CI runner starts a job, and the checks of
//! what a stop must leave behind on the GitLab test server.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Out, Sandbox};

pub const TERRAFORM_1_11: &str = "/usr/local/bin/terraform";
/// What the provisioner prints once it sleeps; its command line (which terraform prints too)
/// holds `$((6*7))`, not 42.
pub const MARKER: &str = "tfw-test-sleeping-42";

/// A slow apply: `seconds` of sleep inside the creation of `terraform_data.slow`.
pub fn slow_config(seconds: u32) -> String {
    format!(
        r#"terraform {{
  backend "http" {{}}
}}

resource "terraform_data" "slow" {{
  input = "one"
  provisioner "local-exec" {{
    command = "echo tfw-test-sleeping-$((6*7)) && exec sleep {seconds}"
  }}
}}
"#
    )
}

/// The sandbox with Terraform 1.11 as `terraform`, or `None` (and a message) without it.
pub fn sandbox(test: &str, seconds: u32) -> Option<Sandbox> {
    if !Path::new(TERRAFORM_1_11).is_file() {
        eprintln!("skipped {test}: no Terraform 1.11 at {TERRAFORM_1_11}");
        return None;
    }
    let sandbox = Sandbox::new();
    let link = sandbox.bin.join("terraform");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(TERRAFORM_1_11, &link).unwrap();
    sandbox.write("main.tf", slow_config(seconds));
    Some(sandbox)
}

/// tfw running with its output collected as it comes.
pub struct Running {
    pub child: std::process::Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn collect(
    mut source: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = source.read(&mut chunk) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    })
}

/// `tfw apply --auto-approve` in a process group of its own (as a CI runner starts a job),
/// `wrap` in front of it if given (`timeout`).
pub fn start(sandbox: &Sandbox, wrap: &[&str]) -> Running {
    let mut cmd = sandbox.tfw(&["apply", "--auto-approve"]);
    if !wrap.is_empty() {
        let tfw = cmd.command.get_program().to_owned();
        let args: Vec<_> = cmd.command.get_args().map(|a| a.to_owned()).collect();
        let mut wrapped = std::process::Command::new(wrap[0]);
        wrapped.args(&wrap[1..]).arg(tfw).args(args);
        wrapped.current_dir(sandbox.dir.path()).env_clear();
        for (key, value) in cmd.command.get_envs() {
            if let Some(value) = value {
                wrapped.env(key, value);
            }
        }
        crate::support::started_clean(&mut wrapped);
        cmd.command = wrapped;
    }
    collected(cmd)
}

/// Any tfw command, in a process group of its own, its output collected as it comes.
pub fn collected(mut cmd: crate::support::Cmd) -> Running {
    cmd.command.process_group(0);
    let mut child = cmd.spawn();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let readers = vec![
        collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
        collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
    ];
    Running {
        child,
        stdout,
        stderr,
        readers,
    }
}

impl Running {
    pub fn text(&self) -> String {
        let out = String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned();
        let err = String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned();
        format!("{out}\n--- stderr\n{err}")
    }

    /// Waits until terraform sleeps inside the apply (the lock is held then).
    #[track_caller]
    pub fn wait_for_marker(&self) {
        let deadline = Instant::now() + Duration::from_secs(240);
        while !self.text().contains(MARKER) {
            assert!(
                Instant::now() < deadline,
                "the apply never reached its sleep:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    #[track_caller]
    pub fn wait(mut self) -> Out {
        let deadline = Instant::now() + Duration::from_secs(240);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tfw did not stop:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Out::new(
            status.code(),
            String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned(),
            String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned(),
        )
    }
}

/// `tfw apply` killed by `kill -9` while terraform sleeps in the apply (which goes on).
#[track_caller]
pub fn killed_mid_apply(sandbox: &Sandbox) -> Out {
    let run = start(sandbox, &[]);
    run.wait_for_marker();
    kill(run.pid(), libc::SIGKILL);
    let out = run.wait();
    assert_eq!(out.status(), None, "tfw was killed");
    out
}

pub fn kill(pid: i32, signal: i32) {
    // SAFETY: signalling a process (or with a negative pid, a process group) this test started.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Processes whose working directory is the sandbox: terraform and what it started.
pub fn running_in(dir: &Path) -> Vec<String> {
    let dir = std::fs::canonicalize(dir).unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd == dir))
        .filter(|e| {
            !std::fs::read_to_string(e.path().join("stat")).is_ok_and(|s| s.contains(") Z "))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Waits until nothing runs in the sandbox any more (after tfw itself was killed, terraform
/// goes on until it has stopped cleanly).
#[track_caller]
pub fn wait_until_nothing_runs(sandbox: &Sandbox) {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let left = running_in(sandbox.dir.path());
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What a stop must leave: a readable state on GitLab with `terraform_data.slow` either
/// recorded (created, or tainted by its interrupted provisioner) or absent, no lock, no
/// `errored.tfstate`, nothing left running. Returns whether the resource is recorded.
#[track_caller]
pub fn clean_afterwards(sandbox: &Sandbox, label: &str, output: &str) -> bool {
    wait_until_nothing_runs(sandbox);
    assert!(
        sandbox.gitlab.lock("42", "dev-alice").is_none(),
        "[{label}] the lock was left behind:\n{output}"
    );
    let writes: Vec<String> = sandbox
        .gitlab
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| {
            let serial = serde_json::from_slice::<serde_json::Value>(&r.body)
                .map(|v| v["serial"].to_string())
                .unwrap_or_default();
            format!("{} {} -> {} serial {serial}", r.method, r.url, r.status)
        })
        .collect();
    assert!(
        !sandbox.path("errored.tfstate").exists(),
        "[{label}] terraform could not save its state:\n{output}\n{writes:#?}"
    );
    let Some(state) = sandbox.remote_state("dev-alice") else {
        // Stopped before anything was written: cleanly absent.
        return false;
    };
    let resources = state["resources"].as_array().cloned().unwrap_or_default();
    let slow: Vec<_> = resources
        .iter()
        .filter(|r| r["type"] == "terraform_data" && r["name"] == "slow")
        .collect();
    assert!(slow.len() <= 1, "[{label}] {state}");
    if let Some(resource) = slow.first() {
        let instances = resource["instances"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(instances.len(), 1, "[{label}] {state}");
        assert!(
            instances[0]["attributes"]["id"].is_string(),
            "[{label}] a torn resource: {state}"
        );
    }
    !slow.is_empty()
}

#[track_caller]
pub fn one_interrupt(label: &str, output: &str) {
    assert!(
        output.contains("Interrupt received"),
        "[{label}] terraform was never interrupted:\n{output}"
    );
    assert!(
        !output.contains("Two interrupts received"),
        "[{label}] terraform got the interrupt twice:\n{output}"
    );
}

/// A state that exists already (on a terminal, creating one is confirmed by typing `yes`).
pub fn existing_state(sandbox: &Sandbox) {
    sandbox.gitlab.put_state(
        "42",
        "dev-alice",
        br#"{"version":4,"terraform_version":"1.11.4","serial":1,"lineage":"tfw-test","outputs":{},"resources":[]}"#,
    );
}

/// `tfw apply --auto-approve` on a terminal, against an existing state.
pub fn pty(sandbox: &Sandbox) -> expectrl::session::OsSession {
    existing_state(sandbox);
    let mut session = expectrl::Session::spawn(sandbox.tfw(&["apply", "--auto-approve"]).command)
        .expect("spawn in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(240)));
    session
}

pub fn rest_and_status(mut session: expectrl::session::OsSession) -> (String, i32) {
    let mut output = Vec::new();
    let _ = std::io::Read::read_to_end(&mut session, &mut output);
    let status = session.get_process().wait().unwrap();
    let code = match status {
        expectrl::process::unix::WaitStatus::Exited(_, code) => code,
        other => panic!("tfw did not exit: {other:?}"),
    };
    (String::from_utf8_lossy(&output).into_owned(), code)
}

/// After a hard stop: the provisioner's sleep it may leave behind is ended (the test's own),
/// then tfw's words about the lock must match the server, and the command they name releases
/// a lock left behind.
#[track_caller]
pub fn what_is_left(sandbox: &Sandbox, output: &str) {
    // A hard stop may leave the provisioner's sleep behind: the test's own, ended here.
    for pid in running_in(sandbox.dir.path()) {
        kill(pid.parse().unwrap(), libc::SIGKILL);
    }
    wait_until_nothing_runs(sandbox);
    match sandbox.gitlab.lock("42", "dev-alice") {
        Some(lock) => {
            assert_eq!(lock["Who"], "alice");
            assert!(
                output.contains("GitLab shows the state still locked by alice")
                    && output.contains("`tfw state unlock dev-alice`"),
                "{output}"
            );
            sandbox
                .tfw(&["state", "unlock", "dev-alice"])
                .run()
                .success();
            assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
        }
        None => assert!(
            output.contains("GitLab shows the state unlocked"),
            "{output}"
        ),
    }
}

/// Watches tfw (`pid`) until it has exited; then returns the terraform processes still
/// running in the sandbox (none: tfw waited for terraform).
pub fn terraform_ran_past(sandbox: &Sandbox, pid: i32) -> std::thread::JoinHandle<Vec<String>> {
    let dir = sandbox.dir.path().to_path_buf();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(240);
        // Exited: a zombie until the test reaps it, or reaped already.
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        }) {
            assert!(Instant::now() < deadline, "tfw never exited");
            std::thread::sleep(Duration::from_millis(5));
        }
        running_in(&dir)
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|comm| comm.trim() == "terraform")
            })
            .collect()
    })
}
