//! What tfw has done to the terminal, so that every way out puts it back as it was found: a
//! prompt turns echo off or the terminal raw, the picker hides the cursor and draws several
//! lines, a spinner draws on the current line. A Ctrl-C there (console raises SIGINT on
//! itself), a signal, an error or Esc all end through [`restore`]: the terminal modes read at
//! start-up are set again, the lines drawn are cleared and the cursor is shown.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The modes of stdin's terminal when tfw started, if it is one.
static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);
/// Lines an interactive element has drawn and not cleared yet, the cursor on the last one.
static DRAWN: AtomicUsize = AtomicUsize::new(0);
/// stderr is a terminal: only then is anything written to put it back.
static STDERR_TTY: AtomicBool = AtomicBool::new(false);
/// Files a question's "no" would remove, removed as well when Ctrl-C answers it (a plan
/// declined at its confirmation must not linger to be applied later).
static DISCARD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Reads the terminal's modes once, at start-up, before anything changes them.
pub(crate) fn save(stdin_tty: bool, stderr_tty: bool) {
    STDERR_TTY.store(stderr_tty, Ordering::SeqCst);
    if !stdin_tty {
        return;
    }
    // SAFETY: tcgetattr(3) writes into the struct it is given.
    let mut modes: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut modes) } == 0 {
        *SAVED.lock().unwrap_or_else(|e| e.into_inner()) = Some(modes);
    }
}

/// An interactive element now has `lines` lines on screen (0: none).
pub(crate) fn drawn(lines: usize) {
    DRAWN.store(lines, Ordering::SeqCst);
}

/// The escape sequences that clear `lines` lines drawn upwards from the cursor's, leaving
/// the cursor at the start of the first.
pub(crate) fn clearing(lines: usize) -> String {
    let mut out = String::from("\r\x1b[2K");
    for _ in 1..lines {
        out.push_str("\x1b[1A\x1b[2K");
    }
    out
}

/// While the guard lives, an interrupt removes `files` before tfw exits.
pub(crate) fn discard_on_interrupt(files: Vec<PathBuf>) -> Discard {
    *DISCARD.lock().unwrap_or_else(|e| e.into_inner()) = files;
    Discard
}

pub(crate) struct Discard;

impl Drop for Discard {
    fn drop(&mut self) {
        DISCARD.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A question's read failed: Ctrl-C typed, the terminal closed, or a signal interrupted the
/// read. For a signal, its handler is ending tfw with that signal's code (143 for SIGTERM,
/// not a question's 130): it is given the moment it needs.
pub(crate) fn question_ended() -> anyhow::Error {
    if crate::runner::signals::received() {
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    restore();
    crate::problem::Exit(crate::exit::ExitCode::Interrupted).into()
}

/// Puts the terminal back: its modes as at start-up, whatever was drawn cleared (at least the
/// current line: a spinner, a half-typed answer), the cursor shown.
pub(crate) fn restore() {
    crate::progress::stop_all();
    for file in DISCARD.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        let _ = std::fs::remove_file(file);
    }
    if let Some(modes) = *SAVED.lock().unwrap_or_else(|e| e.into_inner()) {
        // SAFETY: tcsetattr(3) with modes tcgetattr read from the same terminal.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &modes);
        }
    }
    if !STDERR_TTY.load(Ordering::SeqCst) {
        return;
    }
    let lines = DRAWN.swap(0, Ordering::SeqCst).max(1);
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}\x1b[?25h", clearing(lines));
    let _ = err.flush();
}
