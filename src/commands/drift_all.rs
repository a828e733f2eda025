//! `tfw drift --all` (also `tfw --all drift`, `--roots GLOB`): every root's drift, through
//! the same pool as `tfw --all plan` (`roots::run`: one child tfw per root, bounded, output
//! kept per root, signals passed once). Each child checks its root's states one after the
//! other (`tfw -C ROOT drift --listed`: they share the root's `.terraform/`) and writes its
//! rows to `.tfw/drift/report.json` there, which this reads back for one summary. A root
//! that stopped before reporting is a row that says so: a partial answer is never hidden.
//! Exit 2 when a state drifted, else 3 when a state could not be checked (or its issue
//! kept), else 0, as `tfw locks` does for stale locks and projects it could not list.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::{Cli, DriftArgs};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::printer::Printer;
use crate::problem::Problem;
use crate::roots::run::{self, Ended, Job, Options};
use crate::states::drift::{IssueAction, Report, Status};

pub(super) fn run(ctx: &Context, cli: &Cli, args: &DriftArgs) -> Result<ExitCode> {
    if cli.state.is_some() {
        return Err(Problem::error(
            "`--state` with `--all` would check one state in every root: refused",
        )
        .hint("list the states each root is checked against in its tfw.toml: `drift = [\"staging\", \"prod\"]`; or check one: `tfw --state NAME drift`")
        .into());
    }
    let resolved = super::roots::selected(ctx, &cli.many)?;
    let printer = super::roots::masking(ctx, &resolved);
    let jobs: Vec<Job> = resolved
        .iter()
        .map(|one| {
            let report = report_file(&one.root.dir);
            // A report left by an earlier run must not pass for this run's.
            let _ = std::fs::remove_file(&report);
            let mut words: Vec<OsString> = vec!["-C".into(), one.root.dir.clone().into_os_string()];
            words.extend(super::all::globals(cli));
            words.extend(["drift".into(), "--listed".into(), "--report-file".into()]);
            words.push(report.into_os_string());
            if args.json {
                words.push("--json".into());
            }
            if args.issues {
                words.push("--issues".into());
            }
            Job {
                label: one.root.path.clone(),
                args: words,
            }
        })
        .collect();
    let options = Options {
        jobs: cli
            .many
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        stream: cli.many.stream,
        fail_fast: cli.many.fail_fast,
    };
    let (ended, signal) = run::run_all(jobs, &options, &printer, |code| code == 1 || code >= 128)?;
    let mut rows = Vec::new();
    for (one, end) in resolved.iter().zip(&ended) {
        let read = std::fs::read(report_file(&one.root.dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Vec<Value>>(&bytes).ok())
            .and_then(|found| found.into_iter().map(Row::read).collect::<Option<Vec<_>>>());
        match (read, end) {
            (Some(found), Ended::Exited(_)) => {
                for mut row in found {
                    row.json["root"] = Value::String(one.root.path.clone());
                    rows.push(row);
                }
            }
            (_, end) => {
                let reason = match end {
                    Ended::Skipped => "not checked: the run was stopped first".to_string(),
                    Ended::Exited(code) => format!(
                        "tfw stopped before reporting (exit {code}): its output is above, under `==> {}`",
                        one.root.path
                    ),
                };
                let state = one.state.as_ref().map(|s| s.value.clone());
                rows.push(Row::failed(&one.root.path, state.as_deref(), &reason));
            }
        }
    }
    let code = finish(&printer, rows, args.json)?;
    Ok(signal.map_or(code, |signal| ExitCode::Passed(128 + signal)))
}

fn report_file(root: &Path) -> PathBuf {
    root.join(".tfw").join("drift").join("report.json")
}

/// One state's row of the report: what is shown (the report's JSON, with its root) and, as
/// values, what decides the exit code.
pub(super) struct Row {
    pub(super) json: Value,
    status: Status,
    issue: Option<IssueAction>,
}

/// What a row read back from a root's report file decides by.
#[derive(Deserialize)]
struct Decides {
    status: Status,
    issue: Option<IssueDecides>,
}

#[derive(Deserialize)]
struct IssueDecides {
    action: IssueAction,
}

impl Row {
    pub(super) fn of(report: &Report, root: &str) -> Result<Row> {
        let mut json = serde_json::to_value(report)?;
        json["root"] = Value::String(root.to_string());
        Ok(Row {
            json,
            status: report.status,
            issue: report.issue.as_ref().map(|issue| issue.action),
        })
    }

    /// A row a child wrote (`Row::of` there); `None` when it is not one.
    fn read(json: Value) -> Option<Row> {
        let decides = Decides::deserialize(&json).ok()?;
        Some(Row {
            status: decides.status,
            issue: decides.issue.map(|issue| issue.action),
            json,
        })
    }

    fn failed(root: &str, state: Option<&str>, reason: &str) -> Row {
        Row {
            json: json!({ "root": root, "state": state, "status": Status::Failed, "reason": reason,
                    "resources": [], "outputs": [], "issue": null }),
            status: Status::Failed,
            issue: None,
        }
    }

    /// Something could not be checked, or its issue kept.
    fn incomplete(&self) -> bool {
        match self.status {
            Status::Failed => true,
            Status::InSync | Status::Drifted => self.issue == Some(IssueAction::Failed),
        }
    }
}

/// This directory's path from the repository's roots base (`.` for the base itself).
pub(super) fn root_of(ctx: &Context) -> String {
    let base = crate::roots::base(&ctx.settings);
    let dir = ctx.dir();
    let relative = dir.strip_prefix(&base).unwrap_or(Path::new(""));
    crate::repo::slash_path(relative)
}

pub(super) fn exit_code(rows: &[Row]) -> ExitCode {
    if rows.iter().any(|r| r.status == Status::Drifted) {
        ExitCode::Found
    } else if rows.iter().any(Row::incomplete) {
        ExitCode::Unresolved
    } else {
        ExitCode::Success
    }
}

/// The rows as one report (a table, or `--json`) and the exit code.
pub(super) fn finish(printer: &Printer, rows: Vec<Row>, json: bool) -> Result<ExitCode> {
    let code = exit_code(&rows);
    let count = |status: Status| rows.iter().filter(|r| r.status == status).count();
    if json {
        let complete = !rows.iter().any(Row::incomplete);
        let states: Vec<&Value> = rows.iter().map(|row| &row.json).collect();
        printer.json(&json!({
            "in_sync": count(Status::InSync),
            "drifted": count(Status::Drifted),
            "failed": count(Status::Failed),
            "complete": complete,
            "states": states,
        }))?;
    } else {
        print_table(printer, &rows)?;
    }
    if code == ExitCode::Unresolved {
        printer.warning(
            "the answer is incomplete: some state could not be checked, or its issue kept (rows above say why)",
        );
    }
    Ok(code)
}

fn print_table(printer: &Printer, rows: &[Row]) -> Result<()> {
    let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(
            |Row {
                 json: row,
                 status,
                 issue: action,
             }| {
                let result = match status {
                    Status::InSync => "in sync".to_string(),
                    Status::Drifted => format!(
                        "DRIFTED ({} resource(s), {} output(s))",
                        row["resources"].as_array().map_or(0, Vec::len),
                        row["outputs"].as_array().map_or(0, Vec::len)
                    ),
                    Status::Failed => format!("failed: {}", text(&row["reason"])),
                };
                let issue = &row["issue"];
                let issue = match (action, issue["iid"].as_u64()) {
                    (Some(IssueAction::Failed), _) => format!("failed: {}", text(&issue["error"])),
                    (Some(action), Some(iid)) => format!("#{iid} {}", action.as_str()),
                    _ => "-".to_string(),
                };
                [text(&row["root"]), text(&row["state"]), result, issue]
            },
        )
        .collect();
    let titles = ["ROOT", "STATE", "RESULT", "ISSUE"];
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(titles[i].len())
        })
        .collect();
    let mut lines = vec![String::new()];
    for row in std::iter::once(titles.map(String::from)).chain(cells) {
        lines.push(format!(
            "{:<a$}  {:<b$}  {:<c$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            a = widths[0],
            b = widths[1],
            c = widths[2]
        ));
    }
    printer.lines(lines.iter().map(|l| l.trim_end()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drift_outranks_a_partial_answer_as_in_tfw_locks() {
        let row = |status: &str, issue: Value| {
            Row::read(json!({ "status": status, "issue": issue })).expect("a row")
        };
        let failed_issue = json!({ "action": "failed", "error": "403" });
        assert_eq!(exit_code(&[]), ExitCode::Success);
        assert_eq!(exit_code(&[row("in_sync", Value::Null)]), ExitCode::Success);
        assert_eq!(
            exit_code(&[row("in_sync", failed_issue.clone())]),
            ExitCode::Unresolved
        );
        assert_eq!(
            exit_code(&[row("in_sync", Value::Null), row("failed", Value::Null)]),
            ExitCode::Unresolved
        );
        assert_eq!(
            exit_code(&[row("failed", Value::Null), row("drifted", failed_issue)]),
            ExitCode::Found
        );
        assert!(Row::read(json!({ "status": "sideways", "issue": null })).is_none());
    }
}
