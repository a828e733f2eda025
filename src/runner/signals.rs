//! Signals while terraform runs: terraform must get exactly one graceful interrupt, whoever
//! stops tfw and however. terraform starts in a session of its own (its own process group,
//! no controlling terminal), so nothing reaches it but what tfw sends: not a terminal's
//! Ctrl-C or hangup, not a `kill -TERM -PGID` aimed at tfw's group (GNU `timeout`, a CI
//! runner's cancel), which used to reach terraform and tfw at once and so twice ("Two
//! interrupts received", the lock abandoned). tfw turns the first SIGINT, SIGTERM or SIGHUP
//! into one SIGINT to terraform itself: terraform's graceful stop (its SIGHUP kills it, and
//! a SIGINT after a SIGTERM is a second interrupt).
//! After that only a second Ctrl-C from the terminal is passed on: the person's wish to stop
//! hard. A SIGKILL of tfw (a CI runner's after its grace period) leaves terraform running to
//! its end: see docs/security.md.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Once, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;

/// 0: no terraform running; STARTING: being spawned; otherwise its pid.
static CHILD: AtomicI32 = AtomicI32::new(0);
const STARTING: i32 = -1;
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static INTERRUPT: AtomicI32 = AtomicI32::new(0);
static FORWARDED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();
/// Set in the signal handler itself, the moment a stopping signal arrives: a read it
/// interrupted can tell the signal from a key (console reports both as Ctrl-C).
static RECEIVED: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// Another part of tfw handles the signals now (`tfw --all` tells its child tfws).
static HANDED_OVER: AtomicBool = AtomicBool::new(false);

/// From now on tfw's stop is someone else's to handle (`roots::run`, which signals the
/// child tfws it runs and reports): this handler neither exits nor forwards.
pub(crate) fn hand_over() {
    HANDED_OVER.store(true, Ordering::SeqCst);
}

/// Starts handling SIGINT, SIGTERM and SIGHUP, once per process, before anything else runs:
/// tfw stops the same way however it was started (a background job starts with SIGINT
/// ignored). A SIGHUP that was ignored when tfw started (`nohup tfw apply`) stays ignored:
/// the person asked for the run to outlive the terminal.
pub(crate) fn install() {
    HANDLER.call_once(|| {
        let mut wanted = vec![SIGINT, SIGTERM];
        if !ignored(SIGHUP) {
            wanted.push(SIGHUP);
        }
        let received = RECEIVED.get_or_init(|| Arc::new(AtomicBool::new(false)));
        for signal in &wanted {
            let _ = signal_hook::flag::register(*signal, Arc::clone(received));
        }
        let Ok(mut signals) = SignalsInfo::<WithOrigin>::new(wanted) else {
            return;
        };
        std::thread::spawn(move || {
            for info in signals.forever() {
                // A terminal's Ctrl-C or hangup comes from the kernel, not from a process.
                handle(info.signal, info.process.is_none());
            }
        });
    });
}

/// A stopping signal has arrived: its handler is ending tfw (or passing it to terraform).
pub(crate) fn received() -> bool {
    RECEIVED
        .get()
        .is_some_and(|flag| flag.load(Ordering::SeqCst))
}

fn ignored(signal: i32) -> bool {
    // SAFETY: sigaction(2) with a null new action only reads the current one.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

fn handle(signal: i32, from_terminal: bool) {
    if HANDED_OVER.load(Ordering::SeqCst) {
        return;
    }
    let child = CHILD.load(Ordering::SeqCst);
    if child == 0 {
        // No terraform running (a prompt, an API call): stop as the shell expects, with the
        // terminal as it was found (a prompt's echo, the picker's rows, a spinner).
        crate::screen::restore();
        std::process::exit(128 + signal);
    }
    let first = !INTERRUPTED.swap(true, Ordering::SeqCst);
    if first {
        INTERRUPT.store(signal, Ordering::SeqCst);
        forward_once(child);
    } else if signal == SIGINT && from_terminal && child > 0 {
        interrupt(child);
    }
}

/// The one graceful SIGINT, sent by whichever of the signal thread and the spawning thread
/// sees both the interrupt and the pid.
fn forward_once(child: i32) {
    if child > 0 && !FORWARDED.swap(true, Ordering::SeqCst) {
        interrupt(child);
    }
}

/// To terraform alone, not its process group: terraform then stops its plugins and
/// provisioners itself, in order. A SIGINT to the group (as a terminal sends it) also kills a
/// `local-exec` command under terraform's feet, and Terraform 1.11 then sometimes writes the
/// same serial twice, which GitLab refuses (422): the new state ends in `errored.tfstate`
/// (found by tests/interrupts.rs, a few runs in a hundred). terraform 1.0 is two processes
/// unless `TF_FORK=0` (a panic-catching parent that ignores SIGINT): see `child`.
fn interrupt(child: i32) {
    // SAFETY: kill(2) to a child tfw spawned and has not reaped yet (CHILD is cleared first).
    unsafe {
        libc::kill(child, SIGINT);
    }
}

/// terraform is about to be spawned: a signal from now on is held for it.
pub(super) fn starting() {
    INTERRUPTED.store(false, Ordering::SeqCst);
    INTERRUPT.store(0, Ordering::SeqCst);
    FORWARDED.store(false, Ordering::SeqCst);
    CHILD.store(STARTING, Ordering::SeqCst);
}

/// terraform runs as `pid`; a signal that came while it was being spawned is passed on now.
pub(super) fn started(pid: i32) {
    CHILD.store(pid, Ordering::SeqCst);
    if INTERRUPTED.load(Ordering::SeqCst) {
        forward_once(pid);
    }
}

/// terraform was reaped (or never started): whether tfw was interrupted, and by which
/// signal first.
pub(super) fn finished() -> (bool, i32) {
    CHILD.store(0, Ordering::SeqCst);
    (
        INTERRUPTED.load(Ordering::SeqCst),
        INTERRUPT.load(Ordering::SeqCst),
    )
}
