//! `tfw init`: `terraform init -input=false -reconfigure` against the current state, so a
//! state switch never offers to migrate one state into another.

use anyhow::Result;

use crate::cli::PassThrough;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::session::{Root, Session};

pub(super) fn run(ctx: &Context, args: &PassThrough) -> Result<ExitCode> {
    // No `.env` yet, on a terminal: offer the setup wizard instead of only an error.
    let set_up = crate::commands::setup::offer(ctx)?;
    let ctx = set_up.as_ref().unwrap_or(ctx);
    let backend = ctx.backend()?;
    ctx.report(ctx.settings.git_ignored_problem().into_iter().collect())?;
    let session = Session::with_backend(ctx, backend, Root::Any)?;
    ctx.printer.status(&format!(
        "Initialising for state `{}` ({})",
        session.state(),
        session.backend.address()
    ));
    let outcome = session.init(args.args.clone())?;
    crate::diagnose::report(
        &ctx.printer,
        &ctx.settings,
        &session.backend,
        &outcome,
        "init",
    );
    Ok(outcome.exit_code())
}
