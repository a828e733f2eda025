//! `tfw plan`: plans against the current state through the session (which saves the plan
//! with its metadata for `tfw apply`), and writes GitLab's plan report when asked.

use anyhow::Result;

use crate::cli::PlanArgs;
use crate::context::Context;
use crate::session::{Root, Session};
use crate::states::target;

pub fn run(ctx: &Context, args: &PlanArgs) -> Result<i32> {
    let session = Session::open(ctx, Root::Gitlab)?;
    target::check(ctx, &session.backend, target::Write::Plan)?;
    let made = session.plan(&args.pass.args, false, args.no_lock)?;
    // In place of terraform's "run terraform apply PLAN", dropped from its output.
    if made.meta.is_some() && !args.no_lock && !made.outcome.stdout.contains("No changes.") {
        ctx.printer
            .status(&format!("`{}` applies exactly this plan", ctx.tfw("apply")));
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
