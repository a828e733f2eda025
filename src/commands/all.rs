//! `tfw --all plan|validate|fmt` (and `--roots GLOB`; `apply` is `all_apply.rs`): the
//! command in every root, through a child `tfw -C ROOT ...` each (`roots::run`), then one
//! summary table and one exit code: 1
//! when any root failed, else terraform's "changes" code when any root has one (2 for `plan
//! -- -detailed-exitcode`, 3 for `fmt --check`), else 0; 128+n after signal n.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::plans;
use crate::problem::{Exit, Problem, Problems};
use crate::roots::run::{self, Ended, Job, Options};

/// What the command's exit codes mean besides 0.
#[derive(Clone, Copy)]
enum Kind {
    Plan { detailed: bool },
    Validate,
    Fmt { check: bool },
}

pub(super) fn run(ctx: &Context, cli: &Cli) -> Result<ExitCode> {
    let (kind, args) = match &cli.command {
        Command::Plan(args) => {
            let mut words: Vec<OsString> = vec!["plan".into()];
            if let Some(json) = &args.json {
                words.extend(["--json".into(), json.clone().into_os_string()]);
            }
            if args.no_lock {
                words.push("--no-lock".into());
            }
            let detailed = args.pass.args.iter().any(|a| a == "-detailed-exitcode");
            (Kind::Plan { detailed }, with_pass(words, &args.pass.args))
        }
        Command::Validate(pass) => (
            Kind::Validate,
            with_pass(vec!["validate".into()], &pass.args),
        ),
        Command::Fmt(args) => {
            let mut words: Vec<OsString> = vec!["fmt".into()];
            if args.check {
                words.push("--check".into());
            }
            (
                Kind::Fmt { check: args.check },
                with_pass(words, &args.pass.args),
            )
        }
        Command::Apply(args) => {
            refuse_state(cli)?;
            return super::all_apply::run(ctx, cli, args);
        }
        Command::Destroy(_) => {
            return Err(Problem::error(
                "`tfw --all destroy` is not a command: a destroy of every root is reviewed first, like any plan",
            )
            .hint("plan the destroys with `tfw --all plan -- -destroy`, review them, then `tfw --all apply` (protected roots need `--allow-protected` and their names typed)")
            .into());
        }
        _ => {
            return Err(Problem::error(
                "`--all` and `--roots` run `plan`, `validate`, `fmt` and `apply` in every root",
            )
            .hint("run other commands one root at a time: `tfw -C ROOT COMMAND` (see `tfw roots`)")
            .into());
        }
    };
    refuse_state(cli)?;
    let resolved = super::roots::selected(ctx, &cli.many)?;
    if resolved.is_empty() {
        // `--changed` found nothing to run, and said so.
        return Ok(ExitCode::Success);
    }
    if matches!(kind, Kind::Plan { .. }) {
        let shared = crate::roots::shared_states(&resolved);
        if !shared.is_empty() {
            return Err(Problems(shared).into());
        }
    }
    let printer = super::roots::masking(ctx, &resolved);
    let jobs: Vec<Job> = resolved
        .iter()
        .map(|one| {
            let mut words: Vec<OsString> = vec!["-C".into(), one.root.dir.clone().into_os_string()];
            words.extend(globals(cli));
            words.extend(args.iter().cloned());
            Job {
                label: one.root.path.clone(),
                args: words,
            }
        })
        .collect();
    let (ended, signal) = run::run_all(jobs, &options(cli), &printer, |code| failed(kind, code))?;

    // The summary: one row per root, in the roots' order.
    let mut rows = Vec::new();
    for (one, end) in resolved.iter().zip(&ended) {
        let state = one.state.as_ref().map(|s| s.value.clone());
        let counts = match (kind, end, &state) {
            (Kind::Plan { .. }, Ended::Exited(0 | 2), Some(state)) => {
                plans::files_for(&one.root.dir, state)
                    .load_meta()
                    .map(|meta| meta.summary)
            }
            _ => None,
        };
        let result = match end {
            Ended::Skipped => "skipped".to_string(),
            Ended::Exited(code) if *code >= 128 && signal.is_some() => "interrupted".into(),
            Ended::Exited(code) if failed(kind, *code) => format!("failed (exit {code})"),
            Ended::Exited(_) => match (&counts, kind) {
                (Some(summary), _) if summary.is_empty() => "no changes".into(),
                (Some(_), _) => "changes".into(),
                (None, Kind::Fmt { .. }) if matches!(end, Ended::Exited(3)) => {
                    "needs formatting".into()
                }
                _ => "ok".into(),
            },
        };
        let count = |n: Option<u64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
        rows.push([
            one.root.path.clone(),
            state.unwrap_or_else(|| "?".into()),
            count(counts.as_ref().map(|s| s.add)),
            count(counts.as_ref().map(|s| s.change)),
            count(counts.as_ref().map(|s| s.destroy)),
            result,
        ]);
    }
    print_table(&printer, "RESULT", &rows);

    let code = if let Some(signal) = signal {
        128 + signal
    } else if ended
        .iter()
        .any(|e| matches!(e, Ended::Exited(c) if failed(kind, *c)))
    {
        1
    } else {
        ended
            .iter()
            .filter_map(|e| match e {
                Ended::Exited(c) => Some(*c),
                Ended::Skipped => None,
            })
            .max()
            .unwrap_or(0)
    };
    // Each root already said what went wrong, in its own block.
    if code != 0 {
        return Err(Exit(ExitCode::Passed(code)).into());
    }
    Ok(ExitCode::Success)
}

