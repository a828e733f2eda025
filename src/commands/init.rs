//! `tfw init`: `terraform init -input=false -reconfigure` against the current state, so a
//! state switch never offers to migrate one state into another.

use anyhow::Result;

use crate::cli::PassThrough;
use crate::context::Context;

pub fn run(ctx: &Context, args: &PassThrough) -> Result<i32> {
    // No `.env` yet, on a terminal: offer the setup wizard instead of only an error.
    let set_up = crate::commands::setup::offer(ctx)?;
    let ctx = set_up.as_ref().unwrap_or(ctx);
    let backend = ctx.backend()?;
    ctx.report(ctx.settings.git_ignored_problem().into_iter().collect())?;
    let engine = ctx.engine()?;
    ctx.printer.status(&format!(
        "Initialising for state `{}` ({})",
        backend.state_name(),
        backend.address()
    ));
    let outcome = ctx.init(&engine, Some(&backend), args.args.clone())?;
    crate::diagnose::report(ctx, &backend, &outcome, "init");
    Ok(outcome.exit_code())
}
