//! Reading terraform's lock failures: someone holds the lock (and then who, since when, and
//! how to release it), or the token may not lock. The confirmations before a change are the
//! session's gate (`session::gate`).

use std::collections::HashMap;

use crate::backend::Backend;
use crate::backend::gitlab::Client;
use crate::backend::identity::{Identity, Owner, describe_jobs, describe_this_job};
use crate::printer::Printer;
use crate::problem::Problem;

/// Did terraform fail to take the lock because the token may not lock (Developer role)?
pub(crate) fn is_lock_forbidden(stderr: &str) -> bool {
    let text = crate::runner::strip_ansi(stderr);
    text.contains("Error acquiring the state lock") && text.contains("invalid auth")
}

/// The holder's lock ID from terraform's "already locked: ID=<id>": GitLab's 409 carries the
/// holder's ID and terraform repeats it there, in every version. (The "Lock Info:" block
/// below it is, since Terraform 1.x, the loser's own attempt: its ID, Who and Created are
/// not the holder's.)
fn holder_id(stderr: &str) -> Option<String> {
    let text = crate::runner::strip_ansi(stderr);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let marker = "already locked: ID=";
    let rest = &flat[flat.find(marker)? + marker.len()..];
    let id: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    (!id.is_empty()).then_some(id)
}

/// terraform's "already locked" without the holder's ID: GitLab's 409 carried no LockInfo
/// (terraform repeats an empty `ID=`, or could not read the body).
fn names_no_holder(stderr: &str) -> bool {
    let text = crate::runner::strip_ansi(stderr);
    text.contains("already locked, failed to")
        || (text.contains("already locked: ID=") && holder_id(stderr).is_none())
}

/// What GitLab says about a lock now.
pub(crate) struct LockNow {
    pub held: bool,
    pub holder: Option<String>,
    pub since: Option<String>,
    pub id: Option<String>,
}

/// GraphQL first (it only reads); where it refuses the token (CI's job token), a lock
/// attempt on the state API, whose 409 names the holder, released at once if it succeeds.
/// `None` when GitLab could not be asked or its 409 named no holder.
pub(crate) fn ask_gitlab(client: &Client, state: &str) -> Option<LockNow> {
    if !client.is_job_token() {
        let info = client.state_info(state).ok()??;
        return Some(LockNow {
            held: info.lock_holder().is_some() || info.locked_at.is_some(),
            holder: info.lock_holder().map(str::to_string),
            since: info.locked_at.clone(),
            id: None,
        });
    }
    // A lock of tfw's own, if the attempt succeeds: a signal waits until it is released.
    let _held = crate::runner::signals::hold();
    match client.lock(state, "OperationTypeInvalid").ok()? {
        Ok(our_id) => {
            let _ = client.unlock(state, Some(&our_id));
            Some(LockNow {
                held: false,
                holder: None,
                since: None,
                id: None,
            })
        }
        Err(holder) if crate::backend::gitlab::names_holder(&holder) => {
            let text = |key: &str| holder.get(key).and_then(|v| v.as_str()).map(str::to_string);
            Some(LockNow {
                held: true,
                holder: text("Who"),
                since: text("Created"),
                id: text("ID"),
            })
        }
        Err(_) => None,
    }
}

