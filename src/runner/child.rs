//! How terraform's process starts: in a session of its own (see `signals`), as one process
//! (`TF_FORK=0`), with the signal dispositions and mask of a freshly started program
//! whatever tfw inherited (`nohup`, a background job's ignored SIGINT, a test harness), and
//! by `execve` itself. A setup step
//! between fork and exec makes the standard library fork and call `execvp`, which runs a
//! file the kernel refuses (ENOEXEC: a truncated binary, another architecture) as a shell
//! script ("ELF: not found", exit 127) instead of saying it cannot be run.

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Everything `execve` needs, built before the fork (no allocation may happen after it).
struct Exec {
    program: CString,
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

// SAFETY: the pointers point into `_strings`, owned by the same value and never changed.
unsafe impl Send for Exec {}
// SAFETY: as above; nothing mutates through the pointers.
unsafe impl Sync for Exec {}

fn c_string(bytes: &[u8]) -> std::io::Result<CString> {
    CString::new(bytes).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
}

/// Makes `command` start terraform as described above. `env` is the overlay on tfw's own
/// environment, as `Command::envs` would apply it.
pub(super) fn prepare(
    command: &mut Command,
    program: &Path,
    args: &[OsString],
    env: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let program = if program.is_absolute() {
        program.to_path_buf()
    } else {
        std::env::current_dir()?.join(program)
    };
    let mut merged: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    for (key, value) in env {
        merged.insert(key.into(), value.into());
    }
    // terraform 1.0 otherwise runs as two processes: a panic-catching parent that ignores
    // SIGINT, and the real one. One process is the one tfw's interrupt reaches; a panic is
    // then printed on stderr (tfw reports it) rather than in `crash.log`.
    merged
        .entry(OsString::from("TF_FORK"))
        .or_insert_with(|| OsString::from("0"));
    let mut strings = Vec::new();
    strings.push(c_string(program.as_os_str().as_bytes())?);
    for arg in args {
        strings.push(c_string(arg.as_bytes())?);
    }
    let argc = strings.len();
    for (key, value) in &merged {
        let mut pair = key.as_bytes().to_vec();
        pair.push(b'=');
        pair.extend_from_slice(OsStr::new(value).as_bytes());
        strings.push(c_string(&pair)?);
    }
    let pointers: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    let mut argv = pointers[..argc].to_vec();
    argv.push(std::ptr::null());
    let mut envp = pointers[argc..].to_vec();
    envp.push(std::ptr::null());
    let exec = Exec {
        program: c_string(program.as_os_str().as_bytes())?,
        _strings: strings,
        argv,
        envp,
    };
    // SAFETY: the closure makes only async-signal-safe calls (setsid, signal, sigprocmask,
    // execve) on memory allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            // The whole value, not its fields one by one: only `Exec` is Send and Sync.
            let exec = &exec;
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            reset_dispositions();
            libc::execve(
                exec.program.as_ptr(),
                exec.argv.as_ptr(),
                exec.envp.as_ptr(),
            );
            Err(std::io::Error::last_os_error())
        });
    }
    Ok(())
}

/// Default dispositions for the signals that stop a program, and an empty signal mask.
///
/// # Safety
/// Only between fork and exec.
unsafe fn reset_dispositions() {
    // SAFETY: as the caller promises.
    unsafe {
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
    }
}
