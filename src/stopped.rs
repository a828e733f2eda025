//! What tfw says after terraform was stopped by a signal (Ctrl-C, a CI cancel, a hangup):
//! checked, not assumed. terraform normally releases its lock and writes the state when it
//! gets its one graceful interrupt, but a second Ctrl-C, a crash of GitLab meanwhile or a
//! provider that ignores the stop can leave the lock held or the new state only in
//! `errored.tfstate`. So tfw asks GitLab right away and says whether the lock is still held,
//! by whom, and the exact command that releases it.

use crate::backend::Backend;
use crate::backend::gitlab::Client;
use crate::backend::identity::{Identity, Owner};
use crate::printer::Printer;
use crate::problem::Problem;
use crate::runner::Outcome;
use crate::settings::Settings;

/// After a run that was interrupted: prints what GitLab shows now. `action` names the
/// command (`apply`, `destroy`, `plan`).
pub(crate) fn report(
    printer: &Printer,
    settings: &Settings,
    backend: &Backend,
    outcome: &Outcome,
    action: &str,
) {
    if !outcome.interrupted {
        return;
    }
    let spinner = printer.spinner("asking GitLab whether the lock was released");
    let client = Client::new(backend);
    // GraphQL, or for CI's job token a lock attempt (terraform has exited: nothing of this
    // run can take the lock meanwhile).
    let lock = match crate::safety::ask_gitlab(&client, backend.state_name()) {
        Some(now) if now.held => StateLock::Held {
            by: now.holder,
            since: now.since,
        },
        Some(_) => StateLock::Free,
        None => StateLock::Unknown(match client.state_info(backend.state_name()) {
            Err(err) => err.problem("reading the lock failed", backend).message,
            Ok(_) => "GitLab's answer named no holder".into(),
        }),
    };
    // Whose the lock is, by the token's identity: this run's, most likely, when it is yours.
    let plainly_yours = match &lock {
        StateLock::Held { by: Some(by), .. } => {
            let identity = Identity::of(&client, &settings.env);
            Owner::of(&client, &identity, by).is_plainly_yours()
        }
        _ => false,
    };
    drop(spinner);
    for problem in problems(settings, action, backend, &lock, plainly_yours) {
        printer.problem(&problem);
    }
}

#[derive(Debug, Clone, PartialEq)]
enum StateLock {
    Free,
    Held {
        by: Option<String>,
        since: Option<String>,
    },
    /// The question failed; why.
    Unknown(String),
}

fn problems(
    settings: &Settings,
    action: &str,
    backend: &Backend,
    lock: &StateLock,
    plainly_yours: bool,
) -> Vec<Problem> {
    let state = backend.state_name();
    let stopped = format!("the {action} of `{state}` was interrupted");
    let mut out = vec![match lock {
        StateLock::Free => Problem::warning(format!(
            "{stopped}; terraform stopped and GitLab shows the state unlocked"
        ))
        .hint(format!(
            "`{}` shows what was changed before the stop (`tfw state show {state}` shows the latest version)",
            settings.tfw("plan")
        )),
        StateLock::Held { by, since } => {
            let since = since
                .as_deref()
                .map(|s| format!(" since {s}"))
                .unwrap_or_default();
            let who = by.as_deref().unwrap_or("someone");
            let hint = if plainly_yours {
                format!(
                    "once no terraform runs on it any more, release it with `tfw state unlock {state}`; then `{}` shows where things stand",
                    settings.tfw("plan")
                )
            } else {
                // Someone else's, a pipeline's, or (in CI) the pipeline user's: tfw cannot
                // tell this run's lock from theirs, so the release is a forced one.
                format!(
                    "if it is this run's lock, or {who}'s is stale, `tfw state unlock {state} --force` releases it (`tfw state unlock {state}` says whose it is); then `tfw plan` shows where things stand"
                )
            };
            Problem::error(format!(
                "{stopped}, and GitLab shows the state still locked by {who}{since}"
            ))
            .hint(hint)
        }
        StateLock::Unknown(why) => Problem::warning(format!(
            "{stopped}; tfw could not ask GitLab whether the lock was released ({why})"
        ))
        .hint(format!(
            "`tfw state show {state}` shows the lock; release one left behind with `tfw state unlock {state}`"
        )),
    }];
    let errored = settings.dir.join("errored.tfstate");
    if errored.is_file() {
        crate::fsutil::narrow(&errored, 0o600);
        out.push(
            Problem::error("terraform could not save the new state and kept it in `errored.tfstate`")
                .hint("push it with `tfw exec -- state push errored.tfstate` before anything else: applying again would fork the state"),
        );
    }
    out
}
