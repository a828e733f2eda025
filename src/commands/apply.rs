//! `tfw apply`: applies exactly what was reviewed. The saved plan of the current state is
//! used when it is fresh; otherwise (none, or an out-of-date one) tfw plans, shows the plan and
//! applies that very plan file. Either way the session's gate reads the plan and asks (or,
//! without a terminal, names the flag that confirms), and the remote state is backed up
//! first. In CI only the saved plan artifact is applied unless `--replan`.

use anyhow::Result;

use crate::cli::ApplyArgs;
use crate::confirm::needs_flag;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::plans;
use crate::problem::Problem;
use crate::session::{Approval, Root, Session, rules};
use crate::states::target;

pub(super) fn run(ctx: &Context, args: &ApplyArgs) -> Result<ExitCode> {
    // `tfw --all apply`'s child that only reads its root's plan, before the question.
    if let Some(sha256) = &args.verdict {
        return super::all_verdict::child(ctx, sha256);
    }
    // CI applies only a saved plan, and nobody can confirm there: refused before anything is
    // contacted. Elsewhere, without a terminal, the plan is still made and shown; the gate
    // then names the flag that confirms it.
    if ctx.settings.ci && !args.auto_approve {
        return Err(unconfirmed(ctx, args));
    }
    let backend = ctx.backend()?;
    let extra = &args.pass.args;
    rules::refuse_unlocked_write(&ctx.settings, &backend, &["apply"], extra, "`tfw apply`")?;
    crate::states::protection::guard_write(ctx, &backend, "apply")?;
    let session = Session::with_backend(ctx, backend, Root::Gitlab)?;
    let write = target::Write::Apply {
        auto_approve: args.auto_approve,
        new_state: args.new_state,
    };
    target::check(ctx, &session.backend, write)?;
    let state = session.state();
    let files = plans::files_for(ctx.dir(), state);

    // Extra arguments shape a plan (-target, -var...): they cannot go with a saved plan, so
    // they mean "plan with these, then apply that".
    let saved = if extra.is_empty() {
        files.load_meta()
    } else {
        None
    };
    let saved = match saved {
        Some(meta) => fresh_or_replan(ctx, args, &session, meta)?,
        None => None,
    };
    match saved {
        Some(meta) => {
            if meta.destroy {
                return Err(Problem::error(format!(
                    "the saved plan for `{state}` is a destroy plan"
                ))
                .hint(format!(
                    "run `{}` to apply it, or `{}` for a normal plan",
                    ctx.tfw("destroy"),
                    ctx.tfw("plan")
                ))
                .into());
            }
            ctx.printer.status(&format!(
                "Using the saved plan for `{}` made at {}",
                meta.state, meta.created
            ));
            crate::session::plan::print_summary(ctx, &meta.state, &meta.summary);
        }
        None if args.reviewed_plan.is_some() => {
            return Err(Problem::error(format!(
                "the plan reviewed for `{state}` is gone or unreadable: refused, nothing was changed"
            ))
            .at(&files.plan, None)
            .hint("run `tfw plan` in that root again, review it, then apply")
            .into());
        }
        None => {
            if extra.is_empty()
                && let Some(other) = plans::pending_elsewhere(ctx.dir(), state)
            {
                return Err(Problem::error(format!(
                    "the plan you reviewed (made at {}) is for state `{}`, but the current state is `{state}`; nothing was changed",
                    other.created,
                    other.state,
                ))
                .hint(format!(
                    "run `tfw --state {} apply` to apply that plan, or `{}` to review one for `{state}` first",
                    other.state,
                    ctx.tfw("plan"),
                ))
                .into());
            }
            if ctx.settings.ci && !args.replan {
                return Err(ci_refusal(ctx, state, !extra.is_empty(), true).into());
            }
            let made = session.plan(extra, false, false)?;
            if made.meta.is_none() {
                return Ok(made.outcome.exit_code());
            }
        }
    }
    let approval = Approval {
        auto_approve: args.auto_approve,
        allow_protected: args.allow_protected,
        flag: "--auto-approve",
        reviewed: args.reviewed_plan.as_deref(),
    };
    session.apply(&approval, "apply")
}

/// The saved plan when it may still be applied. One that may not (the configuration, the
/// binary or the state changed since) is withdrawn and a new plan is made, shown and asked
/// about, as with no saved plan at all; except where nobody would look at the new one
/// (`--auto-approve`, or CI): someone reviewed the old plan and expects exactly it, so that
/// is refused.
fn fresh_or_replan(
    ctx: &Context,
    args: &ApplyArgs,
    session: &Session,
    meta: plans::PlanMeta,
) -> Result<Option<plans::PlanMeta>> {
    let info = session.engine.info()?;
    let hash = plans::config_hash(ctx.dir());
    let Err(why) = plans::check_fresh(&meta, &session.backend, &info, &hash) else {
        return Ok(Some(meta));
    };
    if args.auto_approve || ctx.settings.ci {
        let hint = if ctx.settings.ci {
            format!(
                "run `{}` again and apply the plan it saves; nothing was changed",
                ctx.tfw("plan")
            )
        } else {
            format!(
                "run `{}` again and review it, or `{}` without `--auto-approve` to plan, review and confirm in one go; nothing was changed",
                ctx.tfw("plan"),
                ctx.tfw("apply")
            )
        };
        return Err(
            Problem::error(format!("the saved plan cannot be applied: {why}"))
                .hint(hint)
                .into(),
        );
    }
    ctx.printer.note(&format!(
        "the saved plan for `{}` is out of date ({why}): planning again",
        session.state()
    ));
    plans::files_for(ctx.dir(), session.state()).remove();
    Ok(None)
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
            return ci_refusal(ctx, state, with_args, false).into();
        }
    }
    needs_flag(&ctx.printer, "`tfw apply`", "--auto-approve")
}

/// In CI, apply takes only the plan a plan job saved (and a reviewer saw): planning here
/// would apply something nobody reviewed.
fn ci_refusal(ctx: &Context, state: &str, with_args: bool, confirmed: bool) -> Problem {
    // CI mode is also `--non-interactive` on a workstation: said as what the person typed.
    let ci = ctx
        .settings
        .env
        .get("CI")
        .is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    let mode = if ci {
        "in CI"
    } else {
        "with `--non-interactive`"
    };
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
        "{missing}{unconfirmed}: {mode}, `tfw apply` applies only the plan saved by `tfw plan` in an earlier job"
    ))
    .hint(format!(
        "run `tfw plan{args}` in an earlier job with `.tfw/plans/` as its artifact, then `tfw apply --auto-approve`; or `tfw apply --replan --auto-approve` to plan and apply in this job"
    ))
}