/// Explains a lock conflict: who holds the lock on `backend`'s state, since when, and how
/// to release it, all from GitLab (terraform's own "Lock Info" may be the loser's).
pub(crate) fn explain_lock(
    printer: &Printer,
    env: &HashMap<String, String>,
    backend: &Backend,
    stderr: &str,
) -> Problem {
    let state = backend.state_name();
    let mut id = holder_id(stderr);
    let client = Client::new(backend);
    let spinner = printer.spinner("asking GitLab who holds the lock");
    let now = ask_gitlab(&client, state);
    drop(spinner);
    if names_no_holder(stderr) {
        let held = match &now {
            Some(now) if now.held => format!(
                "; GitLab shows it locked now{}",
                now.holder
                    .as_deref()
                    .map(|h| format!(" by {h}"))
                    .unwrap_or_default()
            ),
            Some(_) => "; GitLab shows it unlocked now".into(),
            None => String::new(),
        };
        return Problem::error(format!(
            "GitLab answered terraform's lock request on `{state}` with a 409 that names no lock holder{held}; nothing was changed"
        ))
        .hint(format!(
            "GitLab's one 409 without a holder is `409 Conflict: Resource lock`, when another request held the state's database record at that moment (a proxy's 409 would look the same): run the command again; `tfw state show {state}` shows the lock"
        ));
    }
    let (mut who, mut since) = (None, None);
    if let Some(now) = now {
        // Two runs racing: the other one finished between terraform's try and this question
        // (found by tests/concurrency.rs). Nothing to wait for or unlock: just run again.
        if !now.held {
            let id = id.map(|id| format!(" (lock ID {id})")).unwrap_or_default();
            return Problem::error(format!(
                "state `{state}` was locked by another run{id}, which has finished since; nothing was changed"
            ))
            .hint("run the command again (`tfw state show` shows who changed the state last)");
        }
        (who, since) = (now.holder, now.since);
        id = id.or(now.id);
    }
    let mut message = format!("state `{state}` is locked");
    if let Some(who) = &who {
        message.push_str(&format!(" by {who}"));
    }
    if let Some(since) = &since {
        message.push_str(&format!(" since {since}"));
    }
    if let Some(id) = &id {
        message.push_str(&format!(" (lock ID {id})"));
    }
    let Some(holder) = who else {
        return Problem::error(message).hint(format!(
            "GitLab did not say who holds it; `tfw state show {state}` asks again, and if the lock is stale `tfw state unlock {state} --force` releases it"
        ));
    };
    let identity = Identity::of(&client, env);
    let hint = match Owner::of(&client, &identity, &holder) {
        Owner::You => format!(
            "that is your own lock, probably from an interrupted run; if nothing is running, release it with `tfw state unlock {state}`"
        ),
        Owner::YourPipelines(jobs) => format!(
            "that is your lock, and {} you started {} running: wait for it (or cancel it in GitLab); a lock left over is released with `tfw state unlock {state} --force`",
            describe_jobs(&jobs),
            if jobs.len() == 1 { "is" } else { "are" }
        ),
        Owner::YouUnchecked(why) => format!(
            "that is your lock; tfw could not check whether a pipeline of yours is running ({why}): if none is, `tfw state unlock {state} --force` releases it"
        ),
        Owner::PipelineJobs { user, jobs } => format!(
            "{user} started this pipeline, and {} of theirs {} running: the lock is probably {}; wait for it (a `resource_group` in `.gitlab-ci.yml` runs one job per state at a time); a lock left over is released with `tfw state unlock {state} --force`",
            describe_jobs(&jobs),
            if jobs.len() == 1 { "is" } else { "are" },
            if jobs.len() == 1 {
                "its"
            } else {
                "one of theirs"
            }
        ),
        Owner::ThisJobOnly {
            user,
            job,
            pipeline,
        } => format!(
            "{user} started this pipeline, and no job of theirs is running but this one ({}): an earlier command of this job probably left the lock, or {user} holds it from a workstation; if nothing else runs, `tfw state unlock {state} --force` releases it",
            describe_this_job(job, pipeline)
        ),
        Owner::PipelineUser { user, why } => format!(
            "{user} started this pipeline; tfw could not list the running jobs ({why}), so this job, another job or pipeline of theirs, or their workstation may hold it; release a stale lock with `tfw state unlock {state} --force`"
        ),
        Owner::Someone(_) | Owner::Unknown(_) => format!(
            "wait for {holder} to finish; if the lock is stale, `tfw state unlock {state} --force` releases it"
        ),
    };
    Problem::error(message).hint(hint)
}

/// terraform's unlock got 409: `delete '/lock'` with its own ID answers so when GitLab holds
/// another lock, or none (terraform's was released or taken over meanwhile, a
/// `force-unlock`). Nothing of the run is left to release.
pub(crate) fn lock_gone(backend: &Backend) -> Problem {
    let state = backend.state_name();
    let now = match Client::new(backend).state_info(state) {
        Ok(Some(info)) => match info.lock_holder() {
            Some(holder) => {
                format!("; GitLab shows it locked by {holder} now, a lock that is not terraform's")
            }
            None if info.locked_at.is_none() => "; GitLab shows it unlocked now".into(),
            None => "; GitLab shows it locked now, not by terraform".into(),
        },
        _ => String::new(),
    };
    Problem::error(format!(
        "terraform's lock on `{state}` was gone when it released it (409: GitLab holds another lock, or none){now}"
    ))
    .hint(format!(
        "someone released or took over the lock during the run; nothing of this run is left to release (`tfw state show {state}` shows who holds it)"
    ))
}
