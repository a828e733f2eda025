//! `tfw sync`: bring template-managed files up to the template's version (`--dry-run` shows the
//! diff, `--check` only reports, for CI), in this repository or, with `--repos`, in many.
//! Exit codes: 0 up to date (or synced), 2 update available, 3 drift or conflicts, 1 error.

use anyhow::Result;

use crate::cli::SyncArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::printer::Printer;
use crate::template::fleet;
use crate::template::report::{RepoReport, State, worst};
use crate::template::source::Spec;
use crate::template::sync::{Options, check_repo, sync_repo};

fn template_override(args: &SyncArgs) -> Result<Option<Spec>> {
    let cwd = std::env::current_dir()?;
    Ok(args
        .template
        .as_deref()
        .map(|t| Spec::parse(t, &cwd))
        .transpose()?)
}

pub(super) fn run(ctx: &Context, args: &SyncArgs) -> Result<ExitCode> {
    if !args.repos.is_empty() {
        return run_fleet(ctx, args);
    }
    let over = template_override(args)?;
    let resolver = ctx.resolver();
    let dir = ctx.dir();
    let shown = dir.display().to_string();
    let spinner = ctx.printer.spinner("reading the template");
    let report = if args.check {
        check_repo(dir, &shown, over.as_ref(), &resolver)
    } else {
        let options = Options {
            dry_run: args.dry_run,
            allow_dirty: args.allow_dirty,
            replace_symlinks: args.replace_symlinks,
            template: over.as_ref(),
        };
        sync_repo(dir, &shown, &options, &resolver)
    };
    drop(spinner);
    if args.json {
        ctx.printer.outln(&serde_json::to_string_pretty(&report)?)?;
    } else if args.dry_run && !args.check {
        ctx.printer.out(&report.diff)?;
    }
    if let Some(problem) = report.error {
        return Err(problem.into());
    }
    if !args.json {
        present(&ctx.printer, &report, args);
    }
    Ok(report.exit_code)
}

fn label(info: Option<&crate::template::report::Info>) -> String {
    info.map(|i| crate::template::label(&i.version, &i.commit))
        .unwrap_or_else(|| "an unknown version".into())
}

/// The single repository's findings, for a person (stderr).
fn present(p: &Printer, report: &RepoReport, args: &SyncArgs) {
    for file in report.files.iter().filter(|f| f.notable()) {
        p.status(&file.line());
    }
    for warning in &report.warnings {
        p.problem(warning);
    }
    let theirs = label(report.template.as_ref());
    let ours = label(report.locked.as_ref());
    let changed = report.files_changed;
    match report.state {
        State::UpToDate => p.status(&format!("Up to date with {theirs}")),
        State::UpdateAvailable if args.check => {
            p.status(&format!("Update available: this repository is at {ours}, the template at {theirs}"));
            p.hint("run `tfw sync` (`tfw sync --dry-run` shows the diff first)");
        }
        State::UpdateAvailable => p.status(&format!(
            "Dry run: {changed} file(s) would change to reach {theirs}; nothing was written"
        )),
        State::Drift => {
            let files = report.detail();
            p.status(&format!("Drift in {files}: what the template owns was changed outside `tfw sync`, or holds conflict markers"));
            p.hint("resolve conflict markers; undo edits to template-owned parts (`git checkout -- FILE`, or delete the file and run `tfw sync`), or make the change in the template");
        }
        State::Updated => p.status(&format!(
            "Synced to {theirs}: {changed} file(s) changed; review them with `git diff`, then commit them with `.tfw/template.lock`"
        )),
        State::Conflicts => {
            p.status(&format!(
                "Synced to {theirs} with {} conflict(s) in: {}",
                report.conflicts,
                report.detail()
            ));
            p.hint("resolve the <<<<<<< markers, then commit; `tfw sync --check` exits 3 until they are gone");
        }
        State::Error => {}
    }
}

/// `--repos`: every repository with the settings of the working directory (its `.env` may
/// say where the template is, `TFW_TEMPLATE`), not each repository's own.
fn run_fleet(ctx: &Context, args: &SyncArgs) -> Result<ExitCode> {
    let printer = &ctx.printer;
    let repos = fleet::expand(&args.repos)?;
    let over = template_override(args)?;
    let resolver = ctx.resolver();
    let options = Options {
        dry_run: args.dry_run,
        allow_dirty: args.allow_dirty,
        replace_symlinks: args.replace_symlinks,
        template: over.as_ref(),
    };
    let progress = printer.interactive() && !printer.quiet();
    let reports = fleet::run(&repos, progress, |dir, shown| {
        if args.check {
            check_repo(dir, shown, over.as_ref(), &resolver)
        } else {
            sync_repo(dir, shown, &options, &resolver)
        }
    });
    let code = worst(reports.iter().map(|r| r.exit_code));
    if args.json {
        let out = serde_json::json!({ "exit_code": code, "repos": reports });
        printer.outln(&serde_json::to_string_pretty(&out)?)?;
        return Ok(code);
    }
    if args.dry_run && !args.check {
        for report in reports.iter().filter(|r| !r.diff.is_empty()) {
            printer.outln(&format!("# {}", report.repo))?;
            printer.out(&report.diff)?;
        }
    }
    printer.out(&fleet::table(&reports))?;
    for report in &reports {
        if let Some(problem) = &report.error {
            printer.error(&format!("{}: {problem}", report.repo));
            if let Some(hint) = &problem.hint {
                printer.hint(hint);
            }
        }
        if printer.verbose() > 0 {
            for warning in &report.warnings {
                printer.warning(&format!("{}: {warning}", report.repo));
            }
        }
    }
    printer.status(&fleet::summary(&reports));
    Ok(code)
}
