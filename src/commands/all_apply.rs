//! `tfw --all apply`: applies the plans `tfw --all plan` saved, and nothing else. Every
//! root is judged first (`roots::review`), listed with its counts, and one question covers
//! them all; a protected root's name is typed as well, as a single-root apply asks. Each
//! root then runs `tfw -C ROOT apply` in a child tfw bound to the SHA-256 of the plan file
//! that was listed, so a plan replaced between the question and the apply is refused there.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::{ApplyArgs, Cli};
use crate::confirm::{Ask, needs_flag};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::{Exit, Problem, Problems};
use crate::roots::review::{Review, review};
use crate::roots::run::{self, Ended, Job};

pub(super) fn run(ctx: &Context, cli: &Cli, args: &ApplyArgs) -> Result<ExitCode> {
    if !args.pass.args.is_empty() || args.replan {
        return Err(Problem::error(
            "`tfw --all apply` applies the saved plans as they were reviewed: extra terraform arguments or `--replan` would need new plans",
        )
        .hint("plan with them first (`tfw --all plan -- ARGS`), review, then `tfw --all apply`")
        .into());
    }
    // Before anything is read: nobody is there to answer.
    if ctx.printer.automation() && !args.auto_approve {
        return Err(needs_flag(
            &ctx.printer,
            "`tfw --all apply`",
            "--auto-approve",
        ));
    }
    let resolved = super::roots::selected(ctx, &cli.many)?;
    if resolved.is_empty() {
        // `--changed` found nothing to run, and said so.
        return Ok(ExitCode::Success);
    }
    let shared = crate::roots::shared_states(&resolved);
    if !shared.is_empty() {
        return Err(Problems(shared).into());
    }
    let mut printer = ctx.printer.clone();
    for one in &resolved {
        for secret in one.settings.secrets() {
            printer.add_secret(&secret);
        }
    }
    let reviews: Vec<Review> = resolved.iter().map(review).collect();
    // Only a plan that passed every check that needs no terraform is read by it.
    let reviews = super::all_verdict::read_all(reviews, &resolved, cli, &printer)?;
    let state_of = |i: usize| {
        resolved[i]
            .state
            .as_ref()
            .map_or_else(|| "?".to_string(), |s| s.value.clone())
    };
    let rows: Vec<[String; 6]> = reviews
        .iter()
        .enumerate()
        .map(|(i, one)| {
            let plan = match one {
                Review::Apply { protected, .. } if *protected => "apply (protected)".into(),
                Review::Apply { .. } => "apply".into(),
                Review::Skip { why, .. } => why.clone(),
                Review::Stale(why) => format!("refused: {why}"),
                Review::Unread { .. } => unreachable!("every saved plan was read"),
            };
            row(&resolved[i].root.path, state_of(i), one, plan)
        })
        .collect();
    super::all::print_table(&printer, "PLAN", &rows);

    let stale: Vec<Problem> = reviews
        .iter()
        .zip(&resolved)
        .filter_map(|(one, r)| match one {
            Review::Stale(why) => Some(Problem::error(format!("`{}`: {why}", r.root.path))),
            _ => None,
        })
        .collect();
    if !stale.is_empty() {
        let mut problems = stale;
        let count = problems.len();
        problems.push(
            Problem::error(format!(
                "{count} root(s) cannot apply their saved plan: nothing was applied"
            ))
            .hint(
                "plan those roots again (`tfw --roots ROOT plan`), review, then `tfw --all apply`",
            ),
        );
        return Err(Problems(problems).into());
    }
    let chosen: Vec<usize> = (0..reviews.len())
        .filter(|i| matches!(reviews[*i], Review::Apply { .. }))
        .collect();
    if chosen.is_empty() {
        printer.status("Nothing to apply: no root has a saved plan with changes");
        return Ok(ExitCode::Success);
    }
    confirm(ctx, args, &resolved, &reviews, &chosen, &state_of)?;

    let jobs: Vec<Job> = chosen
        .iter()
        .map(|&i| {
            let Review::Apply { changes, .. } = &reviews[i] else {
                unreachable!("chosen roots are applied")
            };
            let one = &resolved[i];
            let mut words: Vec<OsString> = vec!["-C".into(), one.root.dir.clone().into_os_string()];
            words.extend(super::all::globals(cli));
            words.extend(["apply".into(), "--auto-approve".into()]);
            words.extend(["--reviewed-plan".into(), changes.plan_sha256.clone().into()]);
            if args.allow_protected {
                words.push("--allow-protected".into());
            }
            if args.new_state {
                words.push("--new-state".into());
            }
            Job {
                label: one.root.path.clone(),
                args: words,
            }
        })
        .collect();
    let (ended, signal) = run::run_all(jobs, &super::all::options(cli), &printer, |c| c != 0)?;

    let mut rows = Vec::new();
    for (i, one) in reviews.iter().enumerate() {
        let result = match chosen.iter().position(|&c| c == i).map(|p| ended[p]) {
            None => match one {
                Review::Skip { why, .. } => why.clone(),
                _ => "skipped".into(),
            },
            Some(Ended::Skipped) => "skipped".into(),
            Some(Ended::Exited(code)) if code >= 128 && signal.is_some() => "interrupted".into(),
            Some(Ended::Exited(0)) => "applied".into(),
            Some(Ended::Exited(code)) => format!("failed (exit {code})"),
        };
        rows.push(row(&resolved[i].root.path, state_of(i), one, result));
    }
    super::all::print_table(&printer, "RESULT", &rows);
    let code = match signal {
        Some(signal) => 128 + signal,
        None if ended
            .iter()
            .any(|e| matches!(e, Ended::Exited(c) if *c != 0)) =>
        {
            1
        }
        None => 0,
    };
    // Each root already said what went wrong, in its own block.
    if code != 0 {
        return Err(Exit(ExitCode::Passed(code)).into());
    }
    Ok(ExitCode::Success)
}

