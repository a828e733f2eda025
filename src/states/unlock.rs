//! `tfw state unlock`: release a stuck lock, safely. GraphQL says who holds the lock and
//! since when (REST has no "show lock"); GitLab's 409 answer to a lock attempt gives the
//! holder's lock ID, so the release is `DELETE /lock?ID=<that lock>`: if the holder finished
//! and someone else locked the state meanwhile, their lock is not the one released. Your own
//! lock (by the token's identity, see `backend::identity`) goes without ceremony when no
//! pipeline of yours is running; anything else needs `--force` and the state name typed.

use anyhow::Result;

use crate::backend::gitlab::ApiError;
use crate::backend::identity::{Identity, Owner, describe_jobs, describe_this_job};
use crate::confirm::Ask;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::states::listing::StateLock;
use crate::states::remote::Remote;

pub(crate) struct Options<'a> {
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
            "wait for it to finish, or stop it ({}): it releases its lock itself",
            match (holder.orphan(), holder.pid) {
                (Some(pid), _) => format!("`kill -INT {pid}`: terraform stops gracefully"),
                (None, Some(pid)) => format!("Ctrl-C in its terminal, or `kill -INT {pid}`"),
                (None, None) => "Ctrl-C in its terminal".into(),
            }
        ))
        .into());
    }
    Err(crate::session::runlock::busy(&holder).into())
}

