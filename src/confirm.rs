//! Confirmations in front of everything that changes a state: `yes` for the ordinary case,
//! the state's name typed out for a protected state, for what cannot be taken back, or for
//! someone else's work. Without a terminal nothing is asked: the flag that confirms must be
//! given, and its absence is an error naming it.

use anyhow::Result;

use crate::printer::{NoPrompt, Printer};
use crate::problem::Problem;

/// What is being confirmed: `command` as the user typed it (`tfw state unlock`), `action`
/// as the end of "Type ... to {action}" (`release bob's lock on \`prod\``).
pub(crate) struct Ask<'a> {
    pub command: &'a str,
    pub action: &'a str,
}

impl Ask<'_> {
    /// The state name `expected` must be typed; `given` is the `--confirm` value, checked
    /// instead of asking when present.
    pub(crate) fn typed(
        &self,
        printer: &Printer,
        expected: &str,
        given: Option<&str>,
    ) -> Result<()> {
        if let Some(given) = given {
            if given == expected {
                return Ok(());
            }
            return Err(Problem::error(format!(
                "`--confirm {given}` does not name the state `{expected}`; nothing was changed"
            ))
            .hint(format!("pass `--confirm {expected}`"))
            .into());
        }
        if !printer.interactive() {
            return Err(needs_flag(
                printer,
                &format!("`{}`", self.command),
                &format!("--confirm {expected}"),
            ));
        }
        self.ask(
            &format!("Type the state name `{expected}` to {}", self.action),
            expected,
        )
    }

    /// `yes` must be typed, unless `flag` (e.g. `--yes`) was given (`given`).
    pub(crate) fn yes(&self, printer: &Printer, given: bool, flag: &str) -> Result<()> {
        if given {
            return Ok(());
        }
        if !printer.interactive() {
            return Err(needs_flag(printer, &format!("`{}`", self.command), flag));
        }
        self.ask(&format!("Type `yes` to {}", self.action), "yes")
    }

    fn ask(&self, prompt: &str, expected: &str) -> Result<()> {
        let answer: String = dialoguer::Input::new()
            .with_prompt(prompt)
            .allow_empty(true)
            .interact_text()
            // Ctrl-C (or a closed terminal): the half-typed answer goes with it.
            .map_err(|_| crate::screen::question_ended())?;
        if answer.trim() == expected {
            Ok(())
        } else {
            Err(Problem::error(format!(
                "`{}` cancelled: the answer was not `{expected}`; nothing was changed",
                self.command
            ))
            .into())
        }
    }
}

/// A needed confirmation nobody may be asked for: an error naming the flag, and saying why
/// nobody was asked in the terms of what the person sees (a terminal with
/// `--non-interactive` is not "no terminal").
pub(crate) fn needs_flag(printer: &Printer, what: &str, flag: &str) -> anyhow::Error {
    let why = match printer.no_prompt() {
        NoPrompt::NonInteractiveFlag => "and `--non-interactive` forbids asking",
        NoPrompt::Ci => "and CI is set (`CI`), so tfw asks nothing",
        NoPrompt::NoTerminal | NoPrompt::Asks => "and there is no terminal to ask",
    };
    Problem::error(format!("{what} needs a confirmation, {why}"))
        .hint(format!("pass `{flag}` to confirm on the command line"))
        .into()
}
