//! Terraform's backend errors, in GitLab's terms. When a call from terraform's http backend to
//! GitLab fails, terraform says so in its own words ("HTTP remote state endpoint requires
//! auth", "Unexpected HTTP response code 404", "giving up after 3 attempts"), and prints
//! "Error acquiring the state lock" for a lock held by a colleague and a mistyped project
//! alike. tfw already keeps terraform's stderr (see `runner`), so after a failure it reads it
//! and says once what failed (lock, read, write, unlock), why (token, role, project, server,
//! network), what the server is left with, and what to do: above all after a failed state
//! write, where the only copy of the new state is terraform's `errored.tfstate`.

use crate::backend::Backend;
use crate::backend::gitlab::{ApiError, Client};
use crate::context::Context;
use crate::problem::Problem;
use crate::runner::Outcome;

/// Which of terraform's calls to GitLab failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Lock,
    Read,
    Write,
    Unlock,
    /// The saved plan no longer matches the remote state (someone applied meanwhile).
    StalePlan,
}

/// Why it failed, as far as terraform's message tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Someone holds the lock (409 with a lock body).
    Locked,
    Status(u16),
    /// No HTTP answer: refused, unknown host, timed out, connection closed early.
    Network(String),
    /// terraform's client retried and gave up; the attempts got server errors.
    GaveUp(u32),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub phase: Phase,
    pub cause: Cause,
}

/// The backend failures in terraform's stderr, most important first (a lost write before the
/// lock that was left behind after it).
pub fn classify(stderr: &str) -> Vec<Failure> {
    let text = normalize(stderr);
    let network = network_detail(&text);
    let mut failures: Vec<Failure> = blocks(&text)
        .filter_map(|block| {
            let phase = phase_of(&block)?;
            let cause = match (phase, cause_of(&block)) {
                (_, Cause::GaveUp(n)) => match &network {
                    Some(detail) => Cause::Network(detail.clone()),
                    None => Cause::GaveUp(n),
                },
                (_, cause) => cause,
            };
            Some(Failure { phase, cause })
        })
        .collect();
    // terraform often follows one failure with a second, vaguer block ("Failed to persist
    // state to backend"): one failure per phase, the one that knows its cause.
    failures.sort_by_key(|f| (rank(f.phase), f.cause == Cause::Unknown));
    failures.dedup_by_key(|f| f.phase);
    failures
}

fn rank(phase: Phase) -> u8 {
    match phase {
        Phase::Write => 0,
        Phase::StalePlan => 1,
        Phase::Lock => 2,
        Phase::Read => 3,
        Phase::Unlock => 4,
    }
}

/// After terraform failed: prints what went wrong with the backend, after terraform's own
/// message, or that terraform itself died. `action` names the command (`apply`, `plan`) for
/// the hints.
pub fn report(ctx: &Context, backend: &Backend, outcome: &Outcome, action: &str) {
    if outcome.success() || outcome.interrupted {
        return;
    }
    let failures = classify(&outcome.stderr);
    for failure in &failures {
        if failure.phase == Phase::Write {
            protect_errored_state(ctx);
        }
        if let Some(problem) = explain(ctx, backend, failure, &outcome.stderr, action) {
            ctx.printer.problem(&problem);
        }
    }
    if failures.is_empty()
        && let Some(problem) = crashed(ctx, backend, outcome, action)
    {
        ctx.printer.problem(&problem);
    }
}

