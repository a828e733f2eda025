//! One place that decides how tfw talks: colour (`--no-color` > `NO_COLOR` > CI > terminal),
//! quiet/verbose, whether prompts and progress bars may appear, and which secrets are masked.
//! Data (JSON, DOT) goes to stdout; everything meant for a person goes to stderr.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use console::Style;

#[derive(Debug, Clone)]
pub struct Printer {
    color: bool,
    quiet: bool,
    verbose: u8,
    /// A person can answer a prompt: stdin and stderr are terminals and nothing said otherwise.
    interactive: bool,
    ci: bool,
    secrets: Vec<String>,
}

/// What the environment says about the session, read once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Terminal {
    pub no_color_flag: bool,
    pub no_color_env: bool,
    pub ci: bool,
    pub non_interactive_flag: bool,
    pub stdin_tty: bool,
    pub stderr_tty: bool,
}

impl Terminal {
    pub fn detect(no_color_flag: bool, non_interactive_flag: bool) -> Self {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        Self {
            no_color_flag,
            no_color_env: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            ci,
            non_interactive_flag,
            stdin_tty: std::io::stdin().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }
}

impl Printer {
    pub fn new(terminal: &Terminal, quiet: bool, verbose: u8) -> Self {
        // `--non-interactive` means a log is reading, as in CI, even on a terminal.
        let color = !terminal.no_color_flag
            && !terminal.no_color_env
            && !terminal.ci
            && !terminal.non_interactive_flag
            && terminal.stderr_tty;
        let interactive = !terminal.ci
            && !terminal.non_interactive_flag
            && terminal.stdin_tty
            && terminal.stderr_tty;
        // dialoguer and indicatif draw through `console`: make them follow the same decision.
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color);
        Self {
            color,
            quiet,
            verbose,
            interactive,
            ci: terminal.ci || terminal.non_interactive_flag,
            secrets: Vec::new(),
        }
    }

    /// A printer for code paths that have no terminal decision to make (tests, fleet workers).
    pub fn plain() -> Self {
        Self {
            color: false,
            quiet: false,
            verbose: 0,
            interactive: false,
            ci: true,
            secrets: Vec::new(),
        }
    }

    pub fn color(&self) -> bool {
        self.color
    }

    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// Running as automation: CI, `--non-interactive`, or no terminal to ask.
    pub fn automation(&self) -> bool {
        self.ci || !self.interactive
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Registers a value that must never be printed. Short values are ignored: masking every
    /// "a" in the output would make it unreadable and protects nothing.
    pub fn add_secret(&mut self, secret: &str) {
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
            // Longest first, so a secret containing another is masked whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), "****"));
            }
        }
        out
    }

    pub fn mask_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        if self.secrets.is_empty() {
            return Cow::Borrowed(bytes);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => match self.mask(text) {
                Cow::Borrowed(_) => Cow::Borrowed(bytes),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            },
            Err(_) => {
                let text = String::from_utf8_lossy(bytes);
                Cow::Owned(self.mask(&text).into_owned().into_bytes())
            }
        }
    }

    fn style(&self, style: Style) -> Style {
        if self.color {
            style.force_styling(true)
        } else {
            Style::new().force_styling(false)
        }
    }

    pub fn paint(&self, text: &str, style: Style) -> String {
        self.style(style).apply_to(text).to_string()
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(text, Style::new().bold())
    }

    fn line(&self, prefix: &str, style: Style, message: &str) {
        let prefix = self.paint(prefix, style.bold());
        let message = self.mask(message);
        let _ = writeln!(std::io::stderr().lock(), "{prefix} {message}");
    }

    pub fn error(&self, message: &str) {
        self.line("error:", Style::new().red(), message);
    }

    /// Hidden by `-q`, which promises only errors and terraform's own output.
    pub fn warning(&self, message: &str) {
        if !self.quiet {
            self.line("warning:", Style::new().yellow(), message);
        }
    }

    pub fn hint(&self, message: &str) {
        self.line("hint:", Style::new().cyan(), message);
    }

    pub fn note(&self, message: &str) {
        if !self.quiet {
            self.line("note:", Style::new().blue(), message);
        }
    }

    /// A status line for a person (skipped with `-q`).
    pub fn status(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{}", self.mask(message));
        }
    }

    /// Detail shown with `-v` (secrets masked all the same).
    pub fn debug(&self, message: &str) {
        if self.verbose > 0 {
            let prefix = self.paint("tfw:", Style::new().dim());
            let _ = writeln!(std::io::stderr().lock(), "{prefix} {}", self.mask(message));
        }
    }

    /// A spinner for a call that may take more than a moment; drawn only on a terminal and
    /// always cleared before anything else prints.
    pub fn spinner(&self, message: &str) -> Spinner {
        if self.interactive && !self.quiet {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(message.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            Spinner(Some(bar))
        } else {
            Spinner(None)
        }
    }
}

pub struct Spinner(Option<indicatif::ProgressBar>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_longest_secret_first() {
        let mut printer = Printer::plain();
        printer.add_secret("token");
        printer.add_secret("token-long");
        assert_eq!(printer.mask("a token-long b token"), "a **** b ****");
    }

    #[test]
    fn ignores_tiny_secrets() {
        let mut printer = Printer::plain();
        printer.add_secret("a");
        assert_eq!(printer.mask("banana"), "banana");
    }
}
