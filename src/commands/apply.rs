//! `tfw apply`: applies exactly what was reviewed. The saved plan of the current state is
//! used when it is fresh; otherwise tfw plans, shows the summary, asks, and applies that very
//! plan file. The remote state is backed up first. In CI only the saved plan artifact is
//! applied unless `--replan`.

use std::ffi::OsString;

use anyhow::Result;

use crate::backend::Backend;
use crate::backend::gitlab::Client;
use crate::cli::ApplyArgs;
use crate::context::{Context, needs_flag};
use crate::engine::Engine;
use crate::plans;
use crate::problem::Problem;
use crate::runner::Output;
use crate::safety;

pub fn run(ctx: &Context, args: &ApplyArgs) -> Result<i32> {
    if ctx.printer.automation() && !args.auto_approve {
        return Err(unconfirmed(ctx, args));
    }
    let backend = ctx.backend()?;
    let engine = ctx.engine()?;
    ctx.lock_workdir()?;
    let files = plans::files_for(ctx.dir(), backend.state_name());
    let extra = &args.pass.args;

    // Extra arguments shape a plan (-target, -var...): they cannot go with a saved plan, so
    // they mean "plan with these, then apply that".
    let saved = if extra.is_empty() {
        files.load_meta()
    } else {
        None
    };
    let meta = match saved {
        Some(meta) => {
            let info = engine.info()?;
            plans::check_fresh(&meta, &backend, &info, &plans::config_hash(ctx.dir()))?;
            if meta.destroy {
                return Err(Problem::error(format!(
                    "the saved plan for `{}` is a destroy plan",
                    backend.state_name()
                ))
                .hint("run `tfw destroy` to apply it, or `tfw plan` for a normal plan")
                .into());
            }
            ctx.printer.status(&format!(
                "Using the saved plan for `{}` made at {}",
                meta.state, meta.created
            ));
            crate::commands::plan::print_summary(ctx, &meta.state, &meta.summary);
            meta
        }
        None => {
            if extra.is_empty()
                && let Some(other) = plans::pending_elsewhere(ctx.dir(), backend.state_name())
            {
                return Err(Problem::error(format!(
                    "the plan you reviewed (made at {}) is for state `{}`, but the current state is `{}`; nothing was changed",
                    other.created,
                    other.state,
                    backend.state_name()
                ))
                .hint(format!(
                    "run `tfw --state {} apply` to apply that plan, or `tfw plan` to review one for `{}` first",
                    other.state,
                    backend.state_name()
                ))
                .into());
            }
            if ctx.settings.ci && !args.replan {
                return Err(ci_refusal(backend.state_name(), !extra.is_empty(), true).into());
            }
            ctx.ensure_init(&engine, Some(&backend))?;
            let made = crate::commands::plan::make(ctx, &engine, &backend, extra, false, false)?;
            match made.meta {
                Some(meta) => meta,
                None => return Ok(made.outcome.exit_code()),
            }
        }
    };
    if !args.auto_approve {
        safety::confirm(
            ctx,
            &backend,
            "apply",
            &meta.summary.text(),
            "--auto-approve",
        )?;
    }
    apply_plan(ctx, &engine, &backend, &files.plan, "apply")
}

/// Nobody is there to confirm. In CI a missing saved plan is named in the same message (the
/// check is local, no network), so one failed job says everything that is missing.
fn unconfirmed(ctx: &Context, args: &ApplyArgs) -> anyhow::Error {
    if ctx.settings.ci
        && !args.replan
        && let (Some(backend), _) = ctx.settings.backend()
    {
        let state = backend.state_name();
        let with_args = !args.pass.args.is_empty();
        if with_args || plans::files_for(ctx.dir(), state).load_meta().is_none() {
            return ci_refusal(state, with_args, false).into();
        }
    }
    needs_flag("`tfw apply`", "--auto-approve")
}

/// In CI, apply takes only the plan a plan job saved (and a reviewer saw): planning here
/// would apply something nobody reviewed.
fn ci_refusal(state: &str, with_args: bool, confirmed: bool) -> Problem {
    let missing = if with_args {
        format!("extra terraform arguments need a new plan for state `{state}`")
    } else {
        format!("no saved plan for state `{state}`")
    };
    let unconfirmed = if confirmed {
        ""
    } else {
        " and no `--auto-approve`"
    };
    let args = if with_args { " -- ARGS" } else { "" };
    Problem::error(format!(
        "{missing}{unconfirmed}: in CI, `tfw apply` applies only the plan saved by `tfw plan` in an earlier job"
    ))
    .hint(format!(
        "run `tfw plan{args}` in an earlier job with `.tfw/plans/` as its artifact, then `tfw apply --auto-approve`; or `tfw apply --replan --auto-approve` to plan and apply in this job"
    ))
}

/// Backs up the remote state, then applies a plan file; the plan is consumed either way.
pub fn apply_plan(
    ctx: &Context,
    engine: &Engine,
    backend: &Backend,
    plan: &std::path::Path,
    action: &str,
) -> Result<i32> {
    ctx.ensure_init(engine, Some(backend))?;
    backup(ctx, backend)?;
    let mut args: Vec<OsString> = vec!["apply".into(), "-input=false".into()];
    args.extend(ctx.color_args());
    args.push(plan.as_os_str().to_owned());
    let outcome = ctx.terraform(engine, Some(backend), args, Output::Tee)?;
    plans::files_for(ctx.dir(), backend.state_name()).remove();
    if !outcome.success() && !outcome.interrupted {
        crate::diagnose::report(ctx, backend, &outcome, action);
    }
    if outcome.interrupted {
        ctx.printer.warning(&format!(
            "{action} interrupted: terraform was allowed to stop cleanly and release its lock; check `tfw state show` before running again"
        ));
    }
    Ok(outcome.exit_code())
}

/// Saves the current remote state locally before it changes. No backup, no apply.
pub fn backup(ctx: &Context, backend: &Backend) -> Result<()> {
    let spinner = ctx.printer.spinner("backing up the remote state");
    let result = Client::new(backend).get_state(backend.state_name());
    drop(spinner);
    match result {
        Ok(Some(bytes)) => {
            let path = crate::backups::save(
                ctx.dir(),
                backend.state_name(),
                &bytes,
                ctx.settings.project.backups_keep(),
            )?;
            let shown = path.strip_prefix(ctx.dir()).unwrap_or(&path);
            ctx.printer.status(&format!(
                "Backed up the current state to `{}`",
                shown.display()
            ));
            Ok(())
        }
        Ok(None) => {
            ctx.printer.debug("no remote state yet: nothing to back up");
            Ok(())
        }
        Err(err) => Err(err
            .problem(
                "cannot back up the remote state before changing it",
                backend,
            )
            .into()),
    }
}
