//! GitLab's failures as messages naming their real cause and the fix. GitLab tells several
//! causes apart in its answers (a 403 for the token's scope or a protection rule, a 404 for
//! a project the token cannot see, a 422 for a state being deleted, OAuth's `invalid_token`);
//! where its answer does not say (a plain 403: the role or an archived project), tfw asks
//! GitLab about the project, and when even that fails says what it knows and how to find out.

use super::{ApiError, Client, Transport, Trouble};
use crate::backend::Backend;
use crate::problem::Problem;

/// GitLab's JSON error body, whichever shape it has.
pub(super) fn field(body: &str, key: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    match &value[key] {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

const JOB_TOKEN_FIX: &str = "in CI, set `TF_HTTP_PASSWORD` (and `TF_HTTP_USERNAME`) to a project access token with the `read_api` scope for this, or run it from a workstation";

impl ApiError {
    /// A message for the user: cause and fix, never the token.
    pub(crate) fn problem(&self, what: &str, backend: &Backend) -> Problem {
        let job_token = backend.uses_job_token();
        let project = &backend.project;
        match self {
            ApiError::JobToken { what: refused } => Problem::error(format!(
                "{what}: GitLab does not accept CI's job token to {refused} (the job token opens only the state API)"
            ))
            .hint(JOB_TOKEN_FIX),
            ApiError::Status { code: 401, body } => {
                super::tokens::unauthorized(what, body, backend, job_token)
            }
            ApiError::Status { code: 403, body } => forbidden(what, body, backend, job_token),
            ApiError::Status { code: 404, body } if body.contains("Project Not Found") => {
                Problem::error(format!(
                    "{what}: GitLab shows no project `{project}` to this token (404): it does not exist, or the token's user is not a member (GitLab answers 404 to non-members of a private project)"
                ))
                .hint(format!(
                    "check the project in GITLAB_PROJECT/TF_HTTP_ADDRESS; if it is right, ask a project Maintainer to add {} to it",
                    if job_token { "the pipeline's user" } else { "you" }
                ))
            }
            // terraform shows no body: GitLab answers this 404 for a missing project and for a
            // private one the token's user is not a member of alike.
            ApiError::Status { code: 404, .. } => Problem::error(format!(
                "{what}: GitLab found no such project or state (404)"
            ))
            .hint(format!(
                "check GITLAB_PROJECT/TF_HTTP_ADDRESS (project `{project}`) and the state name `{}`; GitLab also answers 404 when the token's user is not a member of the project (`tfw doctor` checks)",
                backend.state_name()
            )),
            // Not from a lock request (those come back as the holder's LockInfo, see
            // `Client::lock`): GitLab's 409s are an unlock naming a lock it does not hold
            // (`delete '/lock'` rescuing `StateLockedError`) and `API::API`'s busy record.
            ApiError::Status { code: 409, body } if body.contains("Resource lock") => {
                Problem::error(format!(
                    "{what}: GitLab answered `409 Conflict: Resource lock`: another request held the state's database record at that moment (not a Terraform lock)"
                ))
                .hint("run the command again in a moment")
            }
            ApiError::Status { code: 409, .. } => Problem::error(format!(
                "{what}: GitLab answered 409 Conflict: the lock it holds on `{}` is not the one named (it was released, or taken over, meanwhile)",
                backend.state_name()
            ))
            .hint(format!(
                "`tfw state show {}` shows who holds the lock now",
                backend.state_name()
            )),
            ApiError::Status { code: 422, body } if is_deleting(body) => Problem::error(format!(
                "{what}: state `{}` is being deleted: GitLab has scheduled its deletion and refuses every call about it until its background worker has removed it (422)",
                backend.state_name()
            ))
            .hint("wait a few minutes: once `tfw state list` no longer shows it, the name can be used again (for a new, empty state)"),
            // terraform met a 422 and tfw's read of the state gets none: the refusal was the
            // write's own, which GitLab explains only in the answer terraform did not show.
            ApiError::Status { code: 422, body } if body.trim().is_empty() => Problem::error(format!(
                "{what}: GitLab refused the request (422) and terraform did not show why; GitLab answers 422 to a write whose `serial` it already has, to one without a `serial` or not JSON, and to any call about a state being deleted (`{}` is not)",
                backend.state_name()
            ))
            .hint(format!(
                "`tfw state show {}` shows the serial GitLab has; a serial it already has means the state changed meanwhile",
                backend.state_name()
            )),
            ApiError::Status { code: 422, body } => {
                let message = field(body, "message").unwrap_or_else(|| body.trim().to_string());
                let hint = if message.contains("already been taken") {
                    "GitLab already has a version with this serial: the state changed meanwhile; read it again (`tfw state pull`) before writing"
                } else if message.contains("blank") {
                    "the state document has no `serial`: GitLab keys every version by it"
                } else {
                    "GitLab's message above says what it refused"
                };
                Problem::error(format!(
                    "{what}: GitLab refused the request (422): {}",
                    message.chars().take(200).collect::<String>()
                ))
                .hint(hint)
            }
            // `file_too_large!` when the instance sets `max_terraform_state_size_bytes`.
            ApiError::Status { code: 413, .. } => Problem::error(format!(
                "{what}: GitLab refused the state as larger than this instance allows (413)"
            ))
            .hint("GitLab's administrators set the limit (Admin > Settings > Preferences, Terraform state size); a state this big usually holds data it need not (large outputs, inline files)"),
            ApiError::Status { code, body } if *code < 500 => Problem::error(format!(
                "{what}: GitLab refused the request ({code}){}",
                first_line(&gitlab_message(body).unwrap_or_else(|| body.clone()))
            ))
            .hint("GitLab's message says what it refused; `tfw -v` shows the calls tfw made"),
            ApiError::Status { code, body } => Problem::error(format!(
                "{what}: GitLab answered {code}{}",
                first_line(body)
            ))
            .hint("GitLab may be having trouble; try again in a moment"),
            ApiError::Unreached(unreached) => {
                let (message, hint) = unreached.describe();
                Problem::error(format!("{what}: {message}")).hint(hint)
            }
            // What terraform met (read from its output) or an answer tfw could not read.
            ApiError::Transport(transport) => transport_problem(what, transport, backend),
        }
    }
}

/// GitLab's own message: REST's `message` (or Grape's `error`), or GraphQL's first error.
fn gitlab_message(body: &str) -> Option<String> {
    field(body, "message")
        .or_else(|| field(body, "error"))
        .or_else(|| {
            let value: serde_json::Value = serde_json::from_str(body).ok()?;
            value["errors"][0]["message"].as_str().map(str::to_string)
        })
}

/// `: <first line of the body>`, or nothing for an empty body (no dangling colon).
fn first_line(text: &str) -> String {
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(200)
        .collect();
    if line.is_empty() {
        line
    } else {
        format!(": {line}")
    }
}

/// What terraform met (read from its output) or an answer tfw could not read, by its kind.
fn transport_problem(what: &str, transport: &Transport, backend: &Backend) -> Problem {
    let detail = &transport.detail;
    match transport.trouble {
        Trouble::Timeout => Problem::error(format!(
            "{what}: GitLab at {} did not answer in time ({detail}), tried {}",
            backend.api_url,
            backend.net.route()
        ))
        .hint(format!(
            "GitLab may be slow or down: try again in a moment; TFW_HTTP_TIMEOUT (seconds, now {}, {}) sets how long tfw waits",
            backend.net.timeout.as_secs(),
            backend.net.timeout_from
        )),
        Trouble::Broken => Problem::error(format!(
            "{what}: the connection to GitLab at {} broke before the whole answer arrived ({detail})",
            backend.api_url
        ))
        .hint("try again; a proxy or an unstable network (VPN?) may be cutting connections"),
        // An answer came, but not one tfw can use: not a network problem.
        Trouble::GraphQl => Problem::error(format!(
            "{what}: GitLab's GraphQL API answered with an error: {detail}"
        ))
        .hint("GitLab's message says what failed; if it persists, `tfw -v` shows the query tfw sent (worth reporting)"),
        Trouble::Unexpected => Problem::error(format!(
            "{what}: the answer from {} is not one GitLab's API gives ({detail})",
            backend.gitlab_root()
        ))
        .hint("check that the URL is GitLab's own address, not a proxy or a sign-in page in between; `tfw -v` shows the calls"),
        Trouble::Other => Problem::error(format!(
            "{what}: cannot reach GitLab at {}: {detail}, tried {}",
            backend.api_url,
            backend.net.route()
        ))
        .hint("check the URL in .env and your network (VPN?); behind a proxy, set HTTPS_PROXY (and NO_PROXY) as for terraform"),
    }
}

/// GitLab's answer for any call about a state whose deletion is scheduled.
pub(super) fn is_deleting(body: &str) -> bool {
    body.contains("State is deleted") || body.contains("scheduled for deletion")
}

/// A 403. GitLab's body names two causes (the token's scope, a protection rule); a plain
/// `403 Forbidden` is the role or an archived project, which tfw asks the project about.
fn forbidden(what: &str, body: &str, backend: &Backend, job_token: bool) -> Problem {
    let project = &backend.project;
    let state = backend.state_name();
    if field(body, "error").as_deref() == Some("insufficient_scope") {
        return super::tokens::insufficient_scope(what, body, backend);
    }
    // GraphQL's word for the same (`GraphqlController#authorize_access_api!`): REST says why.
    if gitlab_message(body).as_deref() == Some("API not accessible for user") {
        let client = Client::with_timeout(backend, std::time::Duration::from_secs(5));
        if let Err(ApiError::Status { code: 403, body }) = client.whoami() {
            return forbidden(what, &body, backend, job_token);
        }
    }
    // `API::APIGuard#find_current_user!`: the account itself may not use the API
    // (`Gitlab::Auth::UserAccessDeniedReason`: blocked, deactivated, pending approval, terms
    // not accepted, password expired...), said in GitLab's own words.
    if let Some(reason) = gitlab_message(body)
        .as_deref()
        .and_then(|m| m.strip_prefix("403 Forbidden - "))
        .filter(|m| m.starts_with("Your ") || m.starts_with("You "))
    {
        return Problem::error(format!(
            "{what}: GitLab refuses the token's user itself (403): {}",
            reason.trim_end_matches('.')
        ))
        .hint("it is about the account, not the project or the token: sign in to GitLab on the web to see what it asks, or ask your GitLab administrator");
    }
    if body.contains("protection rule") {
        return Problem::error(format!(
            "{what}: a state protection rule on `{state}` refuses this (403): {}",
            field(body, "message").unwrap_or_else(|| body.trim().to_string())
        ))
        .hint(format!(
            "the rule sets the role needed to write `{state}` and where writes may come from (anywhere, CI only, CI on a protected branch); see the project's Terraform state protection rules, or ask its Owner"
        ));
    }
    let unknown = |known: &str| {
        Problem::error(format!(
            "{what}: GitLab refused this (403 Forbidden){known}"
        ))
        .hint(format!(
            "GitLab's answer does not say why; it refuses reading below the Developer role in `{project}` and writing below Maintainer, a token without the `api` scope, and writes under a state protection rule on `{state}` or to an archived project: check the role under Manage > Members, the token's scopes, and the project's settings"
        ))
    };
    if job_token {
        return unknown(" to the pipeline's user (the one who started it)");
    }
    let client = Client::with_timeout(backend, std::time::Duration::from_secs(5));
    let Ok(info) = client.project_info() else {
        return unknown("");
    };
    if info.archived {
        return Problem::error(format!(
            "{what}: project `{}` is archived, and GitLab refuses every write to an archived project (403)",
            info.path_with_namespace
        ))
        .hint("unarchive it (Settings > General > Advanced) if it is still in use; reading its states still works");
    }
    match info.access_level {
        Some(level) if level < 40 => Problem::error(format!(
            "{what}: your role in `{}` is {}, and GitLab lets only Developers and up read states, and only Maintainers and Owners lock, write, unlock or delete them (403)",
            info.path_with_namespace,
            role_name(level)
        ))
        .hint("ask a Maintainer of the project for the Maintainer role, or run it from CI; reading works with your role (`tfw plan --no-lock`)"),
        Some(level) => {
            let scopes = client.token_scopes().unwrap_or_default();
            if !scopes.is_empty() && !scopes.iter().any(|s| s == "api") {
                return Problem::error(format!(
                    "{what}: the token has the scopes {} but not `api`, which GitLab needs for this (403)",
                    scopes.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                ))
                .hint("create a token with the `api` scope and put it in `TF_HTTP_PASSWORD` (a `read_api` token may only read: `tfw plan --no-lock` works with it)");
            }
            unknown(&format!(
                " although your role is {} and the project is not archived",
                role_name(level)
            ))
        }
        None => unknown(""),
    }
}

pub(crate) fn role_name(level: u32) -> &'static str {
    match level {
        0..20 => "Guest",
        20..30 => "Reporter",
        30..40 => "Developer",
        40..50 => "Maintainer",
        _ => "Owner",
    }
}

// What terraform met without showing GitLab's answer, asked again by tfw.

/// GitLab's own answer to a lock request from these credentials (its body tells a scope
/// from a protection rule); a lock that unexpectedly succeeds is released at once.
pub(crate) fn lock_refusal(backend: &Backend) -> String {
    let client = Client::new(backend);
    // A signal waits until a lock that unexpectedly succeeded is released.
    let _held = crate::runner::signals::hold();
    match client.lock(backend.state_name(), "OperationTypeInvalid") {
        Ok(Ok(id)) => {
            let _ = client.unlock(backend.state_name(), Some(&id));
            String::new()
        }
        Err(ApiError::Status { body, .. }) => body,
        _ => String::new(),
    }
}

/// GitLab answers 500 to a write whose lock ID does not match the lock it holds, and to
/// real server errors alike: what the lock looks like now tells which is likelier.
pub(crate) fn lock_now(backend: &Backend) -> String {
    let cause = "GitLab answers 500 to a write whose lock ID does not match the lock it holds (released or taken over meanwhile, e.g. by `force-unlock`), and to a server error alike";
    match Client::new(backend).state_info(backend.state_name()) {
        Ok(Some(info)) => match info.lock_holder() {
            Some(holder) => format!("{cause}; the state is now locked by {holder}"),
            None if info.locked_at.is_none() => {
                format!(
                    "{cause}; the state is not locked now, so terraform's lock was released meanwhile"
                )
            }
            None => format!("{cause}; the state is locked now"),
        },
        _ => format!("{cause}; `tfw state show` shows who holds the lock now"),
    }
}

/// GitLab's answer to a read of the state, for a 404 or 422 terraform met without showing
/// why (a project GitLab does not show to the token; a deletion in progress, which answers
/// every route with 422).
pub(crate) fn refusal_body(backend: &Backend) -> String {
    match Client::new(backend).get_state(backend.state_name()) {
        Err(ApiError::Status { body, .. }) => body,
        _ => String::new(),
    }
}
