//! `tfw drift`: has the real infrastructure moved away from the state? A refresh-only plan
//! (`plan -refresh-only -detailed-exitcode`) without the lock (`-lock=false`: it writes
//! nothing, so a Developer's read-only token is enough and nobody is blocked), into its own
//! file so a reviewed plan in `.tfw/plans/` is never replaced. Exit 0 in sync, 2 drifted,
//! 1 failed (`states::drift` reads the plan). `--issues` keeps the state's GitLab issue
//! (`states::drift_issue`); `--all` checks every root (`drift_all`), each root running the
//! states of its `drift` list one after the other here (`--listed`: they share `.terraform/`).

use std::ffi::OsString;

use anyhow::Result;
use serde_json::Value;

use super::drift_all::Row;
use crate::backend::Backend;
use crate::backend::gitlab::Client;
use crate::cli::{Cli, DriftArgs};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::{Problem, Problems};
use crate::runner::Output;
use crate::session::{Root, Session};
use crate::states::drift::{IssueAction, IssueOutcome, Report, Status};
use crate::states::drift_issue;

pub(super) fn run(ctx: &Context, cli: &Cli, args: &DriftArgs) -> Result<ExitCode> {
    if args.all || cli.many.all || !cli.many.roots.is_empty() || cli.many.changed.is_some() {
        return super::drift_all::run(ctx, cli, args);
    }
    if args.listed {
        return listed(ctx, args);
    }
    let backend = ctx.backend()?;
    let mut report = match check(ctx, backend.clone(), args.json)? {
        Checked::Report(report) => report,
        Checked::Interrupted(code) => return Ok(code),
    };
    let kept = args
        .issues
        .then(|| keep_issue(ctx, &backend, &mut report))
        .flatten();
    print(ctx, &report, args.json)?;
    // The report is out first: an issue that could not be kept must not hide the drift.
    if let Some(problem) = kept {
        return Err(problem.into());
    }
    Ok(match report.status {
        Status::InSync => ExitCode::Success,
        Status::Drifted => ExitCode::Found,
        Status::Failed => ExitCode::Failure,
    })
}

/// How one state's check ended.
enum Checked {
    Report(Report),
    /// Stopped by a signal: tfw's exit code.
    Interrupted(ExitCode),
}

/// The refresh-only plan of one state, read back.
fn check(ctx: &Context, backend: Backend, json: bool) -> Result<Checked> {
    let state = backend.state_name().to_string();
    // A state GitLab does not have would "drift" by everything the configuration declares.
    if let Ok(false) = Client::new(&backend).state_exists(&state) {
        return Ok(Checked::Report(Report::failed(
            &state,
            format!("GitLab has no state `{state}`: there is nothing to compare with"),
        )));
    }
    let session = Session::with_backend(ctx, backend, Root::Gitlab)?;
    session.init_if_needed()?;
    let plan = crate::layout::drift_plans(ctx.dir())
        .join(format!("{}.tfplan", crate::backend::file_name(&state)));
    crate::fsutil::no_symlinked_tfw_folder(&plan)?;
    std::fs::create_dir_all(plan.parent().expect("drift plans live in a folder"))?;
    let mut terraform_args: Vec<OsString> = [
        "plan",
        "-refresh-only",
        "-detailed-exitcode",
        "-lock=false",
        "-input=false",
    ]
    .map(OsString::from)
    .to_vec();
    terraform_args.push(format!("-out={}", plan.display()).into());
    terraform_args.extend(ctx.color_args());
    // With --json, stdout is the report alone: terraform's own output goes to the log only.
    let output = if json {
        Output::CaptureStdout
    } else {
        Output::Tee
    };
    let outcome = session.terraform(terraform_args, output)?;
    if outcome.interrupted {
        let _ = std::fs::remove_file(&plan);
        return Ok(Checked::Interrupted(outcome.exit_code()));
    }
    let report = match outcome.code {
        0 | 2 => match session.show_json(&plan) {
            Ok(shown) => Report::from_plan(&state, &shown, outcome.code == 2),
            Err(_) => Report::failed(
                &state,
                "terraform could not show the refresh-only plan".into(),
            ),
        },
        code => Report::failed(
            &state,
            format!("terraform's refresh-only plan failed (exit {code})"),
        ),
    };
    let _ = std::fs::remove_file(&plan);
    Ok(Checked::Report(report))
}

