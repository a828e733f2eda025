//! The entry point. `no_main`: Rust's own `main` wrapper, before calling ours, asks glibc for
//! the main thread's stack bounds (`pthread_getattr_np`, which reads and parses
//! `/proc/self/maps`) and maps an alternate signal stack for its stack-overflow message. That
//! was a sixth of `tfw prompt`'s instructions, and the shell runs `tfw prompt` before every
//! prompt. `tfw::start` does the two parts of that wrapper tfw relies on (standard
//! descriptors always open, SIGPIPE ignored); a stack overflow ends tfw with SIGSEGV instead
//! of Rust's message.

// `cargo test` builds this file as a test harness too, whose own `main` must stay.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int};

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // `process::exit` flushes stdout as returning from Rust's `main` would.
    // SAFETY: the C runtime's own `argc` and `argv`.
    std::process::exit(unsafe { tfw::start(argc, argv) })
}
