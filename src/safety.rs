//! Reading terraform's lock failures: someone holds the lock (and then who, since when, and
//! how to release it), or the token may not lock. The confirmations before a change are the
//! session's gate (`session::gate`).

use crate::backend::Backend;
use crate::backend::gitlab::Client;
use crate::context::Context;
use crate::problem::Problem;

/// Did terraform fail to take the lock because someone holds it? Only terraform's "already
/// locked" says so: a 404 (wrong project), a 500 or a dropped connection also end in "Error
/// acquiring the state lock" (see `diagnose`).
pub fn is_lock_conflict(stderr: &str) -> bool {
    let text = crate::runner::strip_ansi(stderr);
    text.contains("Error acquiring the state lock") && text.contains("already locked")
}

/// Did terraform fail to take the lock because the token may not lock (Developer role)?
pub fn is_lock_forbidden(stderr: &str) -> bool {
    let text = crate::runner::strip_ansi(stderr);
    text.contains("Error acquiring the state lock") && text.contains("invalid auth")
}

/// Explains a lock conflict: who holds the lock on `backend`'s state, since when, and how
/// to release it. GitLab's REST API has no "show lock" call; GraphQL tells the holder, and
/// terraform's own message gives the lock ID.
pub fn explain_lock(ctx: &Context, backend: &Backend, stderr: &str) -> Problem {
    let text = crate::runner::strip_ansi(stderr);
    let field = |name: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    // Without lock details terraform still names the ID: "already locked: ID=<id>".
    // (terraform wraps its lines, so read it as one line).
    let id = field("ID").or_else(|| {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let marker = "already locked: ID=";
        let rest = &flat[flat.find(marker)? + marker.len()..];
        let id: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        (!id.is_empty()).then_some(id)
    });
    let (mut who, mut since) = (field("Who"), field("Created"));
    let spinner = ctx.printer.spinner("asking GitLab who holds the lock");
    let now = Client::new(backend).state_info(backend.state_name());
    drop(spinner);
    let state = backend.state_name();
    if let Ok(Some(info)) = &now {
        if let Some(holder) = info.lock_holder() {
            who = Some(holder.to_string());
        }
        if info.locked_at.is_some() {
            since = info.locked_at.clone();
        }
        // Two runs racing: the other one finished between terraform's try and this question
        // (found by tests/concurrency.rs). Nothing to wait for or unlock: just run again.
        if info.lock_holder().is_none() && who.is_none() {
            let id = id.map(|id| format!(" (lock ID {id})")).unwrap_or_default();
            return Problem::error(format!(
                "state `{state}` was locked by another run{id}, which has finished since; nothing was changed"
            ))
            .hint("run the command again (`tfw state show` shows who changed the state last)");
        }
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
    let mine = who.as_deref().is_some_and(|w| w == backend.username.value);
    let hint = if mine {
        format!(
            "that is your own lock, probably from an interrupted run; if nothing is running, release it with `tfw state unlock {state}`"
        )
    } else {
        format!(
            "wait for {} to finish; if the lock is stale, `tfw state unlock {state} --force` releases it",
            who.as_deref().unwrap_or("the holder")
        )
    };
    Problem::error(message).hint(hint)
}
