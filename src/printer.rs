//! One place that decides how tfw talks: colour, quiet/verbose, whether prompts and progress
//! bars may appear, and which secrets are masked. Data (JSON, DOT) goes to stdout; everything
//! meant for a person goes to stderr. Colour is decided for each stream on its own (`tfw plan
//! | tee plan.txt` keeps colour on the terminal's stderr and none in the file), in the order
//! cargo and most CLIs use: `--no-color` > `NO_COLOR` > `CLICOLOR_FORCE` > `CLICOLOR=0`, CI
//! and `--non-interactive` (a log is reading) > `TERM=dumb` > whether the stream is a terminal.
//!
//! Data (JSON, DOT, tables, scripts) goes to stdout through `out` and nothing else, masked
//! like the rest. `problem` is the one place a `Problem` becomes `error:`/`warning:` and
//! `hint:` lines.
//!
//! The one exception is a child's own output passed through as it comes (terraform's in
//! `runner`, a root's `tfw` in `roots::run`): already masked, it must keep being read
//! whatever happens to stdout, so a closed pipe never stops the child.
//!
//! A closed stdout (`tfw state list | head -1`) is not a failure: `out` answers
//! `StdoutError::Closed` and tfw stops quietly with exit 0, as ripgrep does (Rust ignores
//! SIGPIPE, so a bare `println!` would panic there).

use std::io::{IsTerminal, Write};

use console::Style;

use crate::problem::{Problem, Problems, Severity};

mod mask;
mod panic;
mod stdout;

pub(crate) use panic::{install_hook as install_panic_hook, test_panic};
pub(crate) use stdout::StdoutError;

#[derive(Debug, Clone)]
pub struct Printer {
    /// Colour on stderr, where people read.
    color: bool,
    /// Colour on stdout (tables, `tfw env`, terraform's own plan output).
    color_stdout: bool,
    /// Why nobody is asked, when nobody is (for messages that must not contradict the
    /// terminal the person is looking at).
    no_prompt: NoPrompt,
    quiet: bool,
    verbose: u8,
    /// A person can answer a prompt: stdin and stderr are terminals and nothing said otherwise.
    interactive: bool,
    ci: bool,
    secrets: Vec<String>,
    /// stdout carries a report (`--json`): terraform's own stdout goes to stderr instead.
    stdout_is_data: bool,
}

/// Why tfw asks nothing: said in messages so they match what the person sees (a terminal
/// with `--non-interactive` is not "no terminal").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoPrompt {
    /// A person can be asked.
    Asks,
    NonInteractiveFlag,
    Ci,
    NoTerminal,
}

/// What the environment says about the session, read once at start-up.
#[derive(Debug, Clone, Default)]
pub(crate) struct Terminal {
    pub(crate) no_color_flag: bool,
    pub(crate) no_color_env: bool,
    /// `CLICOLOR_FORCE` set and not `0`: colour even into pipes.
    pub(crate) clicolor_force: bool,
    /// `CLICOLOR=0`: no colour even on a terminal.
    pub(crate) clicolor_off: bool,
    /// `TERM=dumb`: a terminal that shows escape sequences as text.
    pub(crate) dumb: bool,
    pub(crate) ci: bool,
    pub(crate) non_interactive_flag: bool,
    pub(crate) stdin_tty: bool,
    pub(crate) stdout_tty: bool,
    pub(crate) stderr_tty: bool,
}

