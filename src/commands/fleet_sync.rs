//! `tfw fleet sync`: a template version delivered to a group as merge requests
//! (`crate::fleet::sync`), in two passes: every selected project is read and planned (`-j`
//! at a time, nothing written), then the projects that need it get their commit and merge
//! request, in path order, at most `--limit`. Ctrl-C (or a CI cancel's SIGTERM) starts no
//! new project; one whose commit is made gets its merge request first. Then the table and
//! the worst exit code: 1 a project failed, 3 a merge request is a draft with conflicts.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cli::FleetSyncArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::fleet::projects::{self, ProjectRef};
use crate::fleet::select::Filter;
use crate::fleet::sync::{self as fleet_sync, Outcome, Planned, Row};
use crate::fleet::writes::WRITE_SCOPE;
use crate::printer::Printer;
use crate::template::report::worst;
use crate::template::source::Spec;

/// Ctrl-C and its kin: the first one stops starting projects; tfw exits 128+n once the
/// projects under way are finished.
struct Stop {
    signal: Arc<AtomicI32>,
    stopped: Arc<AtomicBool>,
    handle: signal_hook::iterator::Handle,
    /// Given back, before `handle` closes, when the command is done.
    handed_over: Option<crate::runner::signals::HandedOver>,
    /// The progress bar on the terminal now, if any: the warning is printed above it, or it
    /// would be written into the bar's line and left there when the bar is cleared.
    bar: Arc<Mutex<Option<indicatif::ProgressBar>>>,
}

