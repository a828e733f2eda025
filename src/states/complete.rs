//! State names for shell completion (`tfw complete-states`, called by the scripts of `tfw
//! completions` on every TAB). A TAB must never hang the shell on a slow GitLab, nor print
//! errors into the command line being typed: the names come from a cache in
//! `.tfw/complete-states.json` (0600, like everything in `.tfw/`). A cache younger than
//! [`FRESH`] is the answer. An older one is the answer too, and a detached `tfw
//! complete-states --refresh` renews it in the background. Without a cache GitLab is asked,
//! but the answer waited for is at most [`WAIT`]: past that the completion is empty, and the
//! refresh goes on in the background for the next TAB.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::backend::gitlab::Client;
use crate::cli::CompleteStatesArgs;
use crate::context::Context;
use crate::exit::ExitCode;

/// How long cached names are the answer without asking GitLab again.
const FRESH: Duration = Duration::from_secs(10);
/// The longest a completion waits for GitLab (tfw's own start-up comes on top, well within
/// the 300 ms a TAB may take).
const WAIT: Duration = Duration::from_millis(200);
/// How long the background refresh waits for GitLab at most.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Serialize, Deserialize)]
struct Cached {
    /// The project's state address base: another project or GitLab is another cache.
    base: String,
    /// Seconds since the epoch when GitLab answered.
    at: u64,
    names: Vec<String>,
}

/// Any problem means no output and exit 0.
pub(crate) fn run(ctx: &Context, args: &CompleteStatesArgs) -> Result<ExitCode> {
    let (Some(backend), _) = ctx.settings.backend() else {
        return Ok(ExitCode::Success);
    };
    let path = cache_file(ctx);
    if args.refresh {
        refresh(&path, &backend);
        return Ok(ExitCode::Success);
    }
    let cached = read(&path).filter(|c| c.base == backend.base);
    if let Some(cached) = &cached {
        print(ctx, &cached.names);
        if age(cached) >= FRESH {
            spawn_refresh(ctx);
        }
        return Ok(ExitCode::Success);
    }
    // No cache: ask, but wait only so long.
    let (tx, rx) = mpsc::channel();
    let asking = backend.clone();
    std::thread::spawn(move || {
        let _ = tx.send(fetch(&asking, asking.net.timeout));
    });
    match rx.recv_timeout(WAIT) {
        Ok(Some(names)) => {
            write(&path, &backend, &names);
            print(ctx, &names);
        }
        Ok(None) => {}
        Err(_) => spawn_refresh(ctx),
    }
    Ok(ExitCode::Success)
}

fn cache_file(ctx: &Context) -> PathBuf {
    crate::layout::completion_cache(ctx.dir())
}

/// The names GitLab lists, sorted, without states being deleted (they cannot be used).
fn fetch(backend: &Backend, timeout: Duration) -> Option<Vec<String>> {
    let states = Client::with_timeout(backend, timeout).list_states().ok()?;
    let mut names: Vec<String> = states
        .into_iter()
        .filter(|s| s.deleted_at.is_none())
        .map(|s| s.name)
        .collect();
    names.sort();
    Some(names)
}

/// The background refresh: one at a time per directory (a `flock`), silent.
fn refresh(path: &Path, backend: &Backend) {
    let Some(dir) = path.parent() else { return };
    if crate::fsutil::private_dir(dir).is_err() {
        return;
    }
    let Ok(lock) = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("complete-states.lock"))
    else {
        return;
    };
    crate::fsutil::narrow(&dir.join("complete-states.lock"), 0o600);
    // SAFETY: flock(2) on a descriptor this function owns; released when it closes.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return;
    }
    if let Some(names) = fetch(backend, backend.net.timeout.min(REFRESH_TIMEOUT)) {
        write(path, backend, &names);
    }
}

/// `tfw -C DIR complete-states --refresh`, detached: its own session, no terminal, nothing
/// inherited to print to; the completion does not wait for it.
fn spawn_refresh(ctx: &Context) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = Command::new(exe);
    command.arg("-C").arg(ctx.dir());
    if let Some(env_file) = env_file_flag(ctx) {
        command.arg("--env-file").arg(env_file);
    }
    command
        .args(["complete-states", "--refresh"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid(2) is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    // Not waited for: it outlives this process, and init reaps it.
    let _ = command.spawn();
}

/// The `--env-file` this completion was given, when it was not the default `.env`.
fn env_file_flag(ctx: &Context) -> Option<&Path> {
    let file = &ctx.settings.env_file;
    (file != &ctx.dir().join(".env")).then_some(file.as_path())
}

fn read(path: &Path) -> Option<Cached> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write(path: &Path, backend: &Backend, names: &[String]) {
    let cached = Cached {
        base: backend.base.clone(),
        at: now(),
        names: names.to_vec(),
    };
    if let Some(dir) = path.parent()
        && crate::fsutil::private_dir(dir).is_ok()
        && let Ok(bytes) = serde_json::to_vec(&cached)
    {
        let _ = crate::fsutil::write_atomic_unflushed(path, &bytes, 0o600);
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn age(cached: &Cached) -> Duration {
    Duration::from_secs(now().saturating_sub(cached.at))
}

/// One name a line; a closed stdout (the shell gave up) is no error for a completion.
fn print(ctx: &Context, names: &[String]) {
    let _ = ctx.printer.lines(names);
}
