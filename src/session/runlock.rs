//! The run lock: one tfw at a time in a working directory (`flock` on `.tfw/run.lock`,
//! released by the kernel even on kill -9). Two runs in one checkout share `.terraform/` and
//! `.tfw/plans/`: one re-initialised under the other, or withdrew the plan the other was
//! about to apply (found by tests/concurrency.rs). GitLab's lock only orders runs on a state;
//! this orders them in a directory. The file also says who holds it (command, PID, state), so
//! `tfw state unlock` can tell a GitLab lock a live tfw here holds from one a dead run left.
//! It names the terraform the run started, too: a tfw killed mid-apply (kill -9, a CI
//! runner's SIGKILL after its grace period) leaves terraform running in its own session, and
//! the kernel frees the `flock` with tfw; the next tfw here used to find the directory free
//! and `tfw state unlock` released that apply's own lock under it.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use anyhow::Result;

use crate::context::Context;
use crate::problem::Problem;

/// Held from the first acquisition until tfw exits.
static HELD: OnceLock<File> = OnceLock::new();
/// The record last written (masked), to which the running terraform is added.
static RECORD: Mutex<String> = Mutex::new(String::new());

/// Who holds a directory's run lock, as its record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    /// `tfw apply --auto-approve (pid 4242)`, masked.
    pub note: String,
    pub pid: Option<u32>,
    pub state: Option<String>,
    /// The terraform the holder started (pid, start time): `pid` when the holder is gone.
    pub terraform: Option<(u32, u64)>,
}

impl Holder {
    fn parse(text: &str) -> Self {
        let mut lines = text.lines();
        let note = lines.next().unwrap_or_default().trim().to_string();
        let (mut pid, mut state, mut terraform) = (None, None, None);
        for line in lines {
            if let Some(value) = line.strip_prefix("pid=") {
                pid = value.trim().parse().ok();
            } else if let Some(value) = line.strip_prefix("state=") {
                state = Some(value.to_string()).filter(|s| !s.is_empty());
            } else if let Some((p, start)) = line
                .strip_prefix("terraform=")
                .and_then(|value| value.split_once(' '))
            {
                terraform = p.parse().ok().zip(start.trim().parse().ok());
            }
        }
        Self {
            note,
            pid,
            state,
            terraform,
        }
    }

    /// The holder as people read it: "`tfw apply (pid 4242)`", or "another tfw".
    pub(crate) fn describe(&self) -> String {
        if let Some(pid) = self.orphan() {
            return format!(
                "terraform (pid {pid}), which `{}` started before it was killed,",
                self.note
            );
        }
        if self.note.is_empty() {
            "another tfw".to_string()
        } else {
            format!("`{}`", self.note)
        }
    }

    /// The pid of the terraform a killed tfw left running, when that is what holds the
    /// directory.
    pub(crate) fn orphan(&self) -> Option<u32> {
        self.terraform
            .map(|(pid, _)| pid)
            .filter(|pid| self.pid == Some(*pid))
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
    if let Some(left) = left_running(&mut file) {
        // Dropping the file releases the `flock`: the directory stays the terraform's.
        return Some(left);
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

/// The previous holder's terraform, if it still runs (the same pid and start time: a pid
/// reused since is another process), as the holder.
fn left_running(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind()
        .and_then(|()| file.read_to_string(&mut text))
        .ok()?;
    let mut holder = Holder::parse(&text);
    let (pid, start) = holder.terraform?;
    if started_at(pid) != Some(start) {
        return None;
    }
    holder.pid = Some(pid);
    Some(holder)
}

/// When process `pid` started (clock ticks since boot), from `/proc/PID/stat`.
fn started_at(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which may hold spaces and parentheses: the state is
    // the 3rd field, the start time the 22nd.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// terraform now runs as `pid` for the run holding the lock: the record names it.
pub(crate) fn terraform_started(pid: u32) {
    let (Some(file), Some(start)) = (HELD.get(), started_at(pid)) else {
        return;
    };
    let record = RECORD.lock().unwrap_or_else(|e| e.into_inner()).clone();
    rewrite(file, &format!("{record}terraform={pid} {start}\n"));
}

fn rewrite(mut file: &File, text: &str) {
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()));
}

fn write_record(ctx: &Context, file: &File, state: Option<&str>) {
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
    let record = ctx.printer.mask(&record).into_owned();
    rewrite(file, &record);
    *RECORD.lock().unwrap_or_else(|e| e.into_inner()) = record;
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
    fn names_the_terraform_a_killed_tfw_left_running() {
        let text = "tfw apply (pid 12)\npid=12\nstate=prod\nterraform=13 4567\n";
        let mut holder = Holder::parse(text);
        assert_eq!(holder.terraform, Some((13, 4567)));
        // tfw itself holds the lock: described as usual.
        assert_eq!(holder.orphan(), None);
        assert_eq!(holder.describe(), "`tfw apply (pid 12)`");
        holder.pid = Some(13);
        assert_eq!(holder.orphan(), Some(13));
        assert!(
            holder
                .describe()
                .starts_with("terraform (pid 13), which `tfw apply (pid 12)`")
        );
        let me = std::process::id();
        assert!(started_at(me).is_some());
        assert_eq!(started_at(u32::MAX), None);
    }

    #[test]
    fn this_process_is_alive() {
        let me = Holder::parse(&format!("x\npid={}\n", std::process::id()));
        assert!(me.alive());
    }
}