pub(crate) fn run(remote: &Remote, options: &Options) -> Result<ExitCode> {
    let printer = &remote.ctx.printer;
    let name = remote.target(options.name);
    crate::states::protection::guard_write(remote.ctx, &remote.backend.for_state(&name), "unlock")?;
    held_here(remote, &name)?;
    let job_token = remote.client.is_job_token();
    let lock = if job_token {
        // GraphQL refuses job tokens: the lock attempt below asks GitLab instead, once the
        // state is known to exist (a lock attempt would create it).
        let exists = remote.call(&name, &format!("read `{name}`"), |c| c.state_exists(&name))?;
        if !exists {
            return Err(crate::states::remote::no_such_state(&name, &[]).into());
        }
        StateLock {
            holder: None,
            since: None,
        }
    } else {
        let info = remote.info(&name)?;
        match StateLock::of(&info) {
            Some(lock) => lock,
            None => {
                printer.status(&format!("state `{name}` is not locked; nothing to do"));
                return Ok(ExitCode::Success);
            }
        }
    };
    // The lock attempt either fails with the holder's LockInfo (the usual case) or succeeds
    // because the lock went away since GraphQL answered: then we release our own at once,
    // before a signal may end tfw.
    let held = crate::runner::signals::hold();
    let attempt = remote.call(&name, &format!("read the lock of `{name}`"), |client| {
        client.lock(&name, "OperationTypeInvalid")
    })?;
    let holder_info = match attempt {
        Ok(our_id) => {
            remote.call(&name, &format!("unlock `{name}`"), |c| {
                c.unlock(&name, Some(&our_id))
            })?;
            printer.status(&if job_token {
                format!("state `{name}` is not locked; nothing to do")
            } else {
                format!("the lock on `{name}` was released meanwhile; nothing to do")
            });
            return Ok(ExitCode::Success);
        }
        Err(holder) => holder,
    };
    drop(held);
    // The 409 carries the holder's ID, Who and Created; its other fields echo our request.
    let text = |key: &str| {
        holder_info
            .get(key)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    // Without the holder's ID the release would be a force-unlock of whatever lock is held
    // then: GitLab's 409 for a busy row (`409 Conflict: Resource lock`) carries no LockInfo.
    let Some(id) = text("ID").map(str::to_string) else {
        return Err(Problem::error(format!(
            "GitLab answered the lock request on `{name}` without the holder's lock ID{}; nothing was released",
            holder_info
                .get("message")
                .and_then(|m| m.as_str())
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ))
        .hint(format!(
            "GitLab was probably busy with the state; run `tfw state unlock {name}` again in a moment"
        ))
        .into());
    };
    let id = Some(id);
    // GraphQL's `lockedByUser` is GitLab's own record; the LockInfo `Who` is the fallback.
    let holder = lock
        .holder
        .clone()
        .or(text("Who").map(str::to_string))
        .unwrap_or_else(|| "someone".into());
    let lock = StateLock {
        holder: Some(holder.clone()),
        since: lock.since.clone().or(text("Created").map(str::to_string)),
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
    let identity = Identity::of(&remote.client, &remote.ctx.settings.env);
    let owner = Owner::of(&remote.client, &identity, &holder);
    if owner.is_plainly_yours() {
        printer.status(&format!("{described}: your own lock"));
        // Without a terminal there is nobody to ask: a tfw of this directory still running
        // was refused above, which is what the question is for.
        if printer.interactive() {
            Ask {
                command: "tfw state unlock",
                action: &format!("release your lock on `{name}`"),
            }
            .yes(&remote.ctx.printer, false, "--force")?;
        }
    } else {
        if !options.force {
            let (why, hint) = refusal(&owner, &holder, &name);
            return Err(
                Problem::error(format!("{described}{why}; nothing was changed"))
                    .hint(hint)
                    .into(),
            );
        }
        printer.warning(&format!(
            "{described}: releasing a lock while its terraform still runs can corrupt the state"
        ));
        Ask {
            command: "tfw state unlock --force",
            action: &format!("release {holder}'s lock on `{name}`"),
        }
        .typed(&remote.ctx.printer, &name, options.confirm)?;
    }
    let released = remote.client.unlock(&name, id.as_deref());
    match released {
        Ok(()) => {
            printer.status(&format!("released {holder}'s lock on `{name}`"));
            Ok(ExitCode::Success)
        }
        Err(ApiError::Status { code: 409, .. }) => Err(Problem::error(format!(
            "the lock on `{name}` changed since tfw looked (it is no longer {holder}'s); nothing was released"
        ))
        .hint(format!("run `tfw state unlock {name}` again to see who holds it now"))
        .into()),
        Err(err) => Err(remote.failure(&name, &format!("unlock `{name}`"), &err)),
    }
}

/// Why a lock that is not plainly yours is not released without `--force`, and what to do.
fn refusal(owner: &Owner, holder: &str, name: &str) -> (String, String) {
    let force = format!("`tfw state unlock {name} --force` releases it");
    match owner {
        Owner::YourPipelines(jobs) => (
            format!(
                ": that is you, and {} you started {} running: the lock is probably {}",
                describe_jobs(jobs),
                if jobs.len() == 1 { "is" } else { "are" },
                if jobs.len() == 1 { "its" } else { "theirs" }
            ),
            format!(
                "let the pipeline finish (or cancel it in GitLab); if the lock is really left over, {force}"
            ),
        ),
        Owner::YouUnchecked(why) => (
            format!(
                ": that is you, but tfw could not check whether a pipeline of yours holds it ({why})"
            ),
            format!(
                "look at the project's running pipelines in GitLab (Build > Pipelines); if none of yours is running, {force}"
            ),
        ),
        Owner::PipelineJobs { user, jobs } => (
            format!(
                ": {user} started this pipeline, and {} of theirs {} running: the lock is probably {}",
                describe_jobs(jobs),
                if jobs.len() == 1 { "is" } else { "are" },
                if jobs.len() == 1 {
                    "its"
                } else {
                    "one of theirs"
                }
            ),
            format!(
                "let it finish (or cancel it in GitLab); if the lock is really left over, {force}"
            ),
        ),
        Owner::ThisJobOnly {
            user,
            job,
            pipeline,
        } => (
            format!(
                ": {user} started this pipeline, and no job of theirs is running but this one ({}): an earlier command of this job probably left it, or {user} holds it from a workstation",
                describe_this_job(*job, *pipeline)
            ),
            format!("if nothing else runs on `{name}`, {force}"),
        ),
        Owner::PipelineUser { user, why } => (
            format!(
                ": {user} started this pipeline, and tfw could not list the running jobs ({why}): this job, another job or pipeline of theirs, or their workstation may hold it"
            ),
            format!(
                "check the project's running pipelines in GitLab (Build > Pipelines); if the lock is left over, {force}"
            ),
        ),
        Owner::Unknown(why) => (
            format!("; tfw cannot tell whether that is you ({why})"),
            format!("if it is your own lock from an interrupted run, {force}"),
        ),
        Owner::You | Owner::Someone(_) => (
            ", not by you".to_string(),
            format!("ask {holder} first; if their run is really gone, {force}"),
        ),
    }
}