/// Keeps the state's issue and says what happened; the problem when it could not.
fn keep_issue(ctx: &Context, backend: &Backend, report: &mut Report) -> Option<Problem> {
    match drift_issue::keep(ctx, &backend.for_state(&report.state), report) {
        Ok(outcome) => {
            if let Some(line) = drift_issue::describe(&report.state, &outcome) {
                ctx.printer.status(&line);
            }
            report.issue = Some(outcome);
            None
        }
        Err(problem) => {
            report.issue = Some(IssueOutcome {
                action: IssueAction::Failed,
                iid: None,
                web_url: None,
                error: Some(problem.message.clone()),
            });
            Some(problem)
        }
    }
}

fn print(ctx: &Context, report: &Report, json: bool) -> Result<()> {
    if json {
        return ctx.printer.json(report);
    }
    ctx.printer.lines(report.lines())?;
    Ok(())
}

/// What an error says, in one line, for a row of the report.
pub(super) fn reason(err: &anyhow::Error) -> String {
    let one = |problem: &Problem| match &problem.location {
        Some(at) => format!("{} ({at})", problem.message),
        None => problem.message.clone(),
    };
    if let Some(problem) = err.downcast_ref::<Problem>() {
        return one(problem);
    }
    if let Some(Problems(problems)) = err.downcast_ref::<Problems>() {
        let errors: Vec<String> = problems.iter().filter(|p| p.is_error()).map(one).collect();
        return errors.join("; ");
    }
    err.to_string()
}

/// `--listed`: every state of this root's `drift` list (or its own state), one after the
/// other, each a row; a state that cannot be checked is a row that says why, not the end.
fn listed(ctx: &Context, args: &DriftArgs) -> Result<ExitCode> {
    let base = ctx.backend();
    let names: Vec<String> = match &ctx.settings.project.file.drift {
        Some(names) => names.clone(),
        None => match (&base, ctx.settings.state()) {
            (Ok(backend), _) => vec![backend.state_name().to_string()],
            (Err(_), Some(state)) => vec![state.value],
            (Err(err), None) => return Err(anyhow::anyhow!(reason(err))),
        },
    };
    if let Err(err) = &base {
        ctx.printer.failure(err);
    }
    let mut rows = Vec::new();
    for name in names {
        let report = match &base {
            Err(err) => Report::failed(&name, reason(err)),
            Ok(backend) => match check(ctx, backend.for_state(&name), args.json) {
                Ok(Checked::Report(mut report)) => {
                    if args.issues {
                        if let Some(problem) = keep_issue(ctx, backend, &mut report) {
                            ctx.printer.problem(&problem);
                        }
                    }
                    report
                }
                Ok(Checked::Interrupted(code)) => return Ok(code),
                Err(err) => {
                    ctx.printer.failure(&err);
                    Report::failed(&name, reason(&err))
                }
            },
        };
        if !args.json {
            print(ctx, &report, false)?;
        }
        rows.push(Row::of(&report, &super::drift_all::root_of(ctx))?);
    }
    match &args.report_file {
        Some(path) => {
            let path = ctx.dir().join(path);
            let shown: Vec<&Value> = rows.iter().map(|row| &row.json).collect();
            crate::fsutil::write_atomic(&path, &serde_json::to_vec_pretty(&shown)?, 0o600)?;
            Ok(super::drift_all::exit_code(&rows))
        }
        None => super::drift_all::finish(&ctx.printer, rows, args.json),
    }
}
