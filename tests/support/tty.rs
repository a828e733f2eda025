//! tfw in a pseudo-terminal, as a person at a terminal runs it (issue 20): everything it
//! writes is kept, escape sequences included, so a test can read how it left the terminal
//! (cursor shown again, the line cleared) and not only what it said.

use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Expect};

use super::{Cmd, Sandbox};

pub struct Tty {
    pub session: expectrl::session::OsSession,
    /// Everything read so far, raw.
    pub seen: String,
}

/// Shows the cursor (DECTCEM set).
pub const SHOW_CURSOR: &str = "\x1b[?25h";
/// Hides it.
pub const HIDE_CURSOR: &str = "\x1b[?25l";
/// Erases the whole line the cursor is on.
pub const CLEAR_LINE: &str = "\x1b[2K";

impl Tty {
    /// `tfw ARGS` in a terminal with a fixed TERM and no colour unless the test says so.
    pub fn start(sandbox: &Sandbox, args: &[&str]) -> Self {
        Self::spawn(term(sandbox.tfw(args)).env("NO_COLOR", "1").command)
    }

    pub fn spawn(command: Command) -> Self {
        let mut session = expectrl::Session::spawn(command).expect("spawn in a pty");
        session.set_expect_timeout(Some(Duration::from_secs(120)));
        Tty {
            session,
            seen: String::new(),
        }
    }

    #[track_caller]
    pub fn expect(&mut self, text: &str) {
        match self.session.expect(text) {
            Ok(found) => {
                self.seen
                    .push_str(&String::from_utf8_lossy(found.as_bytes()));
            }
            Err(err) => panic!(
                "waiting for {text:?}: {err}\n--- seen so far\n{}",
                self.seen
            ),
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.session.send(keys).unwrap();
    }

    pub fn send_line(&mut self, line: &str) {
        self.session.send_line(line).unwrap();
    }

    /// Waits for the end; returns everything shown, the exit code, and whether the terminal
    /// echoes again (as tfw left it).
    #[track_caller]
    pub fn finish_echo(self) -> (String, i32, bool) {
        let mut tty = self;
        let found = tty.session.expect(Eof).unwrap();
        tty.seen
            .push_str(&String::from_utf8_lossy(found.as_bytes()));
        let echo = tty.session.get_process().get_echo().unwrap_or(false);
        let code = status(&mut tty);
        (tty.seen, code, echo)
    }

    /// Waits for the end; returns everything shown and the exit code.
    #[track_caller]
    pub fn finish(mut self) -> (String, i32) {
        let found = self.session.expect(Eof).unwrap();
        self.seen
            .push_str(&String::from_utf8_lossy(found.as_bytes()));
        let code = status(&mut self);
        (self.seen, code)
    }
}

fn status(tty: &mut Tty) -> i32 {
    match tty.session.get_process().wait().unwrap() {
        expectrl::process::unix::WaitStatus::Exited(_, code) => code,
        expectrl::process::unix::WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        other => panic!("unexpected status {other:?}"),
    }
}

/// A fixed terminal type: what tfw draws must not depend on the test runner's.
pub fn term(cmd: Cmd) -> Cmd {
    cmd.env("TERM", "xterm-256color")
}

/// The same command run by `sh -c SCRIPT` (`"$@"` is tfw with its arguments), with the same
/// environment and directory: to redirect one of tfw's streams away from the terminal.
pub fn through_shell(command: &Command, script: &str) -> Command {
    let mut shell = Command::new("/bin/sh");
    shell.arg("-c").arg(script).arg("sh");
    shell.arg(command.get_program());
    shell.args(command.get_args());
    shell.env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            shell.env(key, value);
        }
    }
    if let Some(dir) = command.get_current_dir() {
        shell.current_dir(dir);
    }
    super::started_clean(&mut shell);
    shell
}

/// After the last time the cursor was hidden, it was shown again.
#[track_caller]
pub fn cursor_restored(seen: &str) {
    if let Some(hidden) = seen.rfind(HIDE_CURSOR) {
        assert!(
            seen[hidden..].contains(SHOW_CURSOR),
            "the cursor was left hidden:\n{seen:?}"
        );
    }
}
