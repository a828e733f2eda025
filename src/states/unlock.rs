//! `tfw state unlock`: release a stuck lock, safely. GraphQL says who holds the lock and
//! since when (REST has no "show lock"); GitLab's 409 answer to a lock attempt gives the
//! holder's lock ID, so the release is `DELETE /lock?ID=<that lock>`: if the holder finished
//! and someone else locked the state meanwhile, their lock is not the one released. Your own
//! lock goes without ceremony; someone else's needs `--force` and the state name typed.

use anyhow::Result;

use crate::backend::gitlab::ApiError;
use crate::confirm::Ask;
use crate::problem::Problem;
use crate::states::listing::Lock;
use crate::states::remote::Remote;

pub struct Options<'a> {
    pub name: Option<&'a str>,
    pub force: bool,
    pub confirm: Option<&'a str>,
}

/// A tfw of this directory that still runs holds the lock through terraform: releasing it
/// would let another run write the state under it. Refused even with `--force` (stop that
/// run instead). Any other run here is refused by the run lock as every change is.
fn held_here(remote: &Remote, name: &str) -> Result<()> {
    let Some(holder) = crate::session::runlock::try_acquire(remote.ctx, Some(name)) else {
        return Ok(());
    };
    if holder.alive() && holder.state.as_deref() == Some(name) {
        return Err(Problem::error(format!(
            "state `{name}` is locked by {}, still running in this directory; nothing was released",
            holder.describe()
        ))
        .hint(format!(
            "wait for it to finish, or stop it (Ctrl-C in its terminal{}): it releases its lock itself",
            holder.pid.map_or(String::new(), |pid| format!(", or `kill -INT {pid}`"))
        ))
        .into());
    }
    Err(crate::session::runlock::busy(&holder).into())
}

pub fn run(remote: &Remote, options: &Options) -> Result<i32> {
    let printer = &remote.ctx.printer;
    let name = remote.target(options.name);
    held_here(remote, &name)?;
    let info = remote.info(&name)?;
    let Some(lock) = Lock::of(&info) else {
        printer.status(&format!("state `{name}` is not locked; nothing to do"));
        return Ok(0);
    };
    // The lock attempt either fails with the holder's LockInfo (the usual case) or succeeds
    // because the lock went away since GraphQL answered: then we release our own at once.
    let attempt = remote.call(&name, &format!("read the lock of `{name}`"), |client| {
        client.lock(&name, "OperationTypeInvalid")
    })?;
    let holder_info = match attempt {
        Ok(our_id) => {
            remote.call(&name, &format!("unlock `{name}`"), |c| {
                c.unlock(&name, Some(&our_id))
            })?;
            printer.status(&format!(
                "the lock on `{name}` was released meanwhile; nothing to do"
            ));
            return Ok(0);
        }
        Err(holder) => holder,
    };
    // The 409 carries the holder's ID, Who and Created; its other fields echo our request.
    let text = |key: &str| {
        holder_info
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let id = text("ID").map(str::to_string);
    // GraphQL's `lockedByUser` is GitLab's own record; the LockInfo `Who` is the fallback.
    let holder = lock
        .holder
        .clone()
        .or(text("Who").map(str::to_string))
        .unwrap_or_else(|| "someone".into());
    let lock = Lock {
        holder: Some(holder.clone()),
        since: lock.since.clone(),
    };
    let mut described = format!("state `{name}` is locked by {}", lock.describe());
    // GitLab keeps no operation: its 409 echoes the one we sent (Invalid). Named when a
    // server does keep it.
    if let Some(operation) = text("Operation").filter(|op| *op != "OperationTypeInvalid") {
        let operation = operation.trim_start_matches("OperationType").to_lowercase();
        described.push_str(&format!(" for {operation}"));
    }
    if let Some(id) = &id {
        described.push_str(&format!(" (lock ID {id})"));
    }
    let mine = holder.eq_ignore_ascii_case(&remote.backend.username.value);
    if mine {
        printer.status(&format!("{described}: your own lock"));
        // Without a terminal there is nobody to ask: a tfw of this directory still running
        // was refused above, which is what the question is for.
        if printer.interactive() {
            Ask {
                command: "tfw state unlock",
                action: &format!("release your lock on `{name}`"),
            }
            .yes(remote.ctx, false, "--force")?;
        }
    } else {
        if !options.force {
            return Err(Problem::error(format!("{described}, not by you; nothing was changed"))
                .hint(format!(
                    "ask {holder} first; if their run is really gone, `tfw state unlock {name} --force` releases it"
                ))
                .into());
        }
        printer.warning(&format!(
            "{described}: releasing someone else's lock while their terraform still runs can corrupt the state"
        ));
        Ask {
            command: "tfw state unlock --force",
            action: &format!("release {holder}'s lock on `{name}`"),
        }
        .typed(remote.ctx, &name, options.confirm)?;
    }
    let released = remote.client.unlock(&name, id.as_deref());
    match released {
        Ok(()) => {
            printer.status(&format!("released {holder}'s lock on `{name}`"));
            Ok(0)
        }
        Err(ApiError::Status { code: 409, .. }) => Err(Problem::error(format!(
            "the lock on `{name}` changed since tfw looked (it is no longer {holder}'s); nothing was released"
        ))
        .hint(format!("run `tfw state unlock {name}` again to see who holds it now"))
        .into()),
        Err(err) => Err(remote.failure(&name, &format!("unlock `{name}`"), &err)),
    }
}
