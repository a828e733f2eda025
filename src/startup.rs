//! What Rust's `main` wrapper did for tfw before `src/main.rs` took `no_main` (see there for
//! why): the standard descriptors are open before anything else is, SIGPIPE is ignored so a
//! reader that went away is an error tfw handles (`printer::StdoutError::Closed`), the
//! command line is kept, and a panic exits 101 after its message (masked: `printer::panic`).

use std::ffi::{CStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStringExt;
use std::sync::OnceLock;

/// The command line, from `main`'s own `argv`: `std::env::args_os()` is empty without Rust's
/// wrapper on musl (glibc hands `argv` to every initialiser, musl does not), which made the
/// static build that `rust:alpine` makes in CI ignore every argument and print the help.
static COMMAND_LINE: OnceLock<Vec<OsString>> = OnceLock::new();

/// Runs tfw as the process: the descriptors and SIGPIPE, then `run`.
///
/// # Safety
/// `argv` holds `argc` valid C strings, as the C runtime passes them to `main`.
pub unsafe fn start(argc: c_int, argv: *const *const c_char) -> i32 {
    open_standard_descriptors();
    // SAFETY: setting a signal's disposition to "ignore" touches no memory. Rust's wrapper
    // did the same, and `std::process::Command` still gives children the default back.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: the caller's promise.
    let args = COMMAND_LINE.get_or_init(|| unsafe { from_argv(argc, argv) });
    // Rust's own hook would print a panic's message unmasked.
    crate::printer::install_panic_hook();
    // The panic hook has printed the message; 101 is the exit code Rust's wrapper gave.
    std::panic::catch_unwind(|| crate::run(args.iter().cloned())).unwrap_or(101)
}

/// tfw's command line, program name first (tests run without `start`: then std's).
pub(crate) fn command_line() -> Vec<OsString> {
    match COMMAND_LINE.get() {
        Some(args) => args.clone(),
        None => std::env::args_os().collect(),
    }
}

/// # Safety
/// As `start`.
unsafe fn from_argv(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    (0..usize::try_from(argc).unwrap_or(0))
        // SAFETY: `i < argc`, so `argv[i]` is one of the caller's C strings.
        .map(|i| unsafe { *argv.add(i) })
        .take_while(|arg| !arg.is_null())
        // SAFETY: as above.
        .map(|arg| OsString::from_vec(unsafe { CStr::from_ptr(arg) }.to_bytes().to_vec()))
        .collect()
}

/// A closed 0, 1 or 2 becomes `/dev/null`, so the first file tfw opens can never be taken
/// for stdout (as Rust's wrapper does, with one `poll`).
fn open_standard_descriptors() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is three valid `pollfd`s; a zero timeout never blocks.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0;
    for pollfd in fds {
        // Without `poll` (a tiny RLIMIT_NOFILE makes it fail), ask each descriptor.
        // SAFETY: F_GETFD only reads the descriptor's flags.
        let closed = if polled {
            pollfd.revents & libc::POLLNVAL != 0
        } else {
            (unsafe { libc::fcntl(pollfd.fd, libc::F_GETFD) }) == -1
        };
        // SAFETY: a constant C string; the new descriptor is the lowest free one, this one.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } == -1 {
            std::process::abort();
        }
    }
}
