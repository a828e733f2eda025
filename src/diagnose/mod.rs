//! Terraform's backend errors, in GitLab's terms. When a call from terraform's http backend to
//! GitLab fails, terraform says so in its own words ("HTTP remote state endpoint requires
//! auth", "Unexpected HTTP response code 404", "giving up after 3 attempts"), and prints
//! "Error acquiring the state lock" for a lock held by a colleague and a mistyped project
//! alike. tfw already keeps terraform's stderr (see `runner`), so after a failure it reads it
//! and says once what failed (lock, read, write, unlock), why (token, role, project, server,
//! network), what the server is left with, and what to do: above all after a failed state
//! write, where the only copy of the new state is terraform's `errored.tfstate`.

mod classify;

use std::path::Path;

use crate::backend::Backend;
use crate::backend::gitlab::{ApiError, Client, Transport};
use crate::printer::Printer;
use crate::problem::Problem;
use crate::runner::Outcome;
use crate::settings::Settings;

use classify::{Cause, Failure, Phase, classify};

/// After terraform failed: prints what went wrong with the backend, after terraform's own
/// message, or that terraform itself died. `action` names the command (`apply`, `plan`) for
/// the hints.
pub(crate) fn report(
    printer: &Printer,
    settings: &Settings,
    backend: &Backend,
    outcome: &Outcome,
    action: &str,
) {
    if outcome.success() || outcome.interrupted {
        return;
    }
    let failures = classify(&outcome.stderr);
    for failure in &failures {
        if failure.phase == Phase::Write {
            protect_errored_state(&settings.dir);
        }
        if let Some(problem) = explain(printer, settings, backend, failure, &outcome.stderr, action)
        {
            printer.problem(&problem);
        }
    }
    if failures.is_empty()
        && let Some(problem) = crashed(settings, backend, outcome, action)
    {
        printer.problem(&problem);
    }
}

/// terraform died (a signal, a Go panic) or stopped without saying why: it may have left its
/// lock behind and a half-done change, and nobody told the user.
fn crashed(
    settings: &Settings,
    backend: &Backend,
    outcome: &Outcome,
    action: &str,
) -> Option<Problem> {
    let text = crate::runner::strip_ansi(&outcome.stderr);
    let how = if let Some(signal) = outcome.killed_by {
        format!("was killed by signal {signal} ({})", signal_name(signal))
    } else if text.contains("TERRAFORM CRASH") || text.contains("panic: ") {
        // Terraform writes `crash.log` only as two processes; tfw runs it as one
        // (`TF_FORK=0`), so the panic is in the output above. Named only when it is there.
        match settings.dir.join("crash.log").is_file() {
            true => format!("crashed (exit {}; see `crash.log`)", outcome.code),
            false => format!(
                "crashed (exit {}; its panic message is above)",
                outcome.code
            ),
        }
    } else if !text.contains("Error") {
        format!(
            "stopped with exit {} without an error message",
            outcome.code
        )
    } else {
        return None;
    };
    let state = backend.state_name();
    let mut message = format!("terraform {how} during `{action}` of `{state}`");
    if let Some(held) = lock_status(backend) {
        message.push_str(&format!("; {held}"));
    }
    let backups = crate::backups::dir_for(&settings.dir, state);
    let shown = backups
        .strip_prefix(&settings.dir)
        .unwrap_or(&backups)
        .display()
        .to_string();
    Some(Problem::error(message).hint(format!(
        "`tfw state show {state}` shows the lock and the serial; release a lock left behind with `tfw state unlock {state}`, then `{}` shows where things stand (the state before any apply is kept in `{shown}`)",
        settings.tfw("plan")
    )))
}

/// "GitLab shows `x` locked by y", asked right away; `None` when not locked, or unknown.
fn lock_status(backend: &Backend) -> Option<String> {
    let info = Client::new(backend)
        .state_info(backend.state_name())
        .ok()??;
    Some(format!(
        "GitLab shows it still locked by {}",
        info.lock_holder()?
    ))
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV, a crash",
        libc::SIGABRT => "SIGABRT, a crash",
        libc::SIGBUS => "SIGBUS, a crash",
        libc::SIGKILL => "SIGKILL: out of memory, or killed",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "a signal",
    }
}

/// `errored.tfstate` is a whole state (secrets included), written by terraform with its
/// usual mode 0644: readable by the owner only, like tfw's own backups.
fn protect_errored_state(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("errored.tfstate");
    if let Ok(meta) = std::fs::metadata(&path)
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
}

