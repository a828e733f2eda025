//! A panic's message, masked. Rust's own hook prints the message as it is, and a message can
//! quote anything a value held (an `expect` naming a URL, a parse error echoing a line):
//! this hook prints what Rust's does (thread, place, message, the backtrace when
//! `RUST_BACKTRACE` asks for one) through the secrets every printer registered.

use std::io::Write;

/// Replaces Rust's panic hook for the whole process.
pub(crate) fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("Box<dyn Any>");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let backtrace = std::backtrace::Backtrace::capture();
        let tail = match backtrace.status() {
            std::backtrace::BacktraceStatus::Captured => format!("stack backtrace:\n{backtrace}"),
            _ => "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"
                .to_string(),
        };
        let text = format!("thread '{name}' panicked{place}:\n{message}\n{tail}\n");
        let _ = std::io::stderr()
            .lock()
            .write_all(super::mask::mask_known(&text).as_bytes());
    }));
}

/// Test hook: `TFW_TEST_PANIC=<message>` makes tfw panic with that message once its secrets
/// are known, so the suite can see what a panic prints. Nothing sets it.
pub(crate) fn test_panic() {
    if let Some(message) = std::env::var_os("TFW_TEST_PANIC") {
        panic!("{}", message.to_string_lossy());
    }
}
