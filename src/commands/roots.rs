//! `tfw roots`: the repository's roots, each with the state `tfw -C ROOT` would use, whether
//! it is protected, and who holds its lock (one GitLab call per project, skipped with
//! `--offline`). Exit 1 when a root's settings are wrong or two roots share a state.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use crate::backend::gitlab::Client;
use crate::cli::{ManyRoots, RootsArgs};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::roots::changed::Since;
use crate::roots::{self, Resolved};

#[derive(Serialize)]
struct Row {
    root: String,
    dir: String,
    state: Option<String>,
    state_from: Option<String>,
    protected: Option<bool>,
    declared_in: Option<String>,
    lock: Option<StateLock>,
    /// With `--changed`: why it was selected.
    changed: Option<Vec<String>>,
    problems: Vec<Problem>,
}

#[derive(Serialize, Clone)]
struct StateLock {
    holder: Option<String>,
    since: Option<String>,
}

#[derive(Serialize)]
struct Report {
    roots: Vec<Row>,
    /// With `--changed`: what was compared.
    since: Option<SinceReport>,
    problems: Vec<Problem>,
}

#[derive(Serialize)]
struct SinceReport {
    #[serde(rename = "ref")]
    reference: String,
    base: String,
    files: usize,
}

pub(super) fn run(ctx: &Context, args: &RootsArgs, many: &ManyRoots) -> Result<ExitCode> {
    let mut many = many.clone();
    many.roots.extend(args.roots.iter().cloned());
    if args.changed.is_some() {
        many.changed.clone_from(&args.changed);
    }
    let (resolved, since) = selected_since(ctx, &many)?;
    let mut printer = ctx.printer.clone();
    for one in &resolved {
        for secret in one.settings.secrets() {
            printer.add_secret(&secret);
        }
    }
    let problems = roots::shared_states(&resolved);
    let mut warnings = Vec::new();
    let locks = if args.offline {
        BTreeMap::new()
    } else {
        locks(&resolved, &mut warnings)
    };
    for mut warning in warnings {
        // The listing stands without the locks: said, not fatal.
        warning.severity = crate::problem::Severity::Warning;
        printer.problem(&warning);
    }
    let rows: Vec<Row> = resolved
        .iter()
        .map(|one| {
            let state = one.state.as_ref();
            let lock = one
                .settings
                .backend()
                .0
                .and_then(|b| locks.get(&(b.base.clone(), b.state.value.clone())).cloned());
            Row {
                root: one.root.path.clone(),
                dir: one.root.dir.display().to_string(),
                state: state.map(|s| s.value.clone()),
                state_from: state.map(|s| s.origin.describe(&one.settings.env_file)),
                protected: one.protected(),
                declared_in: one
                    .root
                    .declared_in
                    .as_ref()
                    .map(|p| p.display().to_string()),
                lock,
                changed: since.as_ref().map(|_| one.root.changed.clone()),
                problems: one.problems.clone(),
            }
        })
        .collect();
    let failed = !problems.is_empty() || resolved.iter().any(Resolved::has_errors);
    let report = Report {
        roots: rows,
        since: since.map(|since| SinceReport {
            reference: since.reference,
            base: since.base,
            files: since.files.len(),
        }),
        problems,
    };
    if args.json {
        printer.outln(&serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::failed_if(failed));
    }
    print_table(&printer, &report.roots)?;
    for row in &report.roots {
        for problem in &row.problems {
            let mut problem = problem.clone();
            problem.message = format!("in `{}`: {}", row.root, problem.message);
            printer.problem(&problem);
        }
    }
    for problem in &report.problems {
        printer.problem(problem);
    }
    Ok(ExitCode::failed_if(failed))
}

/// The roots `--roots` and `--changed` select (all without them), with their settings.
/// The printer for a run over `resolved`: it masks every selected root's secrets, since each
/// root's output passes through it.
pub(crate) fn masking(ctx: &Context, resolved: &[Resolved]) -> crate::printer::Printer {
    let mut printer = ctx.printer.clone();
    for one in resolved {
        for secret in one.settings.secrets() {
            printer.add_secret(&secret);
        }
    }
    printer
}

