//! `tfw state restore FILE`: push a backup (from `.tfw/backups/<state>/`) back as the newest
//! version of its state. GitLab keys versions by serial and refuses a serial it already has,
//! so the document goes up with its serial bumped above the current one; terraform then reads
//! it as the latest. Done under the state's lock, after the state name is typed, with the
//! state as it was backed up too (a restore can be undone the same way).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

use crate::backend::decode_segment;
use crate::backend::gitlab::ApiError;
use crate::confirm::Ask;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::states::delete::{back_up, download};
use crate::states::document::Summary;
use crate::states::remote::Remote;

pub(crate) fn run(remote: &Remote, file: &Path, confirm: Option<&str>) -> Result<ExitCode> {
    let ctx = remote.ctx;
    let printer = &ctx.printer;
    let path = ctx.dir().join(file);
    let (mut document, backup) = read_backup(&path)?;
    let name = state_of(&path, ctx.settings.state_flag.as_deref())?;
    crate::states::protection::guard_write(ctx, &remote.backend.for_state(&name), "restore")?;
    let current = download(remote, &name)?;
    let now = current.as_deref().and_then(Summary::parse);
    printer.status(&format!(
        "restore {} (serial {}, {} resource(s)) as the newest version of `{name}`, now at serial {}",
        path.display(),
        show(backup.serial),
        backup.resources,
        now.as_ref().and_then(|s| s.serial).map_or("- (no state)".into(), |s| s.to_string()),
    ));
    if let (Some(old), Some(new)) = (
        backup.lineage.as_deref(),
        now.as_ref().and_then(|s| s.lineage.as_deref()),
    ) && old != new
    {
        printer.warning(&format!(
            "the backup's lineage `{old}` is not the state's `{new}`: it comes from another state history"
        ));
    }
    Ask {
        command: "tfw state restore",
        action: &format!("restore `{name}` from this backup"),
    }
    .typed(&ctx.printer, &name, confirm)?;

    // From the lock to its release and the report of what was done, a signal waits: an exit
    // in between left tfw's lock on the state.
    let held = crate::runner::signals::hold();
    let lock_id = match remote.call(&name, &format!("lock `{name}`"), |c| {
        c.lock(&name, "OperationTypeRestore")
    })? {
        Ok(id) => id,
        Err(conflict) if !crate::backend::gitlab::names_holder(&conflict) => {
            return Err(Problem::error(format!(
                "GitLab answered the lock request on `{name}` with a 409 that names no holder ({}); nothing was restored",
                conflict["message"].as_str().unwrap_or("no LockInfo")
            ))
            .hint("GitLab answers `409 Conflict: Resource lock` when another request held the state's database record at that moment: run the restore again")
            .into());
        }
        Err(holder) => {
            let who = holder
                .get("Who")
                .and_then(Value::as_str)
                .unwrap_or("someone");
            return Err(Problem::error(format!(
                "`{name}` is locked by {who}; nothing was restored"
            ))
            .hint(format!(
                "wait for {who} to finish, or see `tfw state unlock {name}`"
            ))
            .into());
        }
    };
    let result = push(remote, &name, &mut document, &lock_id);
    if let Err(err) = remote.client.unlock(&name, Some(&lock_id)) {
        printer.problem(&err.problem(
            &format!("cannot release tfw's lock on `{name}`"),
            &remote.backend.for_state(&name),
        ));
    }
    if let Ok((serial, saved)) = &result {
        let saved = saved.as_ref().map_or(String::new(), |p| {
            format!("; the version it replaced is backed up at {}", p.display())
        });
        printer.status(&format!(
            "restored serial {} of `{name}` as serial {serial}{saved}",
            show(backup.serial)
        ));
    }
    match (held.release(), result) {
        (Some(signal), result) => {
            if let Err(err) = result {
                printer.failure(&err);
            }
            Err(crate::problem::Exit(ExitCode::Passed(128 + signal)).into())
        }
        (None, result) => result.map(|_| ExitCode::Success),
    }
}

