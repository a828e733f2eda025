//! What Rust's `main` wrapper did for tfw before `src/main.rs` took `no_main` (see there for
//! why): the standard descriptors are open before anything else is, SIGPIPE is ignored so a
//! reader that went away is an error tfw handles (`printer::StdoutError::Closed`), and a panic
//! exits 101 after its message.

use std::ffi::OsString;

/// Runs tfw as the process: the descriptors and SIGPIPE, then `run`.
pub fn start() -> i32 {
    open_standard_descriptors();
    // SAFETY: setting a signal's disposition to "ignore" touches no memory. Rust's wrapper
    // did the same, and `std::process::Command` still gives children the default back.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let args: Vec<OsString> = std::env::args_os().collect();
    // The panic hook has printed the message; 101 is the exit code Rust's wrapper gave.
    std::panic::catch_unwind(|| crate::run(args)).unwrap_or(101)
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
