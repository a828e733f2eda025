//! `tfw use`: list and switch states, like kubectx. `tfw use` lists (a fuzzy picker on a
//! terminal), `tfw use NAME` switches by rewriting `TF_STATE_NAME` in `.env`, `tfw use -`
//! goes back. Shell completion of state names is `states::complete`.

use std::io::IsTerminal;

use anyhow::Result;

use crate::backend::gitlab::Client;
use crate::cli::UseArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::states::listing::Listing;
use crate::states::protection::{self, Lookup};
use crate::states::remote::{Remote, nearest};
use crate::states::switch::{self, Switch};

pub(super) fn run(ctx: &Context, args: &UseArgs) -> Result<ExitCode> {
    match args.name.as_deref() {
        Some("-") => {
            let previous = switch::previous(ctx).ok_or_else(|| {
                Problem::error("there is no previous state to go back to")
                    .hint("`tfw use NAME` switches and remembers where you came from")
            })?;
            switch_to(ctx, &previous, false)
        }
        Some(name) => switch_to(ctx, name, !args.new),
        None => list_or_pick(ctx, args.json),
    }
}

fn list_or_pick(ctx: &Context, json: bool) -> Result<ExitCode> {
    let remote = Remote::new(ctx)?;
    let listing = Listing::fetch(&remote)?;
    if json {
        listing.print_json(&ctx.printer)?;
        return Ok(ExitCode::Success);
    }
    // `tfw use | grep x` wants the list, as kubectx does when its output is not a terminal.
    if !ctx.printer.interactive() || !std::io::stdout().is_terminal() {
        listing.print_table(ctx)?;
        return Ok(ExitCode::Success);
    }
    pick(ctx, &listing)
}

fn pick(ctx: &Context, listing: &Listing) -> Result<ExitCode> {
    let items: Vec<crate::picker::Choice> = listing
        .picker_items()
        .iter()
        .zip(&listing.states)
        .map(|(line, row)| crate::picker::Choice {
            name: row.name.clone(),
            line: ctx.printer.mask(line).into_owned(),
        })
        .collect();
    let default = listing.states.iter().position(|r| r.current);
    match crate::picker::pick("State (type to filter, Esc to cancel)", &items, default)? {
        Some(index) => switch_to(ctx, &listing.states[index].name, false),
        None => {
            ctx.printer.status("nothing changed");
            Ok(ExitCode::Success)
        }
    }
}

/// Switches `.env` to `name`; with `check`, a name GitLab does not know is refused (a typo
/// would otherwise create a new, empty state at the next apply) unless it is your own.
fn switch_to(ctx: &Context, name: &str, check: bool) -> Result<ExitCode> {
    let printer = &ctx.printer;
    // A run in progress here read `.env` already, but its plan and init are for the old state.
    crate::session::take_run_lock(ctx, Some(name))?;
    if check {
        check_exists(ctx, name)?;
    }
    match switch::switch(ctx, name)? {
        Switch::AlreadyThere => printer.status(&format!("already on state `{name}`")),
        Switch::Done { from } => {
            let from = from.map_or(String::new(), |f| {
                format!(" (from `{f}`; `tfw use -` goes back)")
            });
            printer.status(&format!("switched to state {}{from}", printer.bold(name)));
        }
    }
    if ctx.settings.project.is_protected(name) {
        printer.warning(&format!(
            "`{name}` is a PROTECTED, shared state: plan freely, but apply and destroy will make you type its name"
        ));
    }
    if check {
        show_rule(ctx, name);
    }
    if let Some(shell) = ctx
        .settings
        .env
        .get("TF_STATE_NAME")
        .filter(|v| !v.is_empty())
        && shell != name
    {
        printer.warning(&format!(
            "TF_STATE_NAME=`{shell}` is set in your shell and wins over .env: tfw keeps using `{shell}` until you run `unset TF_STATE_NAME`"
        ));
    }
    Ok(ExitCode::Success)
}

/// GitLab's protection rule of `name`, when this GitLab has rules and one covers it.
fn show_rule(ctx: &Context, name: &str) {
    let (Some(backend), _) = ctx.settings.backend() else {
        return;
    };
    let backend = backend.for_state(name);
    let Lookup::Rule(rule) = protection::lookup(&backend, name) else {
        return;
    };
    ctx.printer.note(&format!(
        "`{name}` is protected on GitLab: {}",
        protection::describe(&rule)
    ));
    if protection::refusal(ctx, &backend, &rule, None, "apply").is_some() {
        ctx.printer.warning(&format!(
            "GitLab will refuse apply and destroy of `{name}` from here: change it through the pipeline's apply job"
        ));
    }
}

/// Asks GitLab whether `name` exists. Unreachable GitLab is only a warning: switching is a
/// local edit and must work offline.
fn check_exists(ctx: &Context, name: &str) -> Result<()> {
    let (backend, _) = ctx.settings.backend();
    let Some(backend) = backend else {
        return Ok(());
    };
    if ctx
        .settings
        .project
        .is_personal(name, Some(&backend.username.value))
    {
        return Ok(());
    }
    let spinner = ctx
        .printer
        .spinner("asking GitLab for the project's states");
    let listed = Client::new(&backend).list_states();
    drop(spinner);
    let states = match listed {
        Ok(states) => states,
        Err(err) => {
            let problem = err.problem("cannot check that the state exists", &backend);
            ctx.printer.warning(&problem.message);
            return Ok(());
        }
    };
    if let Some(state) = states.iter().find(|s| s.name == name) {
        return match &state.deleted_at {
            None => Ok(()),
            Some(since) => Err(Problem::error(format!(
                "state `{name}` is being deleted (since {since}); nothing was changed"
            ))
            .hint(format!("GitLab refuses every call about it until its background worker has removed it, usually within minutes; then `tfw use {name} --new` starts a new state of that name"))
            .into()),
        };
    }
    let known: Vec<String> = states.into_iter().map(|s| s.name).collect();
    let problem = Problem::error(format!("GitLab has no state `{name}`; nothing was changed"));
    Err(match nearest(name, &known) {
        Some(near) => problem.hint(format!(
            "did you mean `tfw use {near}`? To start a new state `{name}`, run `tfw use {name} --new`"
        )),
        None => problem.hint(format!(
            "to start a new state, run `tfw use {name} --new` (the first apply creates it); `tfw use` lists the others"
        )),
    }
    .into())
}
