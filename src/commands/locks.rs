//! `tfw locks [--group GROUP]`: every locked state of the project or group, who holds it,
//! since when, its CI job, and whether it is stale (`states::locks`). For a scheduled job
//! the exit code is the answer: 0 nothing stale, 2 a stale lock, 3 some project could not be
//! listed (each such project is a row saying why), 1 an error.

use anyhow::Result;

use crate::backend::gitlab::ApiError;
use crate::cli::LocksArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::states::listing::{age, columns};
use crate::states::locks::{Report, human, report};
use crate::states::remote::Remote;

pub(super) fn run(ctx: &Context, args: &LocksArgs) -> Result<ExitCode> {
    let stale_after = ctx.settings.project.stale_lock_after()?;
    let remote = Remote::new(ctx)?;
    let state = remote.target(None);
    let group = args.group.as_deref();
    let what = match group {
        Some(group) => format!("list the locked states of group `{group}`"),
        None => "list the project's locked states".to_string(),
    };
    let spinner = ctx.printer.spinner(&format!("asking GitLab to {what}"));
    let listed = remote.client.locked_states(group);
    drop(spinner);
    let locks = match (listed, group) {
        (Ok(locks), _) => locks,
        (Err(ApiError::Status { code: 404, .. }), Some(group)) => {
            return Err(Problem::error(format!("GitLab shows no group `{group}`"))
                .hint("give the group's full path (`parent/child`), and check that your token's user is a member")
                .into());
        }
        (Err(err), _) => return Err(remote.failure(&state, &what, &err)),
    };
    let scope = if group.is_some() { "group" } else { "project" };
    let report = report(scope, locks, stale_after);
    let code = if report.locks.iter().any(|r| r.stale) {
        ExitCode::Found
    } else if !report.complete {
        ExitCode::Unresolved
    } else {
        ExitCode::Success
    };
    if args.json {
        ctx.printer.json(&report)?;
    } else {
        print_table(ctx, &report)?;
    }
    Ok(code)
}

fn print_table(ctx: &Context, report: &Report) -> Result<()> {
    let printer = &ctx.printer;
    let header = ["PROJECT", "STATE", "HOLDER", "SINCE", "CI", "STALE"]
        .map(String::from)
        .to_vec();
    let rows = report.locks.iter().map(|row| {
        let ci = match (&row.job, &row.pipeline) {
            (Some(job), pipeline) => {
                let mut text = format!(
                    "{}{}",
                    job.name.as_deref().unwrap_or("job"),
                    job.id.map_or(String::new(), |id| format!(" #{id}"))
                );
                if let Some(id) = pipeline.as_ref().and_then(|p| p.id) {
                    text.push_str(&format!(" (pipeline #{id})"));
                }
                text
            }
            (None, _) => "-".into(),
        };
        vec![
            row.project.clone(),
            row.state.clone(),
            row.holder.clone().unwrap_or_else(|| "?".into()),
            row.since
                .as_deref()
                .map_or("-".into(), |s| age(s).unwrap_or_else(|| s.to_string())),
            ci,
            row.stale_reason
                .as_ref()
                .map_or("no".into(), |r| format!("STALE: {r}")),
        ]
    });
    let gaps = report.problems.iter().map(|p| {
        vec![
            p.project.clone(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            format!("not listed: {}", p.reason),
        ]
    });
    let rows: Vec<Vec<String>> = rows.chain(gaps).collect();
    if !rows.is_empty() {
        printer.lines(columns(std::iter::once(header).chain(rows).collect(), &[]))?;
    }
    let stale = report.locks.iter().filter(|r| r.stale).count();
    let projects = match report.projects {
        1 => "1 project".to_string(),
        n => format!("{n} projects"),
    };
    printer.status(&format!(
        "{} locked state(s) in {projects}, {stale} stale (older than {}, or their pipeline finished)",
        report.locks.len(),
        human(std::time::Duration::from_secs(report.stale_after_seconds))
    ));
    if !report.complete {
        printer.warning(&format!(
            "{} project(s) could not be listed (rows above say why): the answer is incomplete",
            report.problems.len()
        ));
    }
    if stale > 0 {
        printer.hint("`tfw --state NAME state unlock --force` releases a stale lock, after checking with its holder");
    }
    Ok(())
}
