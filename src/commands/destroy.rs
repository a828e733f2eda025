//! `tfw destroy`: destroys everything in the current state. A protected state is refused
//! without `--allow-protected` before anything reaches the server; then it is a destroy plan
//! like any other, through the session's gate (which shows what goes), backup and apply.

use anyhow::Result;

use crate::cli::DestroyArgs;
use crate::confirm::needs_flag;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::session::{Approval, Root, Session, rules};
use crate::states::target;

pub(super) fn run(ctx: &Context, args: &DestroyArgs) -> Result<ExitCode> {
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
    // The destroy plan is applied with `apply`: that is the write that must keep the lock.
    rules::refuse_unlocked_write(
        &ctx.settings,
        &backend,
        &["apply"],
        &args.pass.args,
        "`tfw destroy`",
    )?;
    if ctx.printer.automation() && !args.auto_approve {
        return Err(needs_flag(&ctx.printer, "`tfw destroy`", "--auto-approve"));
    }
    crate::states::protection::guard_write(ctx, &backend, "destroy")?;
    let session = Session::with_backend(ctx, backend, Root::Gitlab)?;
    if target::check(ctx, &session.backend, target::Write::Destroy)? == target::Next::NothingToDo {
        return Ok(ExitCode::Success);
    }
    let made = session.plan(&args.pass.args, true, false)?;
    if made.meta.is_none() {
        return Ok(made.outcome.exit_code());
    }
    let approval = Approval {
        auto_approve: args.auto_approve,
        allow_protected: args.allow_protected,
        flag: "--auto-approve",
        reviewed: None,
    };
    session.apply(&approval, "destroy")
}
