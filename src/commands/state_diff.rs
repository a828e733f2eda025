//! `tfw state diff [NAME] [A] [B]`: what changed between two versions of a state (by default
//! the two latest), or between a version and a backup or the saved plan. The words are read
//! as a state name unless they look like a revision (a serial, `latest`, `plan`, a path), so
//! `tfw state diff 41` compares version 41 of the current state with its latest.

use anyhow::Result;
use serde::Serialize;

use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::states::diff::{Diff, compare};
use crate::states::remote::Remote;
use crate::states::revision::{self, Revision, Side};

#[derive(Serialize)]
struct Shown<'a> {
    name: &'a str,
    from: &'a Side,
    to: &'a Side,
    lineage_changed: bool,
    #[serde(flatten)]
    diff: &'a Diff,
}

pub(super) fn run(remote: &Remote, words: &[Option<String>; 3], json: bool) -> Result<ExitCode> {
    let (name, revisions) = read_words(words)?;
    let name = name
        .or_else(|| {
            revisions.iter().find_map(|r| match r {
                Revision::File(path) => crate::states::restore::backup_folder_state(path),
                _ => None,
            })
        })
        .unwrap_or_else(|| remote.target(None));
    let (from, to) = match revisions.as_slice() {
        [] => {
            let to = revision::latest(remote, &name)?;
            let serial = to.serial.ok_or_else(|| {
                Problem::error(format!("the latest version of `{name}` has no serial"))
            })?;
            (revision::previous(remote, &name, serial)?, to)
        }
        // The plan is what comes next: compare it with what is there now.
        [Revision::Plan] => {
            let plan = revision::load(remote, &name, &Revision::Plan)?;
            (revision::latest_or_empty(remote, &name)?, plan)
        }
        [one] => (
            revision::load(remote, &name, one)?,
            revision::latest(remote, &name)?,
        ),
        [a, b] => (
            revision::load(remote, &name, a)?,
            revision::load(remote, &name, b)?,
        ),
        _ => unreachable!("at most two revisions"),
    };
    let diff = compare(&from.snapshot, &to.snapshot);
    let lineage_changed =
        from.lineage.is_some() && to.lineage.is_some() && from.lineage != to.lineage;
    let shown = Shown {
        name: &name,
        from: &from,
        to: &to,
        lineage_changed,
        diff: &diff,
    };
    let printer = &remote.ctx.printer;
    if json {
        // The values shown are not sensitive, but a token can still sit in one.
        printer.json(&shown)?;
        return Ok(ExitCode::Success);
    }
    let mut lines = vec![format!("`{name}`: {} -> {}", from.label, to.label)];
    let opt = |v: &Option<u64>| v.map_or("-".to_string(), |s| s.to_string());
    lines.push(format!(
        "serial   {} -> {}",
        opt(&from.serial),
        opt(&to.serial)
    ));
    let lineage = match (&from.lineage, &to.lineage) {
        (Some(a), Some(b)) if a != b => {
            format!("lineage  {a} -> {b} (NOT the same state history)")
        }
        (a, b) => format!(
            "lineage  {} (same)",
            a.as_deref().or(b.as_deref()).unwrap_or("-")
        ),
    };
    lines.push(lineage);
    lines.extend(diff.lines());
    let r = &diff.resources;
    lines.push(if diff.is_empty() {
        "no change".into()
    } else {
        format!(
            "{} added, {} removed, {} changed; {} output(s) changed",
            r.added.len(),
            r.removed.len(),
            r.changed.len(),
            diff.outputs.len()
        )
    });
    printer.lines(lines)?;
    Ok(ExitCode::Success)
}

/// `[NAME] [A] [B]`: three words are always a name and two revisions; otherwise the first
/// is a name unless it reads as a revision.
fn read_words(words: &[Option<String>; 3]) -> Result<(Option<String>, Vec<Revision>)> {
    let words: Vec<&str> = words.iter().flatten().map(String::as_str).collect();
    let first_is_name = match words.first() {
        None => false,
        Some(first) => words.len() == 3 || Revision::parse(first).is_none(),
    };
    let (name, rest) = if first_is_name {
        (Some(words[0].to_string()), &words[1..])
    } else {
        (None, &words[..])
    };
    let revisions = rest
        .iter()
        .map(|word| {
            Revision::parse(word).ok_or_else(|| {
                Problem::error(format!("`{word}` is not a version to compare"))
                    .hint("give a serial (`41`), `latest`, `plan`, or a file (`.tfw/backups/<state>/…`); a state named like a serial: `tfw --state NAME state diff`")
                    .into()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((name, revisions))
}
