//! `tfw plan`: plans against the current state through the session (which saves the plan
//! with its metadata for `tfw apply`), and writes GitLab's plan report when asked. A plan
//! takes the state's lock, and GitLab's protection rules guard the lock as they guard writes
//! (403): when the state's rule will refuse it from here, the plan goes without the lock at
//! once (it only reads), saying which rule, instead of being refused halfway.

use anyhow::Result;

use crate::cli::PlanArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::plans::Summary;
use crate::session::{Root, Session};
use crate::states::target;

pub(super) fn run(ctx: &Context, args: &PlanArgs) -> Result<ExitCode> {
    let session = Session::open(ctx, Root::Gitlab)?;
    target::check(ctx, &session.backend, target::Write::Plan)?;
    let mut extra = args.pass.args.clone();
    let refused = !args.no_lock && lock_refused_by_rule(ctx, &session.backend);
    if refused {
        extra.push("-lock=false".into());
    }
    let made = session.plan(&extra, false, args.no_lock)?;
    // In place of terraform's "run terraform apply PLAN", dropped from its output.
    if made.meta.is_some()
        && !args.no_lock
        && !refused
        && !made.outcome.stdout.contains("No changes.")
    {
        ctx.printer
            .status(&format!("`{}` applies exactly this plan", ctx.tfw("apply")));
    }
    if let Some(meta) = &made.meta {
        warn_protected(ctx, &meta.state, &meta.summary);
    }
    if let (Some(meta), Some(path)) = (&made.meta, &args.json) {
        // The counts come from terraform's own plan output (no second terraform run on the
        // plan path); a replace counts in create and delete, as GitLab counts it.
        let path = ctx.dir().join(path);
        let report = meta.summary.gitlab_report().to_string();
        crate::fsutil::write_atomic(&path, report.as_bytes(), 0o644)?;
        ctx.printer
            .debug(&format!("wrote the plan report to {}", path.display()));
    }
    Ok(made.outcome.exit_code())
}

/// Whether the state's protection rule refuses its lock from here (then said, with the rule).
fn lock_refused_by_rule(ctx: &Context, backend: &crate::backend::Backend) -> bool {
    let Some(rule) = crate::states::protection::refuses_lock(ctx, backend) else {
        return false;
    };
    ctx.printer.note(&format!(
        "{}: GitLab would refuse the lock of `{state}` from here (403), so this plan does not ask for it (`-lock=false`: it only reads); `{state}` is applied through the pipeline",
        crate::states::protection::describe(&rule),
        state = backend.state_name()
    ));
    true
}

/// Said when the plan is reviewed, from terraform's counts (a replace counts in "to destroy"):
/// the gate will refuse it. The gate itself reads the plan file before any apply, since the
/// counts are not a verdict of the file (and say nothing of a `forget`).
fn warn_protected(ctx: &Context, state: &str, summary: &Summary) {
    if summary.destroy == 0 || !ctx.settings.project.is_protected(state) {
        return;
    }
    ctx.printer.warning(&format!(
        "`{state}` is protected and this plan destroys or replaces {} resource(s): `tfw apply` refuses it without `--allow-protected`",
        summary.destroy
    ));
}