fn explain(
    printer: &Printer,
    settings: &Settings,
    backend: &Backend,
    failure: &Failure,
    stderr: &str,
    _action: &str,
) -> Option<Problem> {
    let state = backend.state_name();
    let nothing_changed = "; nothing was changed";
    Some(match (failure.phase, &failure.cause) {
        (Phase::Lock, Cause::Locked) => crate::safety::explain_lock(printer, &settings.env, backend, stderr),
        (Phase::Lock, Cause::Status(403)) => {
            // terraform does not show GitLab's answer, which tells a token's scope and a
            // protection rule apart: tfw asks the same question to read it.
            let error = ApiError::Status {
                code: 403,
                body: crate::backend::gitlab::lock_refusal(backend),
            };
            let mut problem = error.problem(&format!("GitLab refused to lock `{state}`"), backend);
            problem.message.push_str(nothing_changed);
            problem
        }
        (Phase::Write, Cause::Status(500) | Cause::GaveUp(_)) => {
            let what = format!("the new state of `{state}` was NOT saved to GitLab");
            Problem::error(format!(
                "{what}: GitLab answered with a server error (500); {}",
                crate::backend::gitlab::lock_now(backend)
            ))
            .hint("push the new state, which terraform kept in `errored.tfstate` (what it changed exists, GitLab does not know it yet), once nobody else holds the lock: `tfw exec -- state push errored.tfstate`. Do not apply again before that: the state would fork")
        }
        (Phase::StalePlan, _) => Problem::error(format!(
            "state `{state}` changed since the plan was made (someone applied meanwhile){nothing_changed}"
        ))
        .hint(format!(
            "run `{}` again and review what it shows now (or `{}`, which plans, shows and asks)",
            settings.tfw("plan"),
            settings.tfw("apply")
        )),
        (Phase::Lock | Phase::Read, cause) => {
            let what = match failure.phase {
                Phase::Lock => format!("terraform could not lock state `{state}`"),
                _ => format!("terraform could not read state `{state}`"),
            };
            let mut problem = cause_problem(cause, &what, backend)?;
            problem.message.push_str(nothing_changed);
            problem
        }
        (Phase::Write, cause) => {
            let what = format!("the new state of `{state}` was NOT saved to GitLab");
            let problem = cause_problem(cause, &what, backend)
                .unwrap_or_else(|| Problem::error(what.clone()));
            let fix = problem.hint.clone().map(|h| format!("{h}; then ")).unwrap_or_default();
            problem.hint(format!(
                "{fix}push the new state, which terraform kept in `errored.tfstate` (what it changed exists, GitLab does not know it yet): `tfw exec -- state push errored.tfstate`. Do not apply again before that: the state would fork"
            ))
        }
        (Phase::Unlock, Cause::Status(409)) => crate::safety::lock_gone(backend),
        (Phase::Unlock, cause) => {
            let what = format!("terraform could not release its lock on `{state}`");
            let problem = cause_problem(cause, &what, backend)
                .unwrap_or_else(|| Problem::error(what.clone()));
            // Asked right away: the unlock may have worked and only its answer got lost.
            let held = match Client::new(backend).state_info(state) {
                Ok(info) => format!(
                    "GitLab shows it still locked by {}",
                    info.as_ref().and_then(|i| i.lock_holder())?
                ),
                Err(_) => "the lock is probably still held".to_string(),
            };
            Problem::error(format!("{}; {held}", problem.message)).hint(format!(
                "once no other run is going on, release it with `tfw state unlock {state}`"
            ))
        }
    })
}

/// The cause as GitLab API errors are explained elsewhere in tfw (`ApiError::problem`), so a
/// rejected token reads the same whether terraform or tfw met it.
fn cause_problem(cause: &Cause, what: &str, backend: &Backend) -> Option<Problem> {
    let error = match cause {
        // terraform shows no body; GitLab's answer to a read of the state tells the cause (a
        // deletion in progress; a project it does not show to the token, as the lock, write
        // and unlock routes create a missing state, so their 404 is the project's; an account
        // or a role refused even reading).
        Cause::Status(code @ (403 | 404 | 422)) => ApiError::Status {
            code: *code,
            body: crate::backend::gitlab::refusal_body(backend),
        },
        Cause::Status(code) => ApiError::Status {
            code: *code,
            body: String::new(),
        },
        Cause::Network(network) => {
            let (trouble, detail) = network.described();
            ApiError::Transport(Transport::new(trouble, detail))
        }
        Cause::GaveUp(attempts) => {
            return Some(
                Problem::error(format!(
                    "{what}: GitLab answered with a server error, {attempts} attempt{} in a row",
                    if *attempts == 1 { "" } else { "s" }
                ))
                .hint("GitLab may be having trouble; try again in a moment"),
            );
        }
        Cause::Locked | Cause::Unknown => return None,
    };
    Some(error.problem(what, backend))
}
