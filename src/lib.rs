//! tfw: Terraform/OpenTofu against GitLab-managed state, driven by a validated per-developer
//! `.env`. The flow of every command: `cli` (raw flags) -> `settings` (flags + environment +
//! `.env` + `tfw.toml`, resolved once) -> one function in `commands` -> `runner` (terraform).
//! Errors come back here and are rendered once.

#![warn(unreachable_pub)]

mod backend;
mod backups;
mod cache;
pub mod cli;
mod commands;
mod confirm;
mod context;
mod diagnose;
pub mod dotenv;
mod engine;
mod exit;
mod fleet;
pub mod fsutil;
mod layout;
mod local_modules;
mod modes;
mod origin;
mod picker;
mod plans;
pub mod printer;
pub mod problem;
mod progress;
mod project;
mod repo;
mod roots;
mod runner;
mod safety;
mod screen;
mod session;
pub mod settings;
mod startup;
mod states;
mod stopped;
mod template;

use std::collections::HashMap;
use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;
use crate::exit::ExitCode;
use crate::printer::{Printer, StdoutError, Terminal};
use crate::problem::Exit;
pub use crate::startup::start;

/// Runs tfw with these arguments and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    // Before every shell prompt: no clap, no terminal detection (see commands/prompt.rs).
    if let Some(code) = commands::prompt_fast_path(&args) {
        return code.code();
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    ExitCode::Success
                }
                _ => ExitCode::Usage,
            }
            .code();
        }
    };
    // From the start, so a signal stops tfw the same way however it was started.
    runner::signals::install();
    let terminal = Terminal::detect(cli.no_color, cli.non_interactive);
    screen::save(terminal.stdin_tty, terminal.stderr_tty);
    let mut printer = Printer::new(&terminal, cli.quiet, cli.verbose);
    // The printer learns the secrets as the settings load, so the error below is masked.
    match commands::dispatch(cli, &mut printer, terminal) {
        Ok(code) => code,
        Err(err) => render_error(&printer, &err),
    }
    .code()
}

/// What an error that ended the command means for the exit code; printed (once, by the
/// printer that knows every secret) unless it stopped on purpose.
fn render_error(printer: &Printer, err: &anyhow::Error) -> ExitCode {
    if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
        return *code;
    }
    if let Some(StdoutError::Closed) = err.downcast_ref::<StdoutError>() {
        return ExitCode::Success;
    }
    printer.failure(err);
    ExitCode::Failure
}

/// The process environment as a map (non-UTF-8 entries cannot be tfw settings).
pub fn process_env() -> HashMap<String, String> {
    let vars = std::env::vars_os();
    // Sized up front: `collect` through `filter_map` grew the table four or five times.
    let mut map = HashMap::with_capacity(vars.size_hint().0);
    map.extend(vars.filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))));
    map
}
