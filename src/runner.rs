//! Starting terraform: the environment overlay (the only way the token reaches it), signals,
//! and output that is passed through line by line with secrets masked, so tfw can read the
//! plan summary or a lock error from what terraform printed anyway (no second run).
//!
//! Signals: a Ctrl-C on the terminal reaches the whole foreground process group, terraform
//! included, and terraform then stops gracefully and releases its lock. Sending it a second
//! SIGINT would turn that into a hard stop that leaves the lock behind, so tfw ignores a
//! SIGINT that came from the terminal and only waits. A SIGINT sent to tfw alone by another
//! process (`kill -INT`, a CI runner) is forwarded once. SIGTERM and SIGHUP are forwarded.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;

use crate::printer::Printer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// terraform writes straight to the terminal (interactive `exec`).
    Inherit,
    /// tfw copies every line through, masked, and keeps a copy to read.
    Tee,
    /// stdout is kept for tfw (DOT, JSON), stderr is passed through.
    CaptureStdout,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub code: i32,
    /// tfw received SIGINT/SIGTERM while terraform ran.
    pub interrupted: bool,
    /// The first signal tfw received while terraform ran (when `interrupted`).
    pub interrupt: i32,
    /// terraform did not exit but died from this signal (a crash, an OOM kill, kill -9).
    pub killed_by: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.code == 0 && !self.interrupted
    }

    /// The exit code tfw should end with: terraform's own, 128+n on death by signal, and
    /// 128+n when tfw itself was stopped by signal n (130 for Ctrl-C, 143 for SIGTERM), as a
    /// shell reports it.
    pub fn exit_code(&self) -> i32 {
        match (self.interrupted, self.interrupt) {
            (true, 0) => 130,
            (true, signal) => 128 + signal,
            (false, _) => self.code,
        }
    }
}

static CHILD: AtomicI32 = AtomicI32::new(0);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static INTERRUPT: AtomicI32 = AtomicI32::new(0);
static FORWARDED_INT: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

fn install_signal_handler() {
    HANDLER.call_once(|| {
        let Ok(mut signals) = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            for info in signals.forever() {
                let child = CHILD.load(Ordering::SeqCst);
                if child == 0 {
                    // No terraform running (a prompt, an API call): stop as the shell expects.
                    let _ = console::Term::stderr().show_cursor();
                    std::process::exit(128 + info.signal);
                }
                INTERRUPTED.store(true, Ordering::SeqCst);
                let _ =
                    INTERRUPT.compare_exchange(0, info.signal, Ordering::SeqCst, Ordering::SeqCst);
                let from_process = info.process.is_some();
                let forward = match info.signal {
                    SIGINT => from_process && !FORWARDED_INT.swap(true, Ordering::SeqCst),
                    _ => true,
                };
                if forward {
                    // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
                    unsafe {
                        libc::kill(child, info.signal);
                    }
                }
            }
        });
    });
}

pub struct Run<'a> {
    pub program: &'a Path,
    pub args: Vec<OsString>,
    pub dir: &'a Path,
    pub env: &'a BTreeMap<String, String>,
    pub output: Output,
}

impl Run<'_> {
    pub fn execute(self, printer: &Printer) -> Result<Outcome> {
        install_signal_handler();
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
        // terraform's update check is a network call on every run; tfw's users get it from
        // their own shell settings, not from tfw.
        match self.output {
            Output::Inherit => {}
            Output::Tee => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            Output::CaptureStdout => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
        }
        INTERRUPTED.store(false, Ordering::SeqCst);
        INTERRUPT.store(0, Ordering::SeqCst);
        FORWARDED_INT.store(false, Ordering::SeqCst);
        let mut child = command
            .spawn()
            .map_err(|err| cannot_start(self.program, &err))?;
        CHILD.store(child.id() as i32, Ordering::SeqCst);

        let stdout_buf = Arc::new(Mutex::new(String::new()));
        let stderr_buf = Arc::new(Mutex::new(String::new()));
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            let echo = self.output == Output::Tee;
            pumps.push(pump(
                out,
                Arc::clone(&stdout_buf),
                printer.clone(),
                echo,
                false,
            ));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(pump(
                err,
                Arc::clone(&stderr_buf),
                printer.clone(),
                true,
                true,
            ));
        }
        let status = child.wait();
        CHILD.store(0, Ordering::SeqCst);
        finish(pumps, printer);
        let status = status.context("waiting for terraform failed")?;
        let killed_by = {
            use std::os::unix::process::ExitStatusExt;
            status.signal()
        };
        let code = status.code().unwrap_or(128 + killed_by.unwrap_or(0));
        let take = |buf: Arc<Mutex<String>>| std::mem::take(&mut *buf.lock().unwrap());
        Ok(Outcome {
            code,
            interrupted: INTERRUPTED.load(Ordering::SeqCst),
            interrupt: INTERRUPT.load(Ordering::SeqCst),
            killed_by,
            stdout: take(stdout_buf),
            stderr: take(stderr_buf),
        })
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

/// Waits for the output threads to reach the end of terraform's output. Something terraform
/// started can outlive it and keep the pipes open (a `local-exec` daemon, or a terraform that
/// a wrapper left behind when it crashed; found by tests/engine_faults.rs): once terraform has
/// exited, its output gets a few seconds to drain, then tfw goes on without the rest.
fn finish(pumps: Vec<std::thread::JoinHandle<()>>, printer: &Printer) {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for pump in pumps {
            let _ = pump.join();
        }
        let _ = done.send(());
    });
    if finished
        .recv_timeout(std::time::Duration::from_secs(5))
        .is_err()
    {
        printer.debug(
            "terraform exited, but something it started still holds its output open: not waiting for it",
        );
    }
}

fn pump(
    source: impl Read + Send + 'static,
    buffer: Arc<Mutex<String>>,
    printer: Printer,
    echo: bool,
    to_stderr: bool,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let masked = printer.mask_bytes(&line);
            // Terraform's http backend logs every request at [DEBUG] on stderr (1.0.x):
            // noise for a person, kept with -v.
            let noise = to_stderr && printer.verbose() == 0 && is_http_debug_line(&masked);
            if echo && !noise {
                // Where tfw shows no colour (CI, logs, NO_COLOR), terraform's neither: `-no-color`
                // is passed where terraform takes it, and this catches whatever still has some.
                let plain;
                let shown: &[u8] = if !printer.color() && masked.contains(&0x1b) {
                    plain = strip_ansi(&String::from_utf8_lossy(&masked));
                    plain.as_bytes()
                } else {
                    &masked
                };
                // A closed terminal (e.g. `tfw plan | head`) must not stop terraform: keep
                // reading so it never blocks on a full pipe.
                let _ = if to_stderr {
                    std::io::stderr().lock().write_all(shown)
                } else {
                    let mut out = std::io::stdout().lock();
                    out.write_all(shown).and_then(|()| out.flush())
                };
            }
            buffer
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&masked));
        }
    })
}

fn is_http_debug_line(line: &[u8]) -> bool {
    line.len() > 20 && line[4] == b'/' && line[7] == b'/' && line[19..].starts_with(b" [DEBUG] ")
}

/// Removes ANSI escape sequences (terraform colours its output unless told not to).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_http_debug_lines() {
        assert!(is_http_debug_line(
            b"2026/11/22 03:01:44 [DEBUG] GET http://x\n"
        ));
        assert!(!is_http_debug_line(b"Error: something\n"));
    }

    #[test]
    fn strips_colour() {
        assert_eq!(
            strip_ansi("\u{1b}[1mPlan:\u{1b}[0m 1 to add"),
            "Plan: 1 to add"
        );
    }
}
