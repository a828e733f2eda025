//! `tfw destroy`: destroys everything in the current state. A protected state is refused
//! without `--allow-protected` before anything reaches the server; a person confirms after
//! seeing the destroy plan; the state is backed up first.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::DestroyArgs;
use crate::commands::apply::{apply_plan, backup};
use crate::context::{Context, needs_flag};
use crate::problem::Problem;
use crate::runner::Output;
use crate::safety;

pub fn run(ctx: &Context, args: &DestroyArgs) -> Result<i32> {
    let backend = ctx.backend()?;
    let state = backend.state_name();
    if ctx.settings.project.is_protected(state) && !args.allow_protected {
        return Err(Problem::error(format!(
            "`{state}` is a protected state: destroy refused, nothing was changed"
        ))
        .hint(format!(
            "if you really mean to destroy `{state}`, add `--allow-protected` (and confirm by typing its name)"
        ))
        .into());
    }
    if ctx.printer.automation() && !args.auto_approve {
        return Err(needs_flag("`tfw destroy`", "--auto-approve"));
    }
    let engine = ctx.engine()?;
    ctx.lock_workdir()?;
    ctx.ensure_init(&engine, Some(&backend))?;
    if args.auto_approve {
        backup(ctx, &backend)?;
        let mut tf: Vec<OsString> = vec![
            "destroy".into(),
            "-input=false".into(),
            "-auto-approve".into(),
        ];
        tf.extend(ctx.color_args());
        tf.extend(args.pass.args.iter().map(OsString::from));
        let outcome = ctx.terraform(&engine, Some(&backend), tf, Output::Tee)?;
        if !outcome.success() && !outcome.interrupted {
            crate::diagnose::report(ctx, &backend, &outcome, "destroy");
        }
        return Ok(outcome.exit_code());
    }
    let made = crate::commands::plan::make(ctx, &engine, &backend, &args.pass.args, true, false)?;
    let Some(meta) = made.meta else {
        return Ok(made.outcome.exit_code());
    };
    let files = crate::plans::files_for(ctx.dir(), state);
    if let Err(err) = safety::confirm(
        ctx,
        &backend,
        "destroy",
        &meta.summary.text(),
        "--auto-approve",
    ) {
        // A destroy plan nobody confirmed must not linger as the state's saved plan.
        files.remove();
        return Err(err);
    }
    apply_plan(ctx, &engine, &backend, &files.plan, "destroy")
}
