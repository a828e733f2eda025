//! `tfw state history [NAME]`: the versions of a state with their resource counts and what
//! changed between each and the one before (`states::history` reads them). Exit 0, or 3 when
//! a row could not be answered (a missing version, an unreadable one, a failed call).

use anyhow::Result;

use crate::exit::ExitCode;
use crate::states::history::fetch;
use crate::states::listing::columns;
use crate::states::remote::Remote;

pub(super) fn run(
    remote: &Remote,
    name: Option<&str>,
    json: bool,
    limit: usize,
) -> Result<ExitCode> {
    let name = remote.target(name);
    let history = fetch(remote, &name, limit.max(1))?;
    let code = if history.partial {
        ExitCode::Unresolved
    } else {
        ExitCode::Success
    };
    if json {
        remote.ctx.printer.json(&history)?;
        return Ok(code);
    }
    let printer = &remote.ctx.printer;
    if history.versions.is_empty() {
        printer.status(&format!("GitLab holds no version of `{name}`"));
        return Ok(code);
    }
    let header = ["SERIAL", "RESOURCES", "CHANGES"]
        .map(String::from)
        .to_vec();
    let oldest = history.versions.last().map(|e| e.serial);
    let rows = history.versions.iter().map(|entry| {
        let changes = match (&entry.changes, &entry.reason) {
            (_, Some(reason)) => format!("{}: {reason}", entry.status.as_str()),
            (Some(changes), None) => {
                let mut text = changes.describe();
                if let Some(against) = entry.against.filter(|a| a + 1 != entry.serial) {
                    text.push_str(&format!(" (since version {against})"));
                }
                text
            }
            (None, None) if history.complete && oldest == Some(entry.serial) => {
                "first version".into()
            }
            (None, None) => "- (no older version probed)".into(),
        };
        vec![
            entry.serial.to_string(),
            entry.resources.map_or("-".into(), |r| r.to_string()),
            changes,
        ]
    });
    printer.lines(columns(
        std::iter::once(header).chain(rows).collect(),
        &[0, 1],
    ))?;
    if !history.complete {
        printer.note("older versions may exist (`--limit` shows more)");
    }
    if name.contains('.')
        && history.versions.len() == 1
        && history.latest_serial.is_some_and(|s| s > 0)
    {
        printer.note("GitLab's versions route does not match state names that contain a dot");
    }
    if history.partial {
        printer.warning("some versions could not be read (rows above say why); exit code 3");
    }
    printer.hint(&format!(
        "`tfw state diff {name} A B` shows what changed between two of them"
    ));
    Ok(code)
}
