//! terraform's verdict of each root's saved plan, read for `tfw --all apply` before its one
//! question. `tfw plan` does not read its plan with `show -json` (that second terraform run
//! was as long as the plan itself); whatever applies a plan reads it then, for the bytes it
//! applies. Here that is one child `tfw -C ROOT apply --verdict SHA256` per root (`-j` at a
//! time, in the root's own session: its run lock, init and backend environment), which prints
//! the verdict as JSON and applies nothing. Each root's apply then reads its plan again in its
//! own gate: a verdict passed from one process to another would be one more thing to forge.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::Cli;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::plans::{self, PlanChanges};
use crate::printer::Printer;
use crate::problem::{Exit, Problem};
use crate::roots::Resolved;
use crate::roots::review::{self, Review};
use crate::roots::run::{self, Ended, Job};
use crate::session::{Root, Session, gate};

/// The child: the saved plan of this root's state, if its SHA-256 is `sha256`, read by
/// terraform; its verdict on stdout, as one marked line of JSON.
pub(super) fn child(ctx: &Context, sha256: &str) -> Result<ExitCode> {
    let session = Session::open(ctx, Root::Gitlab)?;
    let files = plans::files_for(ctx.dir(), session.state());
    if plans::plan_sha256(&files.plan).as_deref() != Some(sha256) {
        return Err(Problem::error(format!(
            "the plan file for `{}` is not the one `tfw --all apply` listed (SHA-256 {sha256})",
            session.state()
        ))
        .at(&files.plan, None)
        .hint("run `tfw --all apply` again")
        .into());
    }
    session.init_if_needed()?;
    let changes = gate::read(&session, &files.plan)?;
    // One line with a marker: init, when the directory needed it, printed on stdout too.
    ctx.printer
        .outln(&format!("{MARKER}{}", serde_json::to_string(&changes)?))?;
    Ok(ExitCode::Success)
}

/// Every `Unread` review, judged by terraform: `Apply`, `Skip` (nothing to do) or `Stale`
/// (it could not be read; the child said why). A signal stops the run: nothing is applied.
pub(super) fn read_all(
    reviews: Vec<Review>,
    resolved: &[Resolved],
    cli: &Cli,
    printer: &Printer,
) -> Result<Vec<Review>> {
    let unread: Vec<usize> = (0..reviews.len())
        .filter(|&i| matches!(reviews[i], Review::Unread { .. }))
        .collect();
    if unread.is_empty() {
        return Ok(reviews);
    }
    printer.status(&format!(
        "Reading {} saved plan(s) with `show -json`",
        unread.len()
    ));
    let jobs = unread
        .iter()
        .map(|&i| {
            let Review::Unread { sha256, .. } = &reviews[i] else {
                unreachable!("only unread plans are read")
            };
            let mut words: Vec<OsString> =
                vec!["-C".into(), resolved[i].root.dir.clone().into_os_string()];
            words.extend(super::all::globals(cli));
            words.extend(["apply".into(), "--verdict".into(), sha256.into()]);
            Job {
                label: resolved[i].root.path.clone(),
                args: words,
            }
        })
        .collect();
    let (ended, signal) = run::capture_all(jobs, &super::all::options(cli), printer)?;
    if let Some(signal) = signal {
        printer.status("Interrupted while reading the saved plans: nothing was applied");
        return Err(Exit(ExitCode::Passed(128 + signal)).into());
    }
    let mut verdicts: Vec<Option<(Ended, Vec<u8>)>> = (0..reviews.len()).map(|_| None).collect();
    for (&i, end) in unread.iter().zip(ended) {
        verdicts[i] = Some(end);
    }
    Ok(reviews
        .into_iter()
        .zip(verdicts)
        .map(|(one, verdict)| match verdict {
            None => one,
            Some((end, stdout)) => match (end, parse(&stdout)) {
                (Ended::Exited(0), Some(changes)) => review::judged(one, changes),
                _ => Review::Stale(
                    "terraform could not read its saved plan (`show -json`, said above)".into(),
                ),
            },
        })
        .collect())
}

/// Starts the child's line of data on stdout.
const MARKER: &str = "tfw-verdict ";

/// The child's verdict: its marked line.
fn parse(stdout: &[u8]) -> Option<PlanChanges> {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().rev().find_map(|l| l.strip_prefix(MARKER))?;
    serde_json::from_str(line).ok()
}
