//! `tfw fleet`: the template's repositories seen from GitLab instead of from checkouts. A
//! platform team with fifty repositories cannot clone each one to learn which are behind,
//! edited by hand, or not enrolled at all; GitLab's API already has every file. So the fleet
//! reads a group's projects (`projects`), each default branch's lock and managed files
//! (`remote`), decides as `tfw sync --check` does (the same `template::sync` code over
//! fetched texts), and lists the merge requests `tfw fleet sync` opened (`status`). HTTP,
//! paging and retries are in `api`. One project's failure is that project's row.

pub(crate) mod api;
pub(crate) mod projects;
pub(crate) mod remote;
pub(crate) mod request;
pub(crate) mod select;
pub(crate) mod status;
pub(crate) mod sync;
pub(crate) mod writes;

use crate::problem::Problem;
use api::{Failure, MAX_RETRY_WAIT};

/// The branch `tfw fleet sync` delivers a template version on: `tfw/template-<version>`.
pub(crate) const BRANCH_PREFIX: &str = "tfw/template-";

/// The token scope each fleet command needs (GitLab's `read_api` reads; `api` also writes).
pub(crate) const READ_SCOPE: &str = "read_api";

/// A field of GitLab's JSON error body, whichever shape it has.
fn field(body: &str, key: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    match &value[key] {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Failure {
    /// "cannot {what}: cause", with the fix; `scope` is the token scope the call needs.
    pub(crate) fn problem(&self, what: &str, scope: &str) -> Problem {
        let token_fix = format!(
            "put a personal, project or group access token with the `{scope}` scope in `TF_HTTP_PASSWORD` (in CI: a masked CI/CD variable)"
        );
        match self {
            Failure::Status { code: 401, body } => {
                let why = field(body, "error_description")
                    .map(|d| format!(": {}", d.trim_end_matches('.')))
                    .unwrap_or_default();
                Problem::error(format!(
                    "cannot {what}: GitLab rejected the token (401 Unauthorized{why})"
                ))
                .hint(token_fix)
            }
            Failure::Status { code: 403, body }
                if field(body, "error").as_deref() == Some("insufficient_scope") =>
            {
                // GitLab's `scope` lists every scope the route takes (`api read_api`), not the
                // one the token lacks: the call knows which it needs.
                Problem::error(format!(
                    "cannot {what}: the token lacks the `{scope}` scope (403 insufficient_scope)"
                ))
                .hint(token_fix)
            }
            Failure::Status { code: 403, .. } => Problem::error(format!(
                "cannot {what}: GitLab refused it (403 Forbidden): the token's user needs the Reporter role or above in this project"
            ))
            .hint("ask a Maintainer of the project or its group to give the token's user Reporter access, or leave the project out"),
            Failure::Status { code: 404, body } if body.contains("Project Not Found") => {
                Problem::error(format!(
                    "cannot {what}: GitLab shows no such project to this token (404): it is gone, or the token's user is not a member"
                ))
                .hint("check that the token's user (or the group access token) is a member of the project")
            }
            Failure::Status { code, body } => {
                let message = field(body, "message")
                    .or_else(|| field(body, "error"))
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                let hint = match *code >= 500 {
                    true => "GitLab failed (tfw asked twice): run the command again later",
                    false => "run the command again with `-v` and check the project on GitLab",
                };
                Problem::error(format!("cannot {what}: GitLab answered {code}{message}"))
                    .hint(hint)
            }
            Failure::RateLimited {
                retry_after: Some(wait),
                ..
            } if *wait > MAX_RETRY_WAIT.as_secs() => Problem::error(format!(
                "cannot {what}: GitLab's rate limit asks to wait {wait} s (429 Retry-After), longer than tfw waits ({} s)",
                MAX_RETRY_WAIT.as_secs()
            ))
            .hint("run the command again later, with fewer projects at a time (`-j`)"),
            Failure::RateLimited { tries, .. } => Problem::error(format!(
                "cannot {what}: GitLab's rate limit (429) still applied after {tries} tries, each after waiting for its Retry-After"
            ))
            .hint("run the command again later, with fewer projects at a time (`-j`)"),
            Failure::Timeout(after) => Problem::error(format!(
                "cannot {what}: no answer from GitLab within {} s",
                after.as_secs()
            ))
            .hint("GitLab is slow or unreachable: run the command again later, or raise `TFW_HTTP_TIMEOUT` (seconds)"),
            Failure::Transport(cause) => {
                Problem::error(format!("cannot {what}: cannot reach GitLab: {cause}"))
                    .hint("check the GitLab URL (`GITLAB_URL`) and the network")
            }
            Failure::Garbled(cause) => Problem::error(format!("cannot {what}: {cause}")),
        }
    }
}
