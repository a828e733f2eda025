//! terraform's output, passed through line by line with secrets masked while tfw keeps a copy.
//!
//! terraform writes to a file, not to a pipe tfw reads: if tfw dies (`kill -9`, a CI
//! runner's SIGKILL after its grace period), a pipe loses its reader and terraform dies of
//! SIGPIPE (Go exits on EPIPE on stdout or stderr whatever its signal handling) at its next
//! line, mid-apply, with the lock held. Writes to a file never fail that way. The file is
//! created without a name (`O_TMPFILE`, or unlinked at once) in `.tfw/`, mode 0600: nobody
//! else can open it, and nothing is left behind however tfw ends; the kernel
//! frees it when terraform's last descriptor closes. tfw follows it with its own offset
//! (`pread`), so terraform's writes and tfw's reads never share a position.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::printer::Printer;

/// Where one of terraform's streams goes and what tfw does with each line.
#[derive(Clone)]
pub(super) struct Sink {
    pub buffer: Arc<Mutex<String>>,
    pub printer: Printer,
    /// Show the lines (else only keep them).
    pub echo: bool,
    pub to_stderr: bool,
    /// terraform's advice, rewritten in what is shown (each stream has its own).
    pub advice: std::cell::RefCell<super::advice::Advice>,
}

/// A nameless file in `<dir>/.tfw/` for terraform to write one stream to, and the
/// descriptor to give it. `None` when `.tfw/` cannot be written (a read-only checkout):
/// then a pipe it is.
pub(super) fn capture_file(dir: &Path) -> Option<(File, File)> {
    let folder = crate::layout::dir(dir);
    crate::fsutil::private_dir(&folder).ok()?;
    let file = tempfile::tempfile_in(&folder).ok()?;
    let child = file.try_clone().ok()?;
    Some((file, child))
}

/// Follows a file terraform writes until `done` (terraform was reaped) and nothing more is
/// there. A line that stays unfinished for a moment is shown anyway: it is a question
/// ("Enter a value: ") waiting for an answer; all but an end that may begin a secret, which
/// waits for the rest (`Printer::held_back`).
pub(super) fn follow(file: File, sink: Sink, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut offset = 0u64;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut pending: Vec<u8> = Vec::new();
        let mut last_data = Instant::now();
        let mut idle = Duration::from_millis(2);
        loop {
            let finished = done.load(Ordering::SeqCst);
            let read = file.read_at(&mut chunk, offset).unwrap_or(0);
            if read > 0 {
                offset += read as u64;
                pending.extend_from_slice(&chunk[..read]);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    sink.line(&line);
                }
                last_data = Instant::now();
                idle = Duration::from_millis(2);
                continue;
            }
            if finished {
                break;
            }
            if !pending.is_empty() && last_data.elapsed() > Duration::from_millis(150) {
                // What may be the start of a secret waits for the rest of the line.
                let shown = pending.len() - sink.printer.held_back(&pending);
                if shown > 0 {
                    let line: Vec<u8> = pending.drain(..shown).collect();
                    sink.line(&line);
                }
            }
            // Woken early by `wake` when terraform has exited.
            std::thread::park_timeout(idle);
            idle = (idle * 2).min(Duration::from_millis(25));
        }
        if !pending.is_empty() {
            sink.line(&pending);
        }
    })
}

/// terraform was reaped: the followers read what is left now rather than after their nap.
pub(super) fn wake(followers: &[std::thread::JoinHandle<()>]) {
    for follower in followers {
        follower.thread().unpark();
    }
}

/// Reads a pipe to its end (the fallback when no file could be made).
pub(super) fn pump(source: impl Read + Send + 'static, sink: Sink) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => sink.line(&line),
            }
        }
    })
}

impl Sink {
    fn line(&self, line: &[u8]) {
        let printer = &self.printer;
        let masked = printer.mask_bytes(line);
        // Terraform's http backend logs every request at [DEBUG] on stderr (1.0.x):
        // noise for a person, kept with -v.
        let noise = self.to_stderr && printer.verbose() == 0 && is_http_debug_line(&masked);
        if self.echo && !noise {
            let text = String::from_utf8_lossy(&masked);
            let rewritten = self.advice.borrow_mut().rewrite(&text).into_owned();
            let masked: &[u8] = rewritten.as_bytes();
            // Where tfw shows no colour (CI, logs, NO_COLOR), terraform's neither: `-no-color`
            // is passed where terraform takes it, and this catches whatever still has some.
            let plain;
            let color = if self.to_stderr {
                printer.color()
            } else {
                printer.color_stdout()
            };
            let shown: &[u8] = if !color && masked.contains(&0x1b) {
                plain = strip_ansi(&String::from_utf8_lossy(masked));
                plain.as_bytes()
            } else {
                masked
            };
            // A closed terminal (e.g. `tfw plan | head`) must not stop terraform: keep
            // reading so it never blocks, and never fails.
            let _ = if self.to_stderr || printer.stdout_is_data() {
                std::io::stderr().lock().write_all(shown)
            } else {
                let mut out = std::io::stdout().lock();
                out.write_all(shown).and_then(|()| out.flush())
            };
        }
        self.buffer
            .lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(&masked));
    }
}

/// Waits for the pipe readers to reach the end of terraform's output. Something terraform
/// started can outlive it and keep a pipe open (a `local-exec` daemon, or a terraform that
/// a wrapper left behind when it crashed; found by tests/engine_faults.rs): once terraform
/// has exited, its output gets a few seconds to drain, then tfw goes on without the rest.
/// (A followed file has no such wait: its end is where terraform's exit found it.)
pub(super) fn finish(readers: Vec<std::thread::JoinHandle<()>>, printer: &Printer) {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for reader in readers {
            let _ = reader.join();
        }
        let _ = done.send(());
    });
    if finished.recv_timeout(Duration::from_secs(5)).is_err() {
        printer.debug(
            "terraform exited, but something it started still holds its output open: not waiting for it",
        );
    }
}

fn is_http_debug_line(line: &[u8]) -> bool {
    line.len() > 20 && line[4] == b'/' && line[7] == b'/' && line[19..].starts_with(b" [DEBUG] ")
}

/// Removes ANSI escape sequences (terraform colours its output unless told not to).
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_http_debug_lines() {
        assert!(is_http_debug_line(
            b"2026/11/22 03:01:44 [DEBUG] GET http://x\n"
        ));
        assert!(!is_http_debug_line(b"Error: something\n"));
    }

    #[test]
    fn strips_colour() {
        assert_eq!(
            strip_ansi("\u{1b}[1mPlan:\u{1b}[0m 1 to add"),
            "Plan: 1 to add"
        );
    }

    #[test]
    fn a_capture_file_has_no_name_and_outlives_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (file, mut child) = capture_file(dir.path()).unwrap();
        child.write_all(b"one\ntwo").unwrap();
        let mut seen = vec![0u8; 16];
        let n = file.read_at(&mut seen, 0).unwrap();
        assert_eq!(&seen[..n], b"one\ntwo");
        // Nothing visible in `.tfw/`, and a new folder is the owner's alone.
        let folder = dir.path().join(".tfw");
        assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
