//! `tfw exec -- ARGS`: any terraform command with the backend environment set (the escape
//! hatch: `tfw exec -- state list`, `tfw exec -- console`). Output goes straight to the
//! terminal so interactive commands work. A command that writes the state (apply, import,
//! `state rm`...) is a change like `tfw apply`: on a protected state it needs
//! `--allow-protected` (and the typed name on a terminal), never skips the lock on a shared
//! state, and the state is backed up first.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::ExecArgs;
use crate::confirm::Ask;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::runner::Output;
use crate::session::{Root, Session, rules};

pub(super) fn run(ctx: &Context, args: &ExecArgs) -> Result<ExitCode> {
    let backend = ctx.backend()?;
    rules::refuse_chdir(&args.args)?;
    let writes = rules::writes_state(&args.args);
    let shown = format!("`tfw exec -- {}`", args.args.join(" "));
    if writes {
        let state = backend.state_name();
        if ctx.settings.project.is_protected(state) && !args.allow_protected {
            return Err(Problem::error(format!(
                "{shown} changes protected state `{state}`: refused, nothing was changed"
            ))
            .hint(format!(
                "if you really mean it, add `--allow-protected` before `--` (a backup is taken first); `tfw --state {state} plan` shows what an apply would do"
            ))
            .into());
        }
        let command = rules::command_words(&args.args);
        if command.first() == Some(&"force-unlock") {
            return Err(force_unlock_refused(state, &shown).into());
        }
        rules::refuse_unlocked_write(&ctx.settings, &backend, &command, &args.args, &shown)?;
        // GitLab's own rule for the state, before terraform takes the lock.
        crate::states::protection::guard_write(ctx, &backend, &shown)?;
    }
    let session = Session::with_backend(ctx, backend, Root::Any)?;
    let first = args.args.first().map(String::as_str);
    if !matches!(
        first,
        Some("init" | "version" | "fmt" | "-version" | "--version")
    ) {
        session.init_if_needed()?;
    }
    if writes {
        confirm_protected(&session, &shown)?;
        session.backup()?;
    }
    let tf: Vec<OsString> = args.args.iter().map(OsString::from).collect();
    // A person at a terminal gets terraform itself (prompts, `console`); a log gets the
    // output through tfw: secrets masked, and no colour where tfw shows none (not every
    // terraform subcommand takes `-no-color`).
    let output = if ctx.printer.interactive() {
        Output::Inherit
    } else {
        Output::Tee
    };
    Ok(session.terraform(tf, output)?.exit_code())
}

/// terraform's `force-unlock` releases whatever lock it is given, under a running apply too;
/// `tfw state unlock` asks GitLab who holds it first, and refuses while an apply of yours runs.
fn force_unlock_refused(state: &str, shown: &str) -> Problem {
    Problem::error(format!(
        "{shown} would release the lock of `{state}` without asking who holds it: refused, nothing was changed"
    ))
    .hint(format!(
        "run `tfw state unlock {state}`: it names the holder and refuses while a run of yours holds it (`--force` for someone else's lock)"
    ))
}

/// A protected state's name is typed on a terminal; without one, `--allow-protected` stands
/// in, and the log says so.
fn confirm_protected(session: &Session, shown: &str) -> Result<()> {
    let (ctx, state) = (session.ctx, session.state());
    if !ctx.settings.project.is_protected(state) {
        return Ok(());
    }
    if ctx.printer.interactive() {
        ctx.printer.warning(&format!(
            "{shown} changes `{state}`, a protected, shared state"
        ));
        return Ask {
            command: "tfw exec",
            action: &format!("run it on `{state}`"),
        }
        .typed(&ctx.printer, state, None);
    }
    ctx.printer.warning(&format!(
        "protected state `{state}`: {shown} approved by `--allow-protected`, without a terminal to type its name"
    ));
    Ok(())
}
