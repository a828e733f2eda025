//! `tfw --all`: one tfw per root, each a child process running the ordinary single-root
//! command (`tfw -C ROOT plan`), so every root goes through the same session, gate and run
//! lock as when run alone. At most `jobs` at a time; each child's output is kept and printed
//! as one block when it ends (never interleaved), or line by line with the root as prefix
//! (`--stream`).
//!
//! Signals: each child runs in its own process group, so a terminal's Ctrl-C reaches tfw
//! alone, which tells every running child once (SIGINT); each child tells its terraform
//! once, which stops gracefully and releases its lock. A second Ctrl-C is not passed on (it
//! would turn those graceful stops into hard ones); SIGTERM and SIGHUP are. After a signal,
//! or a failure with `--fail-fast`, no new root is started.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::printer::Printer;

pub(crate) struct Job {
    /// The root's path, as printed.
    pub label: String,
    /// tfw's arguments (without the program).
    pub args: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// tfw's exit code for that root (128+n when it died from signal n).
    Exited(i32),
    /// Not started: an interrupt, or `--fail-fast` after a failure.
    Skipped,
}

pub(crate) struct Options {
    pub jobs: usize,
    pub stream: bool,
    /// Stop starting roots once one ends with a code `failed` says is a failure.
    pub fail_fast: bool,
}

/// One line of a child's output, and whether it came on stderr.
type Line = (bool, Vec<u8>);

/// What the pool shares with the signal thread: running children, and whether to go on.
#[derive(Default)]
struct Shared {
    running: Mutex<Vec<u32>>,
    told_to_stop: Mutex<HashSet<u32>>,
    stop: AtomicBool,
    /// The first signal received (0: none).
    signal: AtomicI32,
}

/// Runs every job; returns how each ended (in the jobs' order) and the signal that stopped
/// the run, if one did.
pub(crate) fn run_all(
    jobs: Vec<Job>,
    options: &Options,
    printer: &Printer,
    failed: impl Fn(i32) -> bool + Sync,
) -> Result<(Vec<Ended>, Option<i32>)> {
    let (ended, signal) = pool(jobs, options, printer, failed, false)?;
    Ok((ended.into_iter().map(|(end, _)| end).collect(), signal))
}

/// The same for children whose stdout is data for tfw (a verdict as JSON): returned with
/// how each ended, never printed; their stderr is shown, as a block, only for a child that
/// failed (`--stream` does not apply).
pub(crate) fn capture_all(
    jobs: Vec<Job>,
    options: &Options,
    printer: &Printer,
) -> Result<(Ends, Option<i32>)> {
    pool(jobs, options, printer, |code| code != 0, true)
}

/// How each child ended, with its stdout when it was captured.
pub(crate) type Ends = Vec<(Ended, Vec<u8>)>;

fn pool(
    jobs: Vec<Job>,
    options: &Options,
    printer: &Printer,
    failed: impl Fn(i32) -> bool + Sync,
    capture: bool,
) -> Result<(Ends, Option<i32>)> {
    let program = std::env::current_exe()?;
    // This pool answers signals itself, and must not be cut short by tfw's own handler;
    // until its last child ended (a question asked afterwards is ended by Ctrl-C again).
    let handed_over = crate::runner::signals::hand_over();
    let shared = Arc::new(Shared::default());
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    let watcher = {
        let shared = Arc::clone(&shared);
        let printer = printer.clone();
        std::thread::spawn(move || {
            for signal in signals.forever() {
                forward(&shared, signal, &printer);
            }
        })
    };
    let next = AtomicUsize::new(0);
    let ended: Vec<Mutex<(Ended, Vec<u8>)>> = jobs
        .iter()
        .map(|_| Mutex::new((Ended::Skipped, Vec::new())))
        .collect();
    let stream = options.stream && !capture;
    let out = Mutex::new(());
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1).min(jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(index) else { break };
                    if shared.stop.load(Ordering::SeqCst) {
                        continue;
                    }
                    let mode = Mode { stream, capture };
                    let Some((result, stdout)) =
                        run_one(&program, job, mode, &shared, printer, &out)
                    else {
                        continue;
                    };
                    if options.fail_fast && failed(result) {
                        shared.stop.store(true, Ordering::SeqCst);
                    }
                    *ended[index].lock().unwrap() = (Ended::Exited(result), stdout);
                }
            });
        }
    });
    // Given back before the pool stops listening: a signal in between is not lost.
    drop(handed_over);
    handle.close();
    let _ = watcher.join();
    let signal = match shared.signal.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    };
    Ok((
        ended.into_iter().map(|e| e.into_inner().unwrap()).collect(),
        signal,
    ))
}