fn refuse_state(cli: &Cli) -> Result<()> {
    if cli.state.is_some() {
        return Err(Problem::error(
            "`--state` with `--all` would send every root to one state: refused",
        )
        .hint("map each root to its state with `state = \"{root}\"` in tfw.toml (see `tfw roots`)")
        .into());
    }
    Ok(())
}

/// `-j`, `--stream`, `--fail-fast`.
pub(super) fn options(cli: &Cli) -> Options {
    Options {
        jobs: cli
            .many
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        stream: cli.many.stream,
        fail_fast: cli.many.fail_fast,
    }
}

/// A failure, as opposed to the "changes" codes a command returns on purpose.
fn failed(kind: Kind, code: i32) -> bool {
    !matches!(
        (kind, code),
        (_, 0) | (Kind::Plan { detailed: true }, 2) | (Kind::Fmt { check: true }, 3)
    )
}

fn with_pass(mut words: Vec<OsString>, pass: &[String]) -> Vec<OsString> {
    if !pass.is_empty() {
        words.push("--".into());
        words.extend(pass.iter().map(OsString::from));
    }
    words
}

/// The global flags each root's tfw gets as this one did.
pub(super) fn globals(cli: &Cli) -> Vec<OsString> {
    let mut words: Vec<OsString> = Vec::new();
    for _ in 0..cli.verbose {
        words.push("-v".into());
    }
    if cli.quiet {
        words.push("-q".into());
    }
    if cli.no_color {
        words.push("--no-color".into());
    }
    if cli.non_interactive {
        words.push("--non-interactive".into());
    }
    if let Some(env_file) = &cli.env_file {
        words.extend(["--env-file".into(), env_file.clone().into_os_string()]);
    }
    words
}

/// ROOT, STATE, ADD, CHANGE, DESTROY and `last` (RESULT, or PLAN before an apply).
pub(super) fn print_table(printer: &crate::printer::Printer, last: &str, rows: &[[String; 6]]) {
    let titles = ["ROOT", "STATE", "ADD", "CHANGE", "DESTROY", last];
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
                .max(titles[i].len())
        })
        .collect();
    let line = |cells: [&str; 6]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 5 {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        text
    };
    let mut out = vec![String::new(), line(titles)];
    for row in rows {
        out.push(line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]));
    }
    for text in out {
        printer.report(&text);
    }
}