pub(crate) fn selected(ctx: &Context, many: &ManyRoots) -> Result<Vec<Resolved>> {
    Ok(selected_since(ctx, many)?.0)
}

/// The same, and what `--changed` compared with.
pub(crate) fn selected_since(
    ctx: &Context,
    many: &ManyRoots,
) -> Result<(Vec<Resolved>, Option<Since>)> {
    let base = roots::base(&ctx.settings);
    let found = roots::find(&base)?;
    let mut chosen = roots::select(found, &many.roots)?;
    if let Some(reference) = &many.changed
        && !chosen.is_empty()
    {
        let since = roots::changed::since(&base, Some(reference))?;
        let reasons = roots::changed::reasons(&chosen, &base, &since);
        let total = chosen.len();
        chosen = chosen
            .into_iter()
            .zip(reasons)
            .filter(|(_, why)| !why.is_empty())
            .map(|(mut root, why)| {
                root.changed = why;
                root
            })
            .collect();
        let short = &since.base[..since.base.len().min(12)];
        if chosen.is_empty() {
            ctx.printer.status(&format!(
                "no root changed since `{}` (merge base {short}): nothing to run",
                since.reference
            ));
        } else {
            ctx.printer.status(&format!(
                "{} of {total} roots changed since `{}` (merge base {short})",
                chosen.len(),
                since.reference
            ));
        }
        return Ok((roots::resolve(chosen, &ctx.settings), Some(since)));
    }
    if chosen.is_empty() {
        return Err(Problem::error(format!(
            "no roots in `{}`: no folder has `backend \"http\"` in its *.tf files",
            base.display()
        ))
        .hint("add `terraform { backend \"http\" {} }` to each environment's folder, or declare them as `[roots.\"PATH\"]` in tfw.toml")
        .into());
    }
    Ok((roots::resolve(chosen, &ctx.settings), None))
}

/// Who holds each state's lock: one listing per project among the roots' backends.
fn locks(
    resolved: &[Resolved],
    warnings: &mut Vec<Problem>,
) -> BTreeMap<(String, String), StateLock> {
    let mut by_project = BTreeMap::new();
    for one in resolved {
        if let (Some(backend), _) = one.settings.backend() {
            by_project.entry(backend.base.clone()).or_insert(backend);
        }
    }
    let mut locks = BTreeMap::new();
    for (base, backend) in by_project {
        match Client::new(&backend).list_states() {
            Ok(states) => {
                for state in states.into_iter().filter(|s| s.locked_at.is_some()) {
                    locks.insert(
                        (base.clone(), state.name),
                        StateLock {
                            holder: state.locked_by.map(|u| u.username),
                            since: state.locked_at,
                        },
                    );
                }
            }
            Err(err) => {
                warnings.push(err.problem("cannot ask GitLab who holds the locks", &backend))
            }
        }
    }
    locks
}

fn print_table(printer: &crate::printer::Printer, rows: &[Row]) -> Result<()> {
    let width = |f: &dyn Fn(&Row) -> usize, title: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let root_w = width(&|r| r.root.len(), "ROOT");
    let state_w = width(&|r| r.state.as_deref().unwrap_or("?").len(), "STATE");
    printer.outln(&format!(
        "{:<root_w$}  {:<state_w$}  {:<9}  LOCK",
        "ROOT", "STATE", "PROTECTED"
    ))?;
    for row in rows {
        let protected = match row.protected {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        };
        let lock = match &row.lock {
            Some(lock) => format!(
                "{} since {}",
                lock.holder.as_deref().unwrap_or("someone"),
                lock.since.as_deref().unwrap_or("?")
            ),
            None => "-".into(),
        };
        let line = format!(
            "{:<root_w$}  {:<state_w$}  {:<9}  {lock}",
            row.root,
            row.state.as_deref().unwrap_or("?"),
            protected
        );
        printer.outln(&line)?;
        for why in row.changed.iter().flatten() {
            printer.outln(&format!("  {why}"))?;
        }
    }
    Ok(())
}
