//! The plan step: `plan -out` for the session's state, its metadata saved next to it so
//! `tfw apply` applies exactly what was reviewed, and the change summary read from
//! terraform's own output. One terraform process: the verdict the gate needs (`show -json`)
//! is read by whichever command applies the plan, for the bytes it applies (see
//! `session::gate`), not here, where most plans are only looked at.

use std::ffi::OsString;

use anyhow::Result;
use console::Style;

use crate::context::Context;
use crate::plans::{self, PlanMeta, Summary};
use crate::runner::{Outcome, Output};
use crate::safety;
use crate::session::Session;

pub(crate) struct Made {
    pub outcome: Outcome,
    /// Present when a plan file was written.
    pub meta: Option<PlanMeta>,
}

/// Runs `plan -out` for the current state and records its metadata. A lock conflict is
/// explained; a read-only role falls back to `-lock=false` (plan only, never apply).
pub(crate) fn make(
    session: &Session,
    extra: &[String],
    destroy: bool,
    no_lock: bool,
) -> Result<Made> {
    let (ctx, backend, engine) = (session.ctx, &session.backend, &session.engine);
    let team = &ctx.settings.project.file.args;
    let team = if destroy { &team.destroy } else { &team.plan };
    crate::session::rules::refuse_plan_out(extra)?;
    crate::session::rules::refuse_plan_out(team)?;
    session.init_if_needed()?;
    let files = plans::files_for(ctx.dir(), backend.state_name());
    // A failed plan must not leave an older one looking like its result.
    files.remove();
    // Private before terraform writes the plan into it with its umask's mode.
    crate::fsutil::private_dir(files.plan.parent().expect("plans live in a folder"))?;
    let files_hash = plans::config_hash(ctx.dir());
    let detailed = extra.iter().any(|a| a == "-detailed-exitcode");
    let build = |no_lock: bool| {
        let mut args: Vec<OsString> = vec![
            "plan".into(),
            "-input=false".into(),
            format!("-out={}", files.plan.display()).into(),
        ];
        if destroy {
            args.push("-destroy".into());
        }
        if no_lock {
            args.push("-lock=false".into());
        }
        args.extend(ctx.color_args());
        // tfw.toml's `[args]` first, so the command line's own extra arguments still win.
        let team = &ctx.settings.project.file.args;
        let team = if destroy { &team.destroy } else { &team.plan };
        args.extend(team.iter().chain(extra).map(OsString::from));
        args
    };
    if no_lock {
        ctx.printer.note("planning without the state lock (--no-lock): fine for reading, and tfw never applies without it");
    }
    let mut outcome = session.terraform(build(no_lock), Output::Tee)?;
    if !outcome.success()
        && !no_lock
        && !outcome.interrupted
        && safety::is_lock_forbidden(&outcome.stderr)
    {
        ctx.printer.note(
            "GitLab refused the lock (403 Forbidden): planning again with -lock=false, which only reads",
        );
        outcome = session.terraform(build(true), Output::Tee)?;
    }
    let ok = outcome.code == 0 || (detailed && outcome.code == 2);
    if !ok || outcome.interrupted {
        if !outcome.interrupted {
            crate::diagnose::report(&ctx.printer, &ctx.settings, backend, &outcome, "plan");
        }
        crate::stopped::report(&ctx.printer, &ctx.settings, backend, &outcome, "plan");
        files.remove();
        return Ok(Made {
            outcome,
            meta: None,
        });
    }
    let summary = match Summary::from_plan_output(&outcome.stdout) {
        Some(summary) => summary,
        // Only when terraform's output carried no summary (an unknown wording, say): a
        // wrong "0 changes" in a review is worse than one more terraform run.
        None => summary_from_show(session, &files.plan)?,
    };
    // The file whose output was just shown: `apply` refuses any other bytes in its place.
    let plan_sha256 = plans::plan_sha256(&files.plan).unwrap_or_default();
    let no_changes = (detailed && outcome.code == 0) || said_no_changes(&outcome.stdout);
    let info = engine.info()?;
    let meta = PlanMeta {
        state: backend.state_name().to_string(),
        address: backend.address(),
        program: engine.program.clone(),
        product: info.product,
        version: info.version,
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        files_hash,
        summary,
        destroy,
        tfw_version: env!("CARGO_PKG_VERSION").into(),
        plan_sha256,
        no_changes,
    };
    // Unflushed: losing it in a power cut means "no saved plan", so apply plans again.
    crate::fsutil::write_atomic_unflushed(&files.meta, &serde_json::to_vec_pretty(&meta)?, 0o600)?;
    print_summary(ctx, backend.state_name(), &summary);
    Ok(Made {
        outcome,
        meta: Some(meta),
    })
}

/// terraform's own "No changes." line, at the start of a line as terraform prints it (a
/// value in the diff that happens to say so is indented).
fn said_no_changes(stdout: &str) -> bool {
    crate::runner::strip_ansi(stdout)
        .lines()
        .any(|line| line.starts_with("No changes."))
}

fn summary_from_show(session: &Session, plan: &std::path::Path) -> Result<Summary> {
    session
        .ctx
        .printer
        .debug("no change summary in terraform's output: reading the plan with `show -json`");
    match session.show_json(plan) {
        Ok(shown) => Ok(Summary::from_show_json(&shown)),
        Err(_) => Err(crate::problem::Problem::error(
            "cannot count the plan's changes: terraform printed no summary and `show -json` failed",
        )
        .hint(format!(
            "the plan was saved; run `{}` again, with -v to see more",
            session.ctx.tfw("plan")
        ))
        .into()),
    }
}

pub(crate) fn print_summary(ctx: &Context, state: &str, summary: &Summary) {
    let printer = &ctx.printer;
    let mut text = summary.phrase();
    if summary.destroy > 0 {
        let destroy = format!("{} to destroy", summary.destroy);
        text = text.replace(
            &destroy,
            &printer.paint(&destroy, Style::new().red().bold()),
        );
    }
    printer.status(&format!(
        "{}: {text}",
        printer.bold(&format!("Plan for `{state}`"))
    ));
}
