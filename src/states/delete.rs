//! `tfw state delete`: personal states only unless `--allow-protected`, a backup first, and a
//! check afterwards, because GitLab answers 200 to a DELETE yet keeps a locked state, and
//! only schedules the deletion of an unlocked one (a worker removes it later). A state
//! that still tracks resources is deleted only after a warning: the resources are not.

use std::path::PathBuf;

use anyhow::Result;

use crate::backend::gitlab::ApiError;
use crate::confirm::{Ask, needs_flag};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::states::document::Summary;
use crate::states::listing::StateLock;
use crate::states::remote::Remote;

/// What GitLab did with a DELETE, checked afterwards.
pub(crate) enum Outcome {
    Gone,
    /// GitLab answers 422 "scheduled for deletion" until its worker has removed the state.
    Scheduled,
    Kept {
        lock: Option<StateLock>,
    },
}

pub(crate) struct Options<'a> {
    pub name: &'a str,
    pub allow_protected: bool,
    pub yes: bool,
}

pub(crate) fn run(remote: &Remote, options: &Options) -> Result<ExitCode> {
    let ctx = remote.ctx;
    let printer = &ctx.printer;
    let name = options.name;
    let protected = ctx.settings.project.is_protected(name);
    allowed(ctx, name, protected, options.allow_protected)?;
    crate::states::protection::guard_write(ctx, &remote.backend.for_state(name), "delete")?;
    let info = remote.info(name)?;
    let bytes = download(remote, name)?;
    let summary = bytes.as_deref().and_then(Summary::parse);
    printer.status(&format!(
        "state `{name}`: serial {}, {} resource(s)",
        info.serial().map_or("-".into(), |s| s.to_string()),
        summary.as_ref().map_or(0, |s| s.resources)
    ));
    if ctx.settings.state().is_some_and(|s| s.value == name) {
        printer.warning(&format!("`{name}` is your current state"));
    }
    if let Some(lock) = StateLock::of(&info) {
        printer.warning(&format!(
            "`{name}` is locked by {}: GitLab does not delete a locked state",
            lock.describe()
        ));
    }
    if let Some(summary) = summary.as_ref().filter(|s| s.resources > 0) {
        printer.warning(&format!(
            "`{name}` still tracks {} resource(s): deleting the state does not destroy them, they would be left unmanaged",
            summary.resources
        ));
        printer.hint(&format!("`tfw --state {name} destroy` destroys them first"));
    }
    let ask = Ask {
        command: "tfw state delete",
        action: &format!("delete state `{name}`"),
    };
    // On a terminal a protected name is typed whatever the flags; `--yes` stands in for it
    // only without one, and the log says so.
    if protected && printer.interactive() {
        printer.warning(&format!("`{name}` is a protected, shared state"));
        ask.typed(&ctx.printer, name, None)?;
    } else if protected {
        if !options.yes {
            return Err(needs_flag(&ctx.printer, "`tfw state delete`", "--yes"));
        }
        printer.warning(&format!(
            "protected state `{name}`: deletion approved by `--allow-protected --yes`, {} to type its name",
            printer.unasked()
        ));
    } else {
        ask.yes(&ctx.printer, options.yes, "--yes")?;
    }
    let (backup, outcome) = delete(remote, name, bytes.as_deref())?;
    report(remote, name, backup, outcome)
}

/// Deleting is for personal states; shared and protected ones need `--allow-protected`.
fn allowed(ctx: &Context, name: &str, protected: bool, allow: bool) -> Result<()> {
    if allow {
        return Ok(());
    }
    let project = &ctx.settings.project;
    if protected {
        return Err(Problem::error(format!(
            "`{name}` is a protected state; tfw does not delete it"
        ))
        .hint(format!(
            "if you really mean it: `tfw state delete {name} --allow-protected` (a backup is kept)"
        ))
        .into());
    }
    if !project.looks_personal(name) {
        let rule = project.file.personal.as_deref().unwrap_or("dev-{username}");
        return Err(Problem::error(format!(
            "`{name}` is not a personal state (those are named `{rule}`); tfw deletes only personal states by default"
        ))
        .hint(format!("a shared state is deleted with `tfw state delete {name} --allow-protected`"))
        .into());
    }
    Ok(())
}

pub(crate) fn download(remote: &Remote, name: &str) -> Result<Option<Vec<u8>>> {
    remote.call(name, &format!("download `{name}`"), |c| c.get_state(name))
}

/// Backs `bytes` up (when the state holds any), deletes, and checks what GitLab did.
pub(crate) fn delete(
    remote: &Remote,
    name: &str,
    bytes: Option<&[u8]>,
) -> Result<(Option<PathBuf>, Outcome)> {
    let backup = back_up(remote, name, bytes)?;
    remote.call(name, &format!("delete `{name}`"), |c| c.delete_state(name))?;
    Ok((backup, verify(remote, name)?))
}

/// Saves `bytes` of state `name` in `.tfw/backups/` (nothing to save when there are none).
pub(crate) fn back_up(
    remote: &Remote,
    name: &str,
    bytes: Option<&[u8]>,
) -> Result<Option<PathBuf>> {
    let settings = &remote.ctx.settings;
    bytes
        .map(|bytes| {
            crate::backups::save(&settings.dir, name, bytes, settings.project.backups_keep())
        })
        .transpose()
}

fn verify(remote: &Remote, name: &str) -> Result<Outcome> {
    let info = remote.call(name, &format!("check the deletion of `{name}`"), |c| {
        c.state_info(name)
    })?;
    let Some(info) = info else {
        return Ok(Outcome::Gone);
    };
    if info.deleted_at.is_some() {
        return Ok(Outcome::Scheduled);
    }
    if let Some(lock) = StateLock::of(&info) {
        return Ok(Outcome::Kept { lock: Some(lock) });
    }
    Ok(match remote.client.get_state(name) {
        Err(ApiError::Status { code: 422, .. }) => Outcome::Scheduled,
        _ => Outcome::Kept { lock: None },
    })
}

pub(crate) fn report(
    remote: &Remote,
    name: &str,
    backup: Option<PathBuf>,
    outcome: Outcome,
) -> Result<ExitCode> {
    let printer = &remote.ctx.printer;
    let kept = match &backup {
        Some(path) => format!("backup: {}", path.display()),
        None => "it held no data, so there is no backup".into(),
    };
    match outcome {
        Outcome::Gone => {
            printer.status(&format!("deleted state `{name}` ({kept})"));
            Ok(ExitCode::Success)
        }
        Outcome::Scheduled => {
            printer.status(&format!(
                "GitLab has scheduled the deletion of state `{name}` ({kept})"
            ));
            printer.hint(&format!(
                "its background worker removes it, usually within minutes; until then GitLab refuses every call about `{name}` and the name cannot be used again"
            ));
            Ok(ExitCode::Success)
        }
        Outcome::Kept { lock } => {
            let (why, hint) = match lock {
                Some(lock) => (
                    format!(": it is locked by {}", lock.describe()),
                    format!(
                        "release the lock (`tfw state unlock {name}`, with --force if it is not yours), then delete again"
                    ),
                ),
                None => (
                    String::new(),
                    "look at the state in GitLab (Operate > Terraform states)".to_string(),
                ),
            };
            Err(Problem::error(format!(
                "GitLab answered the delete with success but kept state `{name}`{why}"
            ))
            .hint(format!("{hint}; {kept}"))
            .into())
        }
    }
}
