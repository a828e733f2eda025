//! Test helpers shared by every integration test: a sandbox (temporary repository + its own
//! GitLab test server + an isolated HOME and PATH holding the real test Terraform) and a
//! builder that runs the real `tfw` binary in it, never waiting forever.
#![allow(dead_code)]

pub mod client;
pub mod gitlab;
pub mod slow_apply;
pub mod tty;

use std::cell::Cell;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gitlab::GitLab;

pub const TFW: &str = env!("CARGO_BIN_EXE_tfw");

/// The real Terraform (1.0.3 from PyPI), installed once by the project's own script.
pub fn terraform() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("TFW_TEST_TERRAFORM") {
            return PathBuf::from(path);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-terraform");
        let output = Command::new("bash")
            .arg(script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/install-test-terraform");
        assert!(
            output.status.success(),
            "installing the test terraform failed"
        );
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    })
}

pub const MAIN_TF: &str = r#"terraform {
  backend "http" {}
}

variable "greeting" {
  default = "hello"
}

output "greeting" {
  value = var.greeting
}
"#;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
    pub bin: PathBuf,
    pub gitlab: GitLab,
}

impl Sandbox {
    /// An empty repository directory, a running GitLab test server, and `terraform` on PATH.
    pub fn empty() -> Self {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(terraform(), bin.join("terraform")).unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            home,
            bin,
            gitlab: GitLab::start(),
        }
    }

    /// A Terraform root module with `backend "http" {}` and alice's seed-style `.env`.
    pub fn new() -> Self {
        let sandbox = Self::empty();
        sandbox.write("main.tf", MAIN_TF);
        sandbox.seed_env("alice", gitlab::ALICE_TOKEN, "dev-alice");
        sandbox
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        if relative.ends_with(".env") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        self
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    /// The team's old `env.example` format, filled in.
    pub fn seed_env_text(&self, user: &str, token: &str, state: &str) -> String {
        format!(
            "# GitLab username (the token needs read/write rights)\n\
             export TF_HTTP_USERNAME=\"{user}\"\n\
             export TF_STATE_NAME=\"{state}\"\n\
             export TF_HTTP_PASSWORD=\"{token}\"\n\
             export TF_HTTP_ADDRESS=\"{api}/projects/42/terraform/state/${{TF_STATE_NAME}}\"\n\
             export TF_HTTP_LOCK_ADDRESS=\"${{TF_HTTP_ADDRESS}}/lock\"\n\
             export TF_HTTP_UNLOCK_ADDRESS=\"${{TF_HTTP_ADDRESS}}/lock\"\n\
             export AWS_ACCESS_KEY_ID=\"AKIAIOSFODNN7EXAMPLE\"\n\
             export AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY\"\n",
            api = self.gitlab.api_url()
        )
    }

    pub fn seed_env(&self, user: &str, token: &str, state: &str) -> &Self {
        let text = self.seed_env_text(user, token, state);
        self.write(".env", text)
    }

    /// The short form: GITLAB_URL + GITLAB_PROJECT (+ TF_STATE_NAME).
    pub fn short_env(&self, user: &str, token: &str, state: Option<&str>) -> &Self {
        let mut text = format!(
            "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME={user}\nTF_HTTP_PASSWORD={token}\n",
            self.gitlab.url()
        );
        if let Some(state) = state {
            text.push_str(&format!("TF_STATE_NAME={state}\n"));
        }
        self.write(".env", text)
    }

    /// `tfw ARGS` in the sandbox, with an isolated environment.
    pub fn tfw(&self, args: &[&str]) -> Cmd {
        self.tfw_built(Path::new(TFW), args)
    }

    /// As `tfw`, with another build of it (tests/static_build.rs).
    pub fn tfw_built(&self, binary: &Path, args: &[&str]) -> Cmd {
        let mut command = Command::new(binary);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.home.path().join(".cache"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TFW_HTTP_TIMEOUT", "10")
            .env("COLUMNS", "100");
        started_clean(&mut command);
        Cmd {
            command,
            stdin: None,
            timeout: Duration::from_secs(180),
        }
    }

    /// `tfw setup --force` for alice on project 42, unattended, with `token` on stdin.
    pub fn setup_force(&self, token: &str) -> Cmd {
        let url = self.gitlab.url();
        let args = ["setup", "--force", "--token-stdin", "--url", &url];
        self.tfw(&args)
            .args(&["--project", "group/infra", "--username", "alice"])
            .stdin(&format!("{token}\n"))
    }

    /// The latest state stored on the server for project 42, parsed.
    pub fn remote_state(&self, name: &str) -> Option<serde_json::Value> {
        let bytes = self.gitlab.state("42", name)?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Puts a fake binary on PATH (for what a real one cannot show: a crash, a hang, a name).
    pub fn fake_binary(&self, name: &str, script: &str) -> PathBuf {
        let path = self.bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

/// Whatever started the suite (`nohup`, a background job with SIGINT ignored, a CI runner,
/// a umask of 077 or 002), tfw starts as from a fresh login shell: default signal
/// dispositions, an empty signal mask, umask 022.
pub fn started_clean(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            for signal in [
                libc::SIGINT,
                libc::SIGTERM,
                libc::SIGHUP,
                libc::SIGPIPE,
                libc::SIGQUIT,
            ] {
                libc::signal(signal, libc::SIG_DFL);
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            libc::umask(0o022);
            Ok(())
        });
    }
}

pub struct Cmd {
    pub command: Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl Cmd {
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Another umask than `started_clean`'s 022 (this hook runs after that one).
    pub fn umask(mut self, mask: u32) -> Self {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask is async-signal-safe.
        unsafe {
            self.command.pre_exec(move || {
                libc::umask(mask as libc::mode_t);
                Ok(())
            });
        }
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.command.args(args);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    pub fn stdin(mut self, input: &str) -> Self {
        self.stdin = Some(input.as_bytes().to_vec());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts tfw without waiting (for signal tests).
    pub fn spawn(mut self) -> std::process::Child {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tfw")
    }

    #[track_caller]
    pub fn run(mut self) -> Out {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("start tfw");
        if let Some(input) = self.stdin.take() {
            let mut stdin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        wait_with_output(child, self.timeout)
    }
}

/// Waits for a child with a deadline: a test that would hang fails instead.
#[track_caller]
pub fn wait_with_output(mut child: std::process::Child, timeout: Duration) -> Out {
    // No stdout to read when the test gave tfw another one (a closed pipe).
    let stdout = child.stdout.take();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut stdout) = stdout {
            let _ = stdout.read_to_end(&mut buf);
        }
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tfw did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Out::new(
        status.code(),
        String::from_utf8_lossy(&out_thread.join().unwrap()).into_owned(),
        String::from_utf8_lossy(&err_thread.join().unwrap()).into_owned(),
    )
}

/// What tfw did, and what the test said about it. Checked by default, as just's `Test` does:
/// when an `Out` is dropped the test must have stated the exit status it expects
/// (`success`, `code`, `failure`, or read it with `status` and judged it), and a panic or an
/// `error:` line on stderr fails the test unless the test looked at stderr (`stderr_has`,
/// `lacks`, `stderr`, `all`) or expected a failure (a panic only when it looked). So a test
/// that forgets to check fails, instead of passing whatever tfw did.
#[derive(Debug)]
pub struct Out {
    code: Option<i32>,
    pub stdout: String,
    stderr: String,
    stated_status: Cell<bool>,
    expected_failure: Cell<bool>,
    looked_at_stderr: Cell<bool>,
    /// Where the test ran tfw, for the message of a check it forgot.
    ran_at: &'static std::panic::Location<'static>,
}

impl Out {
    #[track_caller]
    pub fn new(code: Option<i32>, stdout: String, stderr: String) -> Self {
        Self {
            ran_at: std::panic::Location::caller(),
            code,
            stdout,
            stderr,
            stated_status: Cell::new(false),
            expected_failure: Cell::new(false),
            looked_at_stderr: Cell::new(false),
        }
    }

    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        self.stated_status.set(true);
        self.expected_failure.set(expected != 0);
        assert_eq!(
            self.code,
            Some(expected),
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Self {
        self.code(0)
    }

    /// Any exit but 0 (or death by a signal).
    #[track_caller]
    pub fn failure(&self) -> &Self {
        self.stated_status.set(true);
        self.expected_failure.set(true);
        assert_ne!(
            self.code,
            Some(0),
            "tfw succeeded\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The exit status, for a test that judges it itself (several runs racing).
    pub fn status(&self) -> Option<i32> {
        self.stated_status.set(true);
        self.expected_failure.set(self.code != Some(0));
        self.code
    }

    /// stderr, for a test that reads it itself.
    pub fn stderr(&self) -> &str {
        self.looked_at_stderr.set(true);
        &self.stderr
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        self.looked_at_stderr.set(true);
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stderr\n{}\n--- stdout\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn lacks(&self, needle: &str) -> &Self {
        self.looked_at_stderr.set(true);
        assert!(
            !self.stdout.contains(needle) && !self.stderr.contains(needle),
            "output contains {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn all(&self) -> String {
        self.looked_at_stderr.set(true);
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let shown = format!(
            "tfw ran at {}\n--- stdout\n{}\n--- stderr\n{}",
            self.ran_at, self.stdout, self.stderr
        );
        assert!(
            self.stated_status.get(),
            "the test did not say which exit status it expects (`.success()`, `.code(n)`, `.failure()`); tfw exited {:?}\n{shown}",
            self.code
        );
        if self.looked_at_stderr.get() {
            return;
        }
        let panicked = self.stderr.contains("panicked at");
        let error = self.stderr.lines().any(|line| line.starts_with("error:"));
        assert!(
            !panicked && (!error || self.expected_failure.get()),
            "tfw's stderr has {} the test did not expect (assert on it with `.stderr_has(...)`, or expect a failure)\n{shown}",
            if panicked { "a panic" } else { "an error" }
        );
    }
}

/// git with a fixed identity and no user or system configuration; returns stdout.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every regular file below `dir` (not following links).
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            out.extend(files_below(&path));
        } else if kind.is_file() {
            out.push(path);
        }
    }
    out
}

/// The members of a zip (a saved plan), concatenated: secrets are looked for inside them,
/// not just in the compressed bytes.
pub fn unzipped(path: &Path) -> Vec<u8> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys,zipfile;z=zipfile.ZipFile(sys.argv[1]);sys.stdout.buffer.write(b''.join(z.read(n) for n in z.namelist()))",
        ])
        .arg(path)
        .output()
        .expect("python3 reads zips");
    assert!(output.status.success(), "{} is not a zip", path.display());
    output.stdout
}

/// Copies a folder's files and folders (not symlinks) into `to`, which exists.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
