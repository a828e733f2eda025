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
//!
//! With no terraform running, a signal ends tfw at once, except inside a [`hold`]: while tfw
//! holds a GitLab lock of its own, writes a file, or shows what terraform printed last, the
//! signal waits for the hold to end (an exit there left tfw's lock on GitLab, a temporary
//! file behind, or terraform's last lines, its `errored.tfstate` advice among them, unshown).
//! A second Ctrl-C from the terminal still stops at once.
//! Whoever answers signals itself for a while (`tfw --all`, `fleet sync`) takes them over
//! with [`hand_over`], for as long as it keeps what that returns: Ctrl-C at a question asked
//! afterwards ends tfw again.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;

const STARTING: i32 = -1;

/// Everything the signal thread and the rest of tfw share, under one lock: the handler runs
/// on an ordinary thread, and checking for terraform and signalling it must not interleave
/// with terraform being reaped (its pid could be another process's by then).
struct State {
    /// 0: no terraform running; STARTING: being spawned; otherwise its pid, not yet reaped.
    child: i32,
    interrupted: bool,
    /// The first signal while terraform ran.
    interrupt: i32,
    forwarded: bool,
    /// Holds in force, and the first signal that came during them.
    holds: usize,
    pending: i32,
    /// Hand-overs in force.
    handed_over: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    child: 0,
    interrupted: false,
    interrupt: 0,
    forwarded: false,
    holds: 0,
    pending: 0,
    handed_over: 0,
});
static HANDLER: Once = Once::new();
/// Set in the signal handler itself, the moment a stopping signal arrives: a read it
/// interrupted can tell the signal from a key (console reports both as Ctrl-C).
static RECEIVED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// While kept, tfw's stop is someone else's to handle (`roots::run`, which signals the
/// child tfws it runs and reports; `fleet sync`): this handler neither exits nor forwards.
#[must_use = "the hand-over ends when this is dropped"]
pub(crate) struct HandedOver(());

pub(crate) fn hand_over() -> HandedOver {
    state().handed_over += 1;
    HandedOver(())
}

impl Drop for HandedOver {
    fn drop(&mut self) {
        state().handed_over -= 1;
    }
}

/// While kept, a signal with no terraform running waits (see the module's docs).
#[must_use = "the hold ends when this is dropped"]
pub(crate) struct Held(());

pub(crate) fn hold() -> Held {
    state().holds += 1;
    Held(())
}

impl Held {
    /// Ends the hold; the signal that came during it (outermost hold only) is now the
    /// caller's to act on, instead of ending tfw here.
    pub(crate) fn release(self) -> Option<i32> {
        let _ = std::mem::ManuallyDrop::new(self);
        end_hold()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(signal) = end_hold() {
            stop(signal);
        }
    }
}

fn end_hold() -> Option<i32> {
    let mut state = state();
    state.holds -= 1;
    if state.holds > 0 || state.pending == 0 {
        return None;
    }
    Some(std::mem::take(&mut state.pending))
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
        let me = std::process::id() as libc::pid_t;
        std::thread::spawn(move || {
            loop {
                let mut arrived: Vec<_> = signals.wait().collect();
                // console raises SIGINT on tfw itself when a signal interrupts a question's
                // read: the signal that did goes first (a SIGTERM there ended tfw with 130).
                arrived.sort_by_key(|info| info.process.is_some_and(|p| p.pid == me));
                for info in arrived {
                    // A terminal's Ctrl-C or hangup comes from the kernel, not from a process.
                    handle(info.signal, info.process.is_none());
                }
            }
        });
    });
}

/// A stopping signal has arrived: its handler is ending tfw (or passing it to terraform).
pub(crate) fn received() -> bool {
    RECEIVED
        .get()
        .is_some_and(|flag| flag.load(std::sync::atomic::Ordering::SeqCst))
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
    let mut state = state();
    if state.handed_over > 0 {
        return;
    }
    let hard = signal == SIGINT && from_terminal;
    match state.child {
        // The first one waits for the hold to end; a later one changes nothing.
        0 if state.holds > 0 && state.pending == 0 => state.pending = signal,
        0 if state.holds > 0 && !hard => {}
        0 => {
            drop(state);
            stop(signal);
        }
        child if !state.interrupted => {
            state.interrupted = true;
            state.interrupt = signal;
            if child > 0 {
                state.forwarded = true;
                interrupt(child);
            }
        }
        child if hard && child > 0 => interrupt(child),
        _ => {}
    }
}

/// No terraform running: stop as the shell expects, with the terminal as it was found (a
/// prompt's echo, the picker's rows, a spinner).
fn stop(signal: i32) -> ! {
    crate::screen::restore();
    std::process::exit(128 + signal);
}

/// To terraform alone, not its process group: terraform then stops its plugins and
/// provisioners itself, in order. A SIGINT to the group (as a terminal sends it) also kills a
/// `local-exec` command under terraform's feet, and Terraform 1.11 then sometimes writes the
/// same serial twice, which GitLab refuses (422): the new state ends in `errored.tfstate`
/// (found by tests/interrupts.rs, a few runs in a hundred). terraform 1.0 is two processes
/// unless `TF_FORK=0` (a panic-catching parent that ignores SIGINT): see `child`.
fn interrupt(child: i32) {
    // SAFETY: kill(2) to a child tfw spawned and has not reaped: `finished` clears it, under
    // the same lock, before the runner reaps it.
    unsafe {
        libc::kill(child, SIGINT);
    }
}

/// terraform is about to be spawned: a signal from now on is held for it.
pub(super) fn starting() {
    let mut state = state();
    state.interrupted = false;
    state.interrupt = 0;
    state.forwarded = false;
    state.child = STARTING;
}

/// terraform runs as `pid`; a signal that came while it was being spawned is passed on now.
pub(super) fn started(pid: i32) {
    let mut state = state();
    state.child = pid;
    if state.interrupted && !state.forwarded {
        state.forwarded = true;
        interrupt(pid);
    }
}

/// terraform exited (not reaped yet) or never started: whether tfw was interrupted, and by
/// which signal first.
pub(super) fn finished() -> (bool, i32) {
    let mut state = state();
    state.child = 0;
    (state.interrupted, state.interrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_during_a_hold_waits_for_the_outermost_and_a_hand_over_ends() {
        let outer = hold();
        let inner = hold();
        handle(SIGTERM, false);
        // A second one, not a Ctrl-C from the terminal, does not replace the first.
        handle(SIGHUP, false);
        assert_eq!(inner.release(), None, "the outer hold still runs");
        assert_eq!(outer.release(), Some(SIGTERM));
        assert_eq!(hold().release(), None, "taken by the outermost hold");
        let handed = hand_over();
        let held = hold();
        handle(SIGINT, true);
        assert_eq!(held.release(), None, "handed over: not this handler's");
        drop(handed);
        assert_eq!(state().handed_over, 0);
    }
}
