//! The run lock: one tfw at a time in a working directory (`flock` on `.tfw/run.lock`,
//! released by the kernel even on kill -9). Two runs in one checkout share `.terraform/` and
//! `.tfw/plans/`: one re-initialised under the other, or withdrew the plan the other was
//! about to apply (found by tests/concurrency.rs). GitLab's lock only orders runs on a state;
//! this orders them in a directory. The file also says who holds it (command, PID, state), so
//! `tfw state unlock` can tell a GitLab lock a live tfw here holds from one a dead run left.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::Result;

use crate::context::Context;
use crate::problem::Problem;

/// Held from the first acquisition until tfw exits.
static HELD: OnceLock<File> = OnceLock::new();

/// Who holds a directory's run lock, as its record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    /// `tfw apply --auto-approve (pid 4242)`, masked.
    pub note: String,
    pub pid: Option<u32>,
    pub state: Option<String>,
}

impl Holder {
    fn parse(text: &str) -> Self {
        let mut lines = text.lines();
        let note = lines.next().unwrap_or_default().trim().to_string();
        let (mut pid, mut state) = (None, None);
        for line in lines {
            if let Some(value) = line.strip_prefix("pid=") {
                pid = value.trim().parse().ok();
            } else if let Some(value) = line.strip_prefix("state=") {
                state = Some(value.to_string()).filter(|s| !s.is_empty());
            }
        }
        Self { note, pid, state }
    }

    /// The holder as people read it: "`tfw apply (pid 4242)`", or "another tfw".
    pub(crate) fn describe(&self) -> String {
        if self.note.is_empty() {
            "another tfw".to_string()
        } else {
            format!("`{}`", self.note)
        }
    }

    /// Whether its process still runs (a record without a PID counts as running: the
    /// `flock` is what really says the holder is there).
    pub(crate) fn alive(&self) -> bool {
        self.pid.is_none_or(|pid| {
            // SAFETY: signal 0 only asks whether the process exists.
            let answer = unsafe { libc::kill(pid as libc::pid_t, 0) };
            answer == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
        })
    }
}

/// Takes the run lock for `state` (or for no state yet), or says who has it.
pub(crate) fn acquire(ctx: &Context, state: Option<&str>) -> Result<()> {
    match try_acquire(ctx, state) {
        None => Ok(()),
        Some(holder) => Err(busy(&holder).into()),
    }
}

/// The refusal when another tfw holds the lock.
pub(crate) fn busy(holder: &Holder) -> Problem {
    Problem::error(format!(
        "{} is running in this directory; nothing was changed",
        holder.describe()
    ))
    .hint("wait for it to finish: tfw runs one command at a time per directory (they share `.terraform/` and the saved plans)")
}

/// `None` when this process holds the lock now (a directory tfw cannot write to is left
/// unguarded rather than unusable); the holder when another process has it.
pub(crate) fn try_acquire(ctx: &Context, state: Option<&str>) -> Option<Holder> {
    if let Some(file) = HELD.get() {
        // Taken earlier in this run before the state was known.
        if state.is_some() {
            write_record(ctx, file, state);
        }
        return None;
    }
    let mut file = match open(ctx.dir()) {
        Ok(file) => file,
        Err(err) => {
            ctx.printer
                .debug(&format!("no lock on the working directory ({err})"));
            return None;
        }
    };
    // SAFETY: flock(2) on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Some(read_holder(&mut file));
    }
    write_record(ctx, &file, state);
    let _ = HELD.set(file);
    None
}

fn open(root: &Path) -> std::io::Result<File> {
    let path = crate::layout::run_lock(root);
    crate::fsutil::no_symlinked_tfw_folder(&path).map_err(std::io::Error::other)?;
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
}

/// The holder writes its record right after taking the lock: give it a moment.
fn read_holder(file: &mut File) -> Holder {
    let mut text = String::new();
    for _ in 0..50 {
        text.clear();
        let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
        if !text.trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Holder::parse(&text)
}

fn write_record(ctx: &Context, mut file: &File, state: Option<&str>) {
    // Lossy: clap refuses such a word today, but a lock record is no reason to panic.
    let args: Vec<String> = crate::startup::command_line()
        .iter()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let pid = std::process::id();
    let record = format!(
        "tfw {} (pid {pid})\npid={pid}\nstate={}\n",
        args.join(" "),
        state.unwrap_or_default()
    );
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(ctx.printer.mask(&record).as_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_record_and_older_ones() {
        let holder = Holder::parse("tfw apply (pid 12)\npid=12\nstate=prod\n");
        assert_eq!(holder.pid, Some(12));
        assert_eq!(holder.state.as_deref(), Some("prod"));
        assert_eq!(holder.describe(), "`tfw apply (pid 12)`");
        // Written by an earlier tfw: one line, no PID, no state.
        let old = Holder::parse("tfw plan (pid 9)\n");
        assert_eq!((old.pid, old.state), (None, None));
        assert_eq!(Holder::parse("").describe(), "another tfw");
    }

    #[test]
    fn this_process_is_alive() {
        let me = Holder::parse(&format!("x\npid={}\n", std::process::id()));
        assert!(me.alive());
    }
}
