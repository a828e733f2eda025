//! One file per subcommand; each takes the context (settings + printer) and its own
//! arguments and returns the exit code. Dispatch is this one `match`.

mod adopt;
mod all;
mod all_apply;
mod all_verdict;
mod apply;
mod ci;
mod clean;
mod completions;
mod destroy;
mod doctor;
mod drift;
mod drift_all;
mod env;
mod exec;
mod fleet;
mod fleet_sync;
mod fmt;
mod graph;
mod init;
mod locks;
mod new;
mod plan;
mod prompt;
mod roots;
mod roots_layout;
mod setup;
mod state;
mod state_diff;
mod state_history;
mod sync;
mod use_;
mod validate;

use anyhow::Result;

pub(crate) use prompt::fast as prompt_fast_path;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::printer::{Printer, Terminal};
use crate::settings::Settings;

pub(crate) fn dispatch(
    mut cli: Cli,
    printer: &mut Printer,
    terminal: Terminal,
) -> Result<ExitCode> {
    // `-C` applies to the paths these commands take, as it does to everything else.
    if let Some(dir) = &cli.chdir {
        match &mut cli.command {
            Command::New(args) => args.dir = dir.join(&args.dir),
            Command::Sync(args) => {
                for repo in &mut args.repos {
                    *repo = dir.join(&*repo);
                }
            }
            _ => {}
        }
    }
    // Commands that need no settings at all.
    match &cli.command {
        Command::Completions(args) => return completions::completions(args, printer),
        Command::Man => return completions::man(printer),
        Command::New(args) => return new::run(args, printer),
        Command::Prompt(args) => {
            prompt::run(&cli, args);
            return Ok(ExitCode::Success);
        }
        _ => {}
    }
    let ci = terminal.ci || cli.non_interactive;
    let settings = Settings::load(&cli, crate::process_env(), ci)?;
    for secret in settings.secrets() {
        printer.add_secret(&secret);
    }
    crate::printer::test_panic();
    // `drift --json` prints its report on stdout, and init may run first.
    if matches!(&cli.command, Command::Drift(args) if args.json) {
        printer.set_stdout_is_data();
    }
    let ctx = Context {
        settings,
        printer: printer.clone(),
    };
    let many = cli.many.clone();
    if (many.all || !many.roots.is_empty() || many.changed.is_some())
        && !matches!(cli.command, Command::Roots(_) | Command::Drift(_))
    {
        return all::run(&ctx, &cli);
    }
    // Drift runs its own roots (`drift_all`): it reads back each root's report.
    if let Command::Drift(args) = &cli.command {
        return drift::run(&ctx, &cli, args);
    }
    match cli.command {
        Command::Init(args) => init::run(&ctx, &args),
        Command::Plan(args) => plan::run(&ctx, &args),
        Command::Apply(args) => apply::run(&ctx, &args),
        Command::Destroy(args) => destroy::run(&ctx, &args),
        Command::Validate(args) => validate::run(&ctx, &args),
        Command::Fmt(args) => fmt::run(&ctx, &args),
        Command::Graph(args) => graph::run(&ctx, &args),
        Command::Clean(args) => clean::run(&ctx, &args),
        Command::Doctor(args) => doctor::run(&ctx, &args),
        Command::Env(args) => env::run(&ctx, &args),
        Command::Exec(args) => exec::run(&ctx, &args),
        Command::Use(args) => use_::run(&ctx, &args),
        Command::Locks(args) => locks::run(&ctx, &args),
        Command::Fleet(command) => fleet::run(&ctx, &command),
        Command::State(command) => state::run(&ctx, &command),
        Command::Adopt(args) => adopt::run(&ctx, &args),
        Command::Sync(args) => sync::run(&ctx, &args),
        Command::Setup(args) => setup::run(&ctx, &args),
        Command::CompleteStates(args) => crate::states::complete::run(&ctx, &args),
        Command::Roots(args) => roots::run(&ctx, &args, &many),
        Command::Ci(crate::cli::CiCommand::Pipeline(args)) => ci::run(&ctx, &args),
        Command::Completions(_)
        | Command::Man
        | Command::New(_)
        | Command::Prompt(_)
        | Command::Drift(_) => {
            unreachable!("handled above")
        }
    }
}