impl Stop {
    fn install(printer: &Printer) -> Result<Stop> {
        // This command answers signals itself (tfw's own handler would exit at once).
        let handed_over = Some(crate::runner::signals::hand_over());
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let handle = signals.handle();
        let (signal, stopped) = (
            Arc::new(AtomicI32::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let bar: Arc<Mutex<Option<indicatif::ProgressBar>>> = Arc::default();
        let (s, st, p, b) = (
            Arc::clone(&signal),
            Arc::clone(&stopped),
            printer.clone(),
            Arc::clone(&bar),
        );
        std::thread::spawn(move || {
            for received in signals.forever() {
                if !st.swap(true, Ordering::SeqCst) {
                    s.store(received, Ordering::SeqCst);
                    let warn = || {
                        p.warning("stopping: no new project starts; the ones under way finish with their merge request")
                    };
                    match &*b.lock().unwrap_or_else(|e| e.into_inner()) {
                        Some(bar) => bar.suspend(warn),
                        None => warn(),
                    }
                }
            }
        });
        Ok(Stop {
            signal,
            stopped,
            handle,
            handed_over,
            bar,
        })
    }

    /// A bar for a pass over `len` projects when `progress`, known to the signal thread.
    fn bar(&self, progress: bool, len: usize) -> Option<indicatif::ProgressBar> {
        let bar = progress.then(|| crate::template::fleet::bar(len));
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = bar.clone();
        bar
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

impl Drop for Stop {
    fn drop(&mut self) {
        self.handed_over.take();
        self.handle.close();
    }
}

fn select(listed: Vec<ProjectRef>, args: &FleetSyncArgs) -> Result<Vec<ProjectRef>> {
    let filter = Filter::new(&args.only, &args.exclude)?;
    Ok(listed
        .into_iter()
        .filter(|p| filter.takes(&p.path_with_namespace))
        .filter(|p| args.shard.is_none_or(|s| s.takes(p.id)))
        .collect())
}

/// One line per project off a terminal (CI logs), as it is done.
fn line(printer: &Printer, row: &Row) {
    let mut text = format!("{}: {}", row.project, row.outcome.as_str());
    if !row.detail.is_empty() {
        text.push_str(&format!(" ({})", row.detail));
    }
    if let Some(url) = &row.merge_request {
        text.push_str(&format!(" {url}"));
    }
    printer.status(&text);
}

pub(super) fn run(ctx: &Context, args: &FleetSyncArgs) -> Result<ExitCode> {
    let over = args
        .template
        .as_deref()
        .map(|t| Spec::parse(t, &std::env::current_dir().unwrap_or_default()))
        .transpose()?;
    let api = super::fleet::api(ctx, WRITE_SCOPE)?;
    let spinner = ctx.printer.spinner(&format!(
        "asking GitLab for the projects of `{}`",
        args.group
    ));
    let listed = projects::of_group(&api, &args.group);
    drop(spinner);
    let listed = listed.map_err(|failure| super::fleet::group_problem(&args.group, &failure))?;
    let targets = select(listed, args)?;
    let stop = Stop::install(&ctx.printer)?;
    let printer = &ctx.printer;
    let progress = printer.interactive() && !printer.quiet();
    let resolver = ctx.resolver();
    let crashed = |p: &ProjectRef| {
        Planned::Done(Row::failed(
            &p.path_with_namespace,
            &crate::problem::Problem::error("tfw crashed on this project"),
        ))
    };
    let planned = crate::template::fleet::each(
        &targets,
        args.jobs,
        stop.bar(progress, targets.len()),
        |p| p.path_with_namespace.clone(),
        |p| {
            if stop.stopped() {
                return Planned::Done(Row::new(
                    &p.path_with_namespace,
                    Outcome::HeldBack,
                    "stopped before it started",
                ));
            }
            let planned =
                fleet_sync::plan(&api, p, over.as_ref(), &resolver, args.replace_symlinks);
            if let (false, Planned::Done(row)) = (progress, &planned) {
                line(printer, row);
            }
            planned
        },
        crashed,
    );
    // The second pass, in path order: `--limit` takes the first ones that need an update.
    let mut budget = args.limit.unwrap_or(usize::MAX);
    let mut rows: Vec<Option<Row>> = Vec::with_capacity(planned.len());
    let mut deliveries = Vec::new();
    for (index, planned) in planned.into_iter().enumerate() {
        match planned {
            Planned::Done(row) => rows.push(Some(row)),
            Planned::Deliver(delivery) if args.dry_run => {
                let row = fleet_sync::preview(*delivery);
                if !progress {
                    line(printer, &row);
                }
                rows.push(Some(row));
            }
            Planned::Deliver(delivery) if budget == 0 => {
                let limit = args.limit.unwrap_or_default();
                rows.push(Some(fleet_sync::held_back(
                    *delivery,
                    &format!("beyond --limit {limit}: for a later run"),
                )));
            }
            Planned::Deliver(delivery) => {
                budget -= 1;
                rows.push(None);
                deliveries.push((index, *delivery));
            }
        }
    }
    let delivered = crate::template::fleet::each(
        &deliveries,
        args.jobs,
        stop.bar(progress, deliveries.len()),
        |(_, d)| d.project.clone(),
        |(_, d)| {
            let row = match stop.stopped() {
                true => fleet_sync::held_back(d.clone(), "stopped before it started"),
                false => fleet_sync::deliver(&api, d.clone()),
            };
            if !progress {
                line(printer, &row);
            }
            row
        },
        |(_, d)| {
            Row::failed(
                &d.project,
                &crate::problem::Problem::error("tfw crashed on this project"),
            )
        },
    );
    stop.bar(false, 0);
    for ((index, _), row) in deliveries.iter().zip(delivered) {
        rows[*index] = Some(row);
    }
    let rows: Vec<Row> = rows.into_iter().flatten().collect();
    report(ctx, args, &rows)?;
    let signal = stop.signal.load(Ordering::SeqCst);
    if signal != 0 {
        return Ok(ExitCode::Passed(128 + signal));
    }
    Ok(worst(rows.iter().map(Row::exit_code)))
}

/// The diff of a dry run, the table, each error with its hint, and the summary line.
fn report(ctx: &Context, args: &FleetSyncArgs, rows: &[Row]) -> Result<()> {
    let printer = &ctx.printer;
    let mut out = String::new();
    if args.dry_run {
        for row in rows.iter().filter(|r| !r.diff.is_empty()) {
            out.push_str(&format!("# {}\n{}", row.project, row.diff));
        }
    }
    let header = [
        "PROJECT",
        "STATE",
        "CHANGED",
        "CONFLICTS",
        "MERGE REQUEST",
        "DETAIL",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    cells.extend(rows.iter().map(|r| {
        vec![
            r.project.clone(),
            r.outcome.as_str().to_string(),
            r.files_changed.to_string(),
            r.conflicts.to_string(),
            r.merge_request.clone().unwrap_or_else(|| "-".into()),
            r.detail.clone(),
        ]
    }));
    for line in crate::states::listing::columns(cells, &[2, 3]) {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    printer.out(&out)?;
    for row in rows.iter().filter(|r| r.outcome == Outcome::Error) {
        printer.error(&format!("{}: {}", row.project, row.detail));
        if let Some(hint) = &row.hint {
            printer.hint(hint);
        }
    }
    let mut counts: Vec<(Outcome, usize)> = Vec::new();
    for row in rows {
        match counts.iter_mut().find(|(o, _)| *o == row.outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((row.outcome, 1)),
        }
    }
    counts.sort_by_key(|(o, _)| *o as u8);
    let parts: Vec<String> = counts
        .iter()
        .map(|(o, n)| format!("{n} {}", o.as_str()))
        .collect();
    let drafts = rows
        .iter()
        .filter(|r| r.conflicts > 0 && matches!(r.outcome, Outcome::Opened | Outcome::Updated))
        .count();
    let drafts = match drafts {
        0 => String::new(),
        n => format!(" ({n} draft(s) with conflicts)"),
    };
    printer.status(&format!(
        "{} project(s) in `{}`: {}{drafts}",
        rows.len(),
        args.group,
        parts.join(", ")
    ));
    if rows.iter().any(|r| r.outcome == Outcome::HeldBack) {
        printer
            .hint("held-back projects get their merge request on the next run of the same command");
    }
    Ok(())
}