fn show(serial: Option<u64>) -> String {
    serial.map_or("-".into(), |s| s.to_string())
}

/// Under the lock: back up what is there now, bump the serial past it, write.
fn push(
    remote: &Remote,
    name: &str,
    document: &mut Value,
    lock_id: &str,
) -> Result<(u64, Option<PathBuf>)> {
    let current = download(remote, name)?;
    let saved = back_up(remote, name, current.as_deref())?;
    let current_serial = current
        .as_deref()
        .and_then(crate::backups::serial_of)
        .unwrap_or(0);
    let own_serial = document.get("serial").and_then(Value::as_u64).unwrap_or(0);
    let serial = current_serial.max(own_serial) + 1;
    document["serial"] = Value::from(serial);
    let mut bytes = serde_json::to_vec_pretty(document)?;
    bytes.push(b'\n');
    match remote.client.put_state(name, &bytes, Some(lock_id)) {
        Ok(()) => Ok((serial, saved)),
        // GitLab's answer to a write whose lock ID is not the held lock's (`StateLockedError`
        // is not rescued on writes), as well as to a server error.
        Err(ApiError::Status { code: 500, .. }) => Err(Problem::error(format!(
            "GitLab answered 500 to the write of `{name}`; nothing was restored"
        ))
        .hint(format!(
            "GitLab answers 500 when a write's lock ID is not the lock it holds: someone released or took over tfw's lock meanwhile (`tfw state show {name}` says who holds it now); it may also be a server error. Run the restore again once the state is free"
        ))
        .into()),
        Err(err) => Err(remote.failure(name, &format!("write `{name}`"), &err)),
    }
}

fn read_backup(path: &Path) -> Result<(Value, Summary)> {
    let bytes = std::fs::read(path).map_err(|err| {
        Problem::error(format!("cannot read `{}`: {err}", path.display()))
            .hint("backups are in .tfw/backups/<state>/; `ls .tfw/backups/*` lists them")
    })?;
    let not_state = || {
        Problem::error(format!(
            "`{}` is not a Terraform state file",
            path.display()
        ))
        .hint("pick a `.tfstate` file from .tfw/backups/<state>/")
    };
    let document: Value = serde_json::from_slice(&bytes).map_err(|_| not_state())?;
    let summary = Summary::parse(&bytes).ok_or_else(not_state)?;
    if document.get("version").is_none() || summary.serial.is_none() {
        return Err(not_state().into());
    }
    Ok((document, summary))
}

/// The state whose folder under `.tfw/backups/` holds `path`, if it is in one.
pub(crate) fn backup_folder_state(path: &Path) -> Option<String> {
    path.parent()
        .filter(|p| {
            p.parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "backups")
        })
        .and_then(Path::file_name)
        .map(|n| decode_segment(&n.to_string_lossy()))
}

/// The state a backup belongs to: its folder under `.tfw/backups/`, or `--state`.
fn state_of(path: &Path, flag: Option<&str>) -> Result<String> {
    match (flag, backup_folder_state(path)) {
        (Some(flag), _) => Ok(flag.to_string()),
        (None, Some(folder)) => Ok(folder),
        (None, None) => Err(Problem::error(format!(
            "cannot tell which state `{}` belongs to",
            path.display()
        ))
        .hint("backups live in .tfw/backups/<state>/; for another file, name the state with `tfw --state NAME state restore FILE`")
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_from_the_backup_folder() {
        let path = Path::new("/r/.tfw/backups/team%2Fdev/0000000003-x.tfstate");
        assert_eq!(state_of(path, None).unwrap(), "team/dev");
        assert_eq!(state_of(path, Some("prod")).unwrap(), "prod");
        assert!(state_of(Path::new("/tmp/x.tfstate"), None).is_err());
    }
}
