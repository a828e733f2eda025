//! Starting terraform: the environment overlay (the only way the token reaches it), signals
//! (`signals`: terraform in a session of its own, exactly one graceful interrupt whoever stops
//! tfw), and output that is passed through line by line with secrets masked (`output`: through
//! a file that outlives tfw), so tfw can read the plan summary or a lock error from what
//! terraform printed anyway (no second run).

mod advice;
mod child;
mod output;
pub(crate) mod signals;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use output::Sink;
pub(crate) use output::strip_ansi;

use crate::exit::ExitCode;
use crate::printer::Printer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// terraform writes straight to the terminal (interactive `exec`).
    Inherit,
    /// tfw copies every line through, masked, and keeps a copy to read.
    Tee,
    /// stdout is kept for tfw (DOT, JSON), stderr is passed through.
    CaptureStdout,
}

#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub code: i32,
    /// tfw received SIGINT/SIGTERM/SIGHUP while terraform ran, or before it had shown all
    /// terraform printed.
    pub interrupted: bool,
    /// The first signal tfw received while terraform ran (when `interrupted`).
    pub interrupt: i32,
    /// terraform did not exit but died from this signal (a crash, an OOM kill, kill -9).
    pub killed_by: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub(crate) fn success(&self) -> bool {
        self.code == 0 && !self.interrupted
    }

    /// The exit code tfw should end with: terraform's own, 128+n on death by signal, and
    /// 128+n when tfw itself was stopped by signal n (130 for Ctrl-C, 143 for SIGTERM), as a
    /// shell reports it.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::Passed(match (self.interrupted, self.interrupt) {
            (true, 0) => 130,
            (true, signal) => 128 + signal,
            (false, _) => self.code,
        })
    }
}

pub(crate) struct Run<'a> {
    pub program: &'a Path,
    pub args: Vec<OsString>,
    pub dir: &'a Path,
    pub env: &'a BTreeMap<String, String>,
    pub output: Output,
    /// `tfw` or `tfw --state NAME`: terraform's advice shown is rewritten to it.
    pub tfw: String,
    /// Told terraform's pid once it runs (the run lock's record names it).
    pub started: fn(u32),
}