fn forward(shared: &Shared, signal: i32, printer: &Printer) {
    let first = shared
        .signal
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    shared.stop.store(true, Ordering::SeqCst);
    let running = shared.running.lock().unwrap().clone();
    let mut told = shared.told_to_stop.lock().unwrap();
    for pid in running {
        // SIGINT once per child: a second one would make its terraform stop hard.
        if signal == SIGINT && !told.insert(pid) {
            continue;
        }
        // The child tfw only, not its process group: it passes the signal on to its terraform
        // once, and a copy sent to the group as well would be terraform's second.
        // SAFETY: kill(2) on a child we spawned; `run_one` drops it from `running` as soon
        // as it has been waited for.
        unsafe {
            libc::kill(pid as i32, signal);
        }
    }
    if first {
        printer.warning(
            "stopping: every running root was told once to stop, so its terraform can release its lock; no new root starts",
        );
    }
}

/// How a child's output is handled: streamed with its root as prefix, or kept and printed
/// as one block; with `capture`, its stdout is returned instead of printed.
#[derive(Clone, Copy)]
struct Mode {
    stream: bool,
    capture: bool,
}

/// One root: the child tfw, its output kept (or streamed), its exit code and, when
/// captured, its stdout; `None` when the run was stopped before it started.
fn run_one(
    program: &PathBuf,
    job: &Job,
    mode: Mode,
    shared: &Shared,
    printer: &Printer,
    out: &Mutex<()>,
) -> Option<(i32, Vec<u8>)> {
    let Mode { stream, capture } = mode;
    let mut command = Command::new(program);
    command
        .args(&job.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // Registered while still holding the lock, so a signal arriving now reaches it too.
    let mut running = shared.running.lock().unwrap();
    if shared.stop.load(Ordering::SeqCst) {
        return None;
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            drop(running);
            let _guard = out.lock().unwrap();
            printer.error(&format!("{}: cannot start tfw: {err}", job.label));
            return Some((1, Vec::new()));
        }
    };
    let pid = child.id();
    running.push(pid);
    drop(running);
    let lines: Arc<Mutex<Vec<Line>>> = Arc::default();
    let mut readers = Vec::new();
    for (is_err, pipe) in [
        (
            false,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            true,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        let Some(pipe) = pipe else { continue };
        let lines = Arc::clone(&lines);
        let printer = printer.clone();
        let label = job.label.clone();
        readers.push(std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let masked = printer.mask_bytes(&line);
                if stream {
                    let mut text = format!("{label} | ").into_bytes();
                    text.extend_from_slice(&masked);
                    if !text.ends_with(b"\n") {
                        text.push(b'\n');
                    }
                    write(is_err, &text);
                } else {
                    lines.lock().unwrap().push((is_err, masked.to_vec()));
                }
                line.clear();
            }
        }));
    }
    let status = child.wait();
    shared.running.lock().unwrap().retain(|p| *p != pid);
    for reader in readers {
        let _ = reader.join();
    }
    let code = match status {
        Ok(status) => status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        Err(_) => 1,
    };
    let lines = std::mem::take(&mut *lines.lock().unwrap());
    if capture {
        let (stdout, stderr): (Vec<Line>, Vec<Line>) =
            lines.into_iter().partition(|(is_err, _)| !is_err);
        if code != 0 {
            print_block(&job.label, &stderr, out);
        }
        return Some((code, stdout.into_iter().flat_map(|(_, l)| l).collect()));
    }
    if !stream {
        print_block(&job.label, &lines, out);
    }
    Some((code, Vec::new()))
}

/// A child's output as one block under its root's name, never interleaved with another's.
fn print_block(label: &str, lines: &[Line], out: &Mutex<()>) {
    let _guard = out.lock().unwrap();
    write(true, format!("\n==> {label}\n").as_bytes());
    for (is_err, line) in lines {
        write(*is_err, line);
    }
}

/// A closed terminal must not stop the run: write errors are ignored.
fn write(to_stderr: bool, bytes: &[u8]) {
    let _ = if to_stderr {
        std::io::stderr().lock().write_all(bytes)
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes).and_then(|()| out.flush())
    };
}