/// terraform died (a signal, a Go panic) or stopped without saying why: it may have left its
/// lock behind and a half-done change, and nobody told the user.
fn crashed(ctx: &Context, backend: &Backend, outcome: &Outcome, action: &str) -> Option<Problem> {
    let text = crate::runner::strip_ansi(&outcome.stderr);
    let how = if let Some(signal) = outcome.killed_by {
        format!("was killed by signal {signal} ({})", signal_name(signal))
    } else if text.contains("TERRAFORM CRASH") || text.contains("panic: ") {
        // Terraform writes `crash.log` only as two processes; tfw runs it as one
        // (`TF_FORK=0`), so the panic is in the output above. Named only when it is there.
        match ctx.dir().join("crash.log").is_file() {
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
    let backups = crate::backups::dir_for(ctx.dir(), state);
    let shown = backups
        .strip_prefix(ctx.dir())
        .unwrap_or(&backups)
        .display()
        .to_string();
    Some(Problem::error(message).hint(format!(
        "`tfw state show {state}` shows the lock and the serial; release a lock left behind with `tfw state unlock {state}`, then `{}` shows where things stand (the state before any apply is kept in `{shown}`)",
        ctx.tfw("plan")
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
fn protect_errored_state(ctx: &Context) {
    use std::os::unix::fs::PermissionsExt;
    let path = ctx.dir().join("errored.tfstate");
    if let Ok(meta) = std::fs::metadata(&path)
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
}

fn explain(
    ctx: &Context,
    backend: &Backend,
    failure: &Failure,
    stderr: &str,
    _action: &str,
) -> Option<Problem> {
    let state = backend.state_name();
    let nothing_changed = "; nothing was changed";
    Some(match (failure.phase, &failure.cause) {
        (Phase::Lock, Cause::Locked) => crate::safety::explain_lock(ctx, backend, stderr),
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
            ctx.tfw("plan"),
            ctx.tfw("apply")
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
        Cause::Network(detail) => ApiError::Transport(detail.clone()),
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

/// Plain text: no colour, no box-drawing margins, one line per line.
fn normalize(stderr: &str) -> String {
    crate::runner::strip_ansi(stderr)
        .lines()
        .map(|line| line.trim_start_matches(['│', '╷', '╵', ' ']).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Terraform's diagnostics, one per `Error:` line, each with its detail (joined into one line:
/// terraform wraps long messages, URLs included). What comes before the first one is a block
/// too: `init` prints "Error refreshing state: ..." without the prefix.
fn blocks(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split("\nError: ")
        .map(|block| block.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn phase_of(block: &str) -> Option<Phase> {
    let has = |needle: &str| block.contains(needle);
    if has("Error acquiring the state lock") {
        Some(Phase::Lock)
    } else if has("Error releasing the state lock") {
        Some(Phase::Unlock)
    } else if has("Failed to save state")
        || has("Error saving state")
        || has("Failed to upload state")
        || has("Failed to persist state")
    {
        Some(Phase::Write)
    } else if has("Saved plan is stale") {
        Some(Phase::StalePlan)
    } else if has("Error refreshing state")
        || has("Error loading state")
        || has("Failed to get state")
        || has("Failed to read remote state")
        || has("Failed to get existing workspaces")
        || has("HTTP remote state endpoint")
    {
        Some(Phase::Read)
    } else {
        None
    }
}

fn cause_of(block: &str) -> Cause {
    if block.contains("already locked") {
        return Cause::Locked;
    }
    if block.contains("requires auth") {
        return Cause::Status(401);
    }
    if block.contains("invalid auth") {
        return Cause::Status(403);
    }
    if block.contains("internal server error") {
        return Cause::Status(500);
    }
    for prefix in ["Unexpected HTTP response code ", "HTTP error: "] {
        if let Some(code) = number_after(block, prefix) {
            return Cause::Status(code as u16);
        }
    }
    if let Some(attempts) = number_after(block, "giving up after ") {
        return Cause::GaveUp(attempts);
    }
    match network_detail(block) {
        Some(detail) => Cause::Network(detail),
        None => Cause::Unknown,
    }
}

/// What went wrong below HTTP, from terraform's message or its client's `[ERR]` log lines.
fn network_detail(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let found = [
        ("connection refused", "connection refused"),
        ("no such host", "unknown host name"),
        ("x509", "the TLS certificate is not trusted"),
        ("certificate", "the TLS certificate is not trusted"),
        ("timeout", "no answer in time"),
        ("deadline exceeded", "no answer in time"),
        ("connection reset", "the connection was reset"),
        (
            "unexpected eof",
            "the connection closed before the whole answer arrived",
        ),
        (": eof", "the connection closed before an answer arrived"),
    ]
    .iter()
    .find(|(needle, _)| lower.contains(needle))?;
    Some(found.1.to_string())
}

fn number_after(text: &str, prefix: &str) -> Option<u32> {
    let start = text.find(prefix)? + prefix.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(stderr: &str) -> (Phase, Cause) {
        let failures = classify(stderr);
        assert_eq!(failures.len(), 1, "{failures:?}");
        (failures[0].phase, failures[0].cause.clone())
    }

    const LOCK_INTRO: &str = "\nError: Error acquiring the state lock\n\nError message: ";

    #[test]
    fn lock_failures_are_told_apart() {
        let conflict = format!("{LOCK_INTRO}HTTP remote state already locked: ID=abc\n");
        assert_eq!(one(&conflict), (Phase::Lock, Cause::Locked));
        let not_found = format!("{LOCK_INTRO}Unexpected HTTP response code 404\n");
        assert_eq!(one(&not_found), (Phase::Lock, Cause::Status(404)));
        let auth = format!("{LOCK_INTRO}HTTP remote state endpoint requires auth\n");
        assert_eq!(one(&auth), (Phase::Lock, Cause::Status(401)));
        let role = format!("{LOCK_INTRO}HTTP remote state endpoint invalid auth\n");
        assert_eq!(one(&role), (Phase::Lock, Cause::Status(403)));
        let server = format!(
            "{LOCK_INTRO}Failed to lock: POST\nhttp://h/api/v4/projects/42/terraform/state/dev/lock\ngiving up after 2 attempts\n"
        );
        assert_eq!(one(&server), (Phase::Lock, Cause::GaveUp(2)));
        let hung = format!(
            "2026/11/22 03:18:34 [ERR] POST http://h/lock request failed: Post \"http://h/lock\": EOF\n{server}"
        );
        assert_eq!(
            one(&hung),
            (
                Phase::Lock,
                Cause::Network("the connection closed before an answer arrived".into())
            )
        );
    }

    #[test]
    fn reads_writes_and_unlocks() {
        assert_eq!(
            one("Error refreshing state: HTTP remote state endpoint requires auth\n"),
            (Phase::Read, Cause::Status(401))
        );
        assert_eq!(
            one("\nError: Error loading state: Failed to read remote state: unexpected EOF\n"),
            (
                Phase::Read,
                Cause::Network("the connection closed before the whole answer arrived".into())
            )
        );
        let refused = "2026/11/22 03:19:20 [ERR] GET http://h/state/dev request failed: Get \"http://h\": dial tcp 127.0.0.1:1: connect: connection refused\nError refreshing state: Failed to get state: GET http://h/state/dev giving up after 3 attempts\n";
        assert_eq!(
            one(refused),
            (Phase::Read, Cause::Network("connection refused".into()))
        );
        let write = "\nError: Failed to save state\n\nError saving state: HTTP error: 422\n\nError: Failed to persist state to backend\n\nThe error shown above has prevented Terraform from writing the updated state\n";
        assert_eq!(one(write), (Phase::Write, Cause::Status(422)));
        let unlock = "\nError: Error releasing the state lock\n\nError message: Failed to unlock: DELETE\nhttp://h/lock\ngiving up after 2 attempts\n";
        assert_eq!(one(unlock), (Phase::Unlock, Cause::GaveUp(2)));
    }

    #[test]
    fn boxed_and_coloured_output_is_read_too() {
        let boxed = "╷\n│ \u{1b}[1;31mError: \u{1b}[0mError acquiring the state lock\n│ \n│ Error message: Unexpected HTTP response code 404\n╵\n";
        assert_eq!(one(boxed), (Phase::Lock, Cause::Status(404)));
    }

    #[test]
    fn other_errors_are_left_alone() {
        assert!(classify("Error: Invalid function argument\n\nstuff").is_empty());
        assert!(classify("").is_empty());
    }
}