impl Terminal {
    pub(crate) fn detect(no_color_flag: bool, non_interactive_flag: bool) -> Self {
        let set = |key: &str| std::env::var_os(key).filter(|v| !v.is_empty());
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        Self {
            no_color_flag,
            no_color_env: set("NO_COLOR").is_some(),
            clicolor_force: set("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
            clicolor_off: set("CLICOLOR").is_some_and(|v| v == "0"),
            dumb: set("TERM").is_some_and(|v| v == "dumb"),
            ci,
            non_interactive_flag,
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }

    /// Whether a stream (a terminal or not: `tty`) gets colour.
    pub(crate) fn color_for(&self, tty: bool) -> bool {
        if self.no_color_flag || self.no_color_env {
            return false;
        }
        if self.clicolor_force {
            return true;
        }
        // `--non-interactive` means a log is reading, as in CI, even on a terminal.
        !self.clicolor_off && !self.ci && !self.non_interactive_flag && !self.dumb && tty
    }

    fn no_prompt(&self) -> NoPrompt {
        if self.non_interactive_flag {
            NoPrompt::NonInteractiveFlag
        } else if !self.stdin_tty || !self.stderr_tty {
            NoPrompt::NoTerminal
        } else if self.ci {
            NoPrompt::Ci
        } else {
            NoPrompt::Asks
        }
    }
}

impl Printer {
    pub(crate) fn new(terminal: &Terminal, quiet: bool, verbose: u8) -> Self {
        let color = terminal.color_for(terminal.stderr_tty);
        let color_stdout = terminal.color_for(terminal.stdout_tty);
        let no_prompt = terminal.no_prompt();
        let interactive = no_prompt == NoPrompt::Asks;
        // dialoguer and indicatif draw through `console`: make them follow the same decision.
        console::set_colors_enabled(color_stdout);
        console::set_colors_enabled_stderr(color);
        crate::progress::enable(interactive && !quiet);
        Self {
            color,
            color_stdout,
            no_prompt,
            quiet,
            verbose,
            interactive,
            ci: terminal.ci || terminal.non_interactive_flag,
            secrets: Vec::new(),
            stdout_is_data: false,
        }
    }

    /// A printer for code paths that have no terminal decision to make (tests, fleet workers).
    pub fn plain() -> Self {
        Self {
            color: false,
            color_stdout: false,
            no_prompt: NoPrompt::NoTerminal,
            quiet: false,
            verbose: 0,
            interactive: false,
            ci: true,
            secrets: Vec::new(),
            stdout_is_data: false,
        }
    }

    /// Colour on stderr.
    pub(crate) fn color(&self) -> bool {
        self.color
    }

    /// Colour on stdout.
    pub(crate) fn color_stdout(&self) -> bool {
        self.color_stdout
    }

    /// Why nothing is asked (`NoPrompt::Asks` when a person can be).
    pub(crate) fn no_prompt(&self) -> NoPrompt {
        self.no_prompt
    }

    /// "without a terminal", or what else kept tfw from asking, to end a sentence about a
    /// question that was not asked.
    pub(crate) fn unasked(&self) -> &'static str {
        match self.no_prompt {
            NoPrompt::NonInteractiveFlag => "with `--non-interactive` forbidding questions",
            NoPrompt::Ci => "in CI, where nobody is asked",
            NoPrompt::NoTerminal | NoPrompt::Asks => "without a terminal",
        }
    }

    pub(crate) fn interactive(&self) -> bool {
        self.interactive
    }

    /// Running as automation: CI, `--non-interactive`, or no terminal to ask.
    pub(crate) fn automation(&self) -> bool {
        self.ci || !self.interactive
    }

    /// From now on, terraform's stdout (even init's) is shown on stderr: stdout is data.
    pub(crate) fn set_stdout_is_data(&mut self) {
        self.stdout_is_data = true;
    }

    pub(crate) fn stdout_is_data(&self) -> bool {
        self.stdout_is_data
    }

    pub(crate) fn quiet(&self) -> bool {
        self.quiet
    }

    pub(crate) fn verbose(&self) -> u8 {
        self.verbose
    }

    /// A problem as `error:` or `warning:` (hidden by `-q`), with its `hint:`: the one
    /// renderer of problems, whether they end the command (`lib::render_error`) or not.
    pub(crate) fn problem(&self, problem: &Problem) {
        let text = problem.to_string();
        match problem.severity {
            Severity::Error => self.error(&text),
            Severity::Warning => {
                if self.quiet {
                    return;
                }
                self.warning(&text)
            }
        }
        if let Some(hint) = &problem.hint {
            self.hint(hint);
        }
    }

    /// An error as the user reads it: each problem, or the message and its causes.
    pub(crate) fn failure(&self, err: &anyhow::Error) {
        if let Some(Problems(problems)) = err.downcast_ref::<Problems>() {
            for problem in problems {
                self.problem(problem);
            }
        } else if let Some(problem) = err.downcast_ref::<Problem>() {
            self.problem(problem);
        } else {
            self.error(&err.to_string());
            for cause in err.chain().skip(1) {
                self.status(&format!("  caused by: {cause}"));
            }
        }
    }

    fn style(color: bool, style: Style) -> Style {
        if color {
            style.force_styling(true)
        } else {
            Style::new().force_styling(false)
        }
    }

    /// `text` styled for stderr.
    pub(crate) fn paint(&self, text: &str, style: Style) -> String {
        Self::style(self.color, style).apply_to(text).to_string()
    }

    /// `text` styled for stdout.
    pub(crate) fn paint_stdout(&self, text: &str, style: Style) -> String {
        Self::style(self.color_stdout, style)
            .apply_to(text)
            .to_string()
    }

    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint(text, Style::new().bold())
    }

    fn line(&self, prefix: &str, style: Style, message: &str) {
        let prefix = self.paint(prefix, style.bold());
        let message = self.mask(message);
        let _ = writeln!(std::io::stderr().lock(), "{prefix} {message}");
    }

    pub(crate) fn error(&self, message: &str) {
        self.line("error:", Style::new().red(), message);
    }

    /// Hidden by `-q`, which promises only errors and terraform's own output.
    pub(crate) fn warning(&self, message: &str) {
        if !self.quiet {
            self.line("warning:", Style::new().yellow(), message);
        }
    }

    pub(crate) fn hint(&self, message: &str) {
        self.line("hint:", Style::new().cyan(), message);
    }

    pub(crate) fn note(&self, message: &str) {
        if !self.quiet {
            self.line("note:", Style::new().blue(), message);
        }
    }

    /// A status line for a person (skipped with `-q`).
    pub(crate) fn status(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{}", self.mask(message));
        }
    }

    /// A line of a report the person asked for (doctor's checks, `--all`'s summary), on
    /// stderr and kept by `-q`.
    pub(crate) fn report(&self, message: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{}", self.mask(message));
    }

    /// Detail shown with `-v` (secrets masked all the same).
    pub(crate) fn debug(&self, message: &str) {
        if self.verbose > 0 {
            let prefix = self.paint("tfw:", Style::new().dim());
            let _ = writeln!(std::io::stderr().lock(), "{prefix} {}", self.mask(message));
        }
    }

    /// A spinner for a call that may take more than a moment: after a second it says what is
    /// waited for and for how long (see `progress`); drawn only on a terminal and always
    /// cleared before anything else prints.
    pub(crate) fn spinner(&self, message: &str) -> Spinner {
        if self.interactive && !self.quiet {
            crate::progress::spinner(message)
        } else {
            crate::progress::spinner_off()
        }
    }
}

pub(crate) use crate::progress::Spinner;