/// The one question for every root, then each protected root's name; without a terminal,
/// `--auto-approve` stands in (already checked) and one line per protected root says so.
/// A protected root whose plan destroys, replaces or forgets needs `--allow-protected`,
/// as it does alone.
fn confirm(
    ctx: &Context,
    args: &ApplyArgs,
    resolved: &[crate::roots::Resolved],
    reviews: &[Review],
    chosen: &[usize],
    state_of: &dyn Fn(usize) -> String,
) -> Result<()> {
    let printer = &ctx.printer;
    let mut refused = Vec::new();
    for &i in chosen {
        let Review::Apply {
            changes, protected, ..
        } = &reviews[i]
        else {
            continue;
        };
        let listing = changes.listing();
        if !listing.is_empty() {
            printer.status("");
            printer.status(&format!("{} ({}):", resolved[i].root.path, state_of(i)));
            for line in listing {
                printer.status(&line);
            }
        }
        if *protected && changes.destructive() && !args.allow_protected {
            refused.push(Problem::error(format!(
                "the plan of `{}` for protected state `{}` destroys, replaces or forgets resources: refused, nothing was applied",
                resolved[i].root.path,
                state_of(i)
            )));
        }
    }
    if !refused.is_empty() {
        refused.push(
            Problem::error("nothing was applied").hint(
                "review those plans; if you really mean them, add `--allow-protected` (and type each protected state's name)",
            ),
        );
        return Err(Problems(refused).into());
    }
    let names: Vec<&str> = chosen
        .iter()
        .map(|&i| resolved[i].root.path.as_str())
        .collect();
    let command = "tfw --all apply";
    if !printer.interactive() {
        for &i in chosen {
            if let Review::Apply {
                protected: true, ..
            } = reviews[i]
            {
                printer.warning(&format!(
                    "protected state `{}` ({}): approved by `--auto-approve`, without a terminal to type its name",
                    state_of(i),
                    resolved[i].root.path
                ));
            }
        }
        return Ok(());
    }
    printer.status("");
    if !args.auto_approve {
        Ask {
            command,
            action: &format!("apply {} root(s): {}", names.len(), names.join(", ")),
        }
        .yes(&ctx.printer, false, "--auto-approve")?;
    }
    for &i in chosen {
        if let Review::Apply {
            protected: true, ..
        } = reviews[i]
        {
            let state = state_of(i);
            printer.warning(&format!("`{state}` is a protected, shared state"));
            Ask {
                command,
                action: &format!("apply {}", resolved[i].root.path),
            }
            .typed(&ctx.printer, &state, None)?;
        }
    }
    Ok(())
}

/// ROOT, STATE, the reviewed plan's ADD/CHANGE/DESTROY, and the last column.
fn row(path: &str, state: String, review: &Review, last: String) -> [String; 6] {
    let summary = review.meta().map(|meta| meta.summary);
    let count = |n: Option<u64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    [
        path.to_string(),
        state,
        count(summary.map(|s| s.add)),
        count(summary.map(|s| s.change)),
        count(summary.map(|s| s.destroy)),
        last,
    ]
}