impl Run<'_> {
    pub(crate) fn execute(self, printer: &Printer) -> Result<Outcome> {
        signals::install();
        printer.debug(&format!(
            "running {} {} in {}",
            self.program.display(),
            self.args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            self.dir.display()
        ));
        // Secret keys are hidden by name; every other value is shown, through the printer's
        // masking, so a token under an innocent key stays hidden too.
        for (key, value) in self.env {
            let shown = if crate::settings::is_secret_key(key) {
                "****"
            } else {
                value
            };
            printer.debug(&format!("  env {key}={shown}"));
        }
        let mut command = Command::new(self.program);
        command
            .args(&self.args)
            .current_dir(self.dir)
            .envs(self.env);
        child::prepare(&mut command, self.program, &self.args, self.env)
            .map_err(|err| cannot_start(self.program, &err))?;
        let stdout_buf = Arc::new(Mutex::new(String::new()));
        let stderr_buf = Arc::new(Mutex::new(String::new()));
        let sink = |buffer: &Arc<Mutex<String>>, echo: bool, to_stderr: bool| Sink {
            buffer: Arc::clone(buffer),
            printer: printer.clone(),
            echo,
            to_stderr,
            advice: std::cell::RefCell::new(advice::Advice::new(self.tfw.clone())),
        };
        let sinks = match self.output {
            Output::Inherit => None,
            Output::Tee => Some((
                sink(&stdout_buf, true, false),
                sink(&stderr_buf, true, true),
            )),
            Output::CaptureStdout => Some((
                sink(&stdout_buf, false, false),
                sink(&stderr_buf, true, true),
            )),
        };
        let files = match &sinks {
            Some(_) => match (
                output::capture_file(self.dir),
                output::capture_file(self.dir),
            ) {
                (Some((out, child_out)), Some((err, child_err))) => {
                    command.stdout(child_out).stderr(child_err);
                    Some((out, err))
                }
                _ => {
                    printer.debug("cannot write to `.tfw/`: terraform's output goes through pipes");
                    command.stdout(Stdio::piped()).stderr(Stdio::piped());
                    None
                }
            },
            None => None,
        };
        // From here until all terraform printed is shown, a signal with no terraform running
        // waits (it would cut terraform's last lines), then counts as an interrupt.
        let held = signals::hold();
        signals::starting();
        let spawned = command.spawn();
        // The child's copies of the files are not tfw's to keep open.
        drop(command);
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => {
                signals::finished();
                return Err(cannot_start(self.program, &err).into());
            }
        };
        signals::started(child.id() as i32);
        (self.started)(child.id());

        let done = Arc::new(AtomicBool::new(false));
        let mut readers = Vec::new();
        let mut piped = Vec::new();
        if let Some((out_sink, err_sink)) = sinks {
            match files {
                Some((out, err)) => {
                    readers.push(output::follow(out, out_sink, Arc::clone(&done)));
                    readers.push(output::follow(err, err_sink, Arc::clone(&done)));
                }
                None => {
                    if let Some(out) = child.stdout.take() {
                        piped.push(output::pump(out, out_sink));
                    }
                    if let Some(err) = child.stderr.take() {
                        piped.push(output::pump(err, err_sink));
                    }
                }
            }
        }
        // Exited, not yet reaped: the signal thread cannot signal another process by its pid.
        exited(child.id());
        let (mut interrupted, mut interrupt) = signals::finished();
        let status = child.wait();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        output::wake(&readers);
        for reader in readers {
            let _ = reader.join();
        }
        output::finish(piped, printer);
        crate::modes::protect_after_terraform(self.dir);
        if let Some(signal) = held.release()
            && !interrupted
        {
            (interrupted, interrupt) = (true, signal);
        }
        let status = status.context("waiting for terraform failed")?;
        let killed_by = {
            use std::os::unix::process::ExitStatusExt;
            status.signal()
        };
        let code = status.code().unwrap_or(128 + killed_by.unwrap_or(0));
        let take = |buf: Arc<Mutex<String>>| std::mem::take(&mut *buf.lock().unwrap());
        Ok(Outcome {
            code,
            interrupted,
            interrupt,
            killed_by,
            stdout: take(stdout_buf),
            stderr: take(stderr_buf),
        })
    }
}

/// Waits until terraform has exited, leaving it to be reaped.
fn exited(pid: u32) {
    loop {
        // SAFETY: waitid(2) with WNOWAIT on tfw's own child only reads its status.
        let answer = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT)
        };
        if answer == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            return;
        }
    }
}

/// The binary was found and is executable, yet the kernel would not run it: say why in terms
/// of what to fix (the file, its `#!` line, TFW_BINARY), not only errno.
fn cannot_start(program: &Path, err: &std::io::Error) -> crate::problem::Problem {
    let shown = program.display();
    let hint = match err.raw_os_error() {
        Some(libc::ENOEXEC) => format!(
            "`{shown}` is not a program this machine can run (another CPU architecture, or a script without a `#!` line); point TFW_BINARY at a terraform or tofu binary"
        ),
        Some(libc::ENOENT) => format!(
            "`{shown}` exists, but what it needs to start does not: the interpreter on its `#!` line, or its loader; reinstall it or point TFW_BINARY elsewhere"
        ),
        Some(libc::EACCES) => {
            format!("run `chmod +x {shown}`, or point TFW_BINARY at a terraform or tofu binary")
        }
        _ => format!(
            "check that `{shown}` is a terraform or tofu binary for this machine (TFW_BINARY chooses another)"
        ),
    };
    crate::problem::Problem::error(format!("cannot start `{shown}`: {err}")).hint(hint)
}
