//! A token GitLab refuses, by the reason GitLab gives. Its REST API says why it no longer
//! takes a token it knows (401 `invalid_token`: "Token is expired", "Token was revoked", from
//! `API::APIGuard`), answers a plain `401 Unauthorized` for a token it does not know at all or
//! a CI job token whose job no longer runs, and lists a route's scopes in a 403
//! `insufficient_scope` (every scope the route takes, not the one the token lacks). GraphQL
//! says only "Invalid token" for all of them, and terraform shows no body at all, so where the
//! answer carries no reason tfw asks GitLab's REST API once for it.

use std::time::Duration;

use super::{ApiError, Client};
use crate::backend::Backend;
use crate::origin::Origin;
use crate::problem::Problem;

/// Why GitLab refused the token with 401, as far as its answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Expired,
    Revoked,
    /// Another `invalid_token` description (an impersonation token with impersonation off...).
    Other(String),
    /// `401 Unauthorized` without a reason: GitLab found no token (or no running job) for it.
    Unknown,
    /// GraphQL's "Invalid token" to a token the REST API takes: GraphQL takes only `api` and
    /// `read_api` tokens (`find_user_for_graphql_api_request`); the token's scopes, if shown.
    GraphQlScopes(Vec<String>),
}

/// The `error_description` of GitLab's 401, if it gave one.
fn description(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    (value["error"] == "invalid_token")
        .then(|| value["error_description"].as_str().map(str::to_string))
        .flatten()
}

impl Refusal {
    pub(crate) fn of(body: &str) -> Option<Refusal> {
        let text = description(body)?;
        Some(if text.starts_with("Token is expired") {
            Refusal::Expired
        } else if text.starts_with("Token was revoked") {
            Refusal::Revoked
        } else {
            Refusal::Other(text.trim_end_matches('.').to_string())
        })
    }
}

/// GitLab's reason for refusing the token, asked of its REST API when the answer in hand
/// (GraphQL's "Invalid token", terraform's "requires auth") carries none. `GET /user` takes
/// any token with `api`, `read_api` or `read_user`; a token it takes was refused elsewhere
/// for another reason (`None`).
pub(super) fn ask_why(backend: &Backend) -> Refusal {
    let client = Client::with_timeout(backend, Duration::from_secs(5));
    match client.whoami() {
        Err(ApiError::Status { code: 401, body }) => Refusal::of(&body).unwrap_or(Refusal::Unknown),
        Ok(_) => Refusal::GraphQlScopes(client.token_scopes().unwrap_or_default()),
        _ => Refusal::Unknown,
    }
}

/// Where the token comes from, for "put the new one there".
fn token_home(backend: &Backend) -> String {
    match &backend.password.origin {
        Origin::DotEnv { line, file } if !file.as_os_str().is_empty() => {
            format!("`{}` (line {line})", file.display())
        }
        Origin::DotEnv { line, .. } => format!("`.env` (line {line})"),
        Origin::Env => {
            "your shell's environment (it overrides `.env`: unset it, or export the new one)".into()
        }
        _ => "`.env`".into(),
    }
}

/// The fix for a token that no longer works: a new one, with the scope tfw needs, where tfw
/// reads it.
fn new_token(backend: &Backend) -> String {
    format!(
        "create a new personal access token with the `api` scope at {}/-/user_settings/personal_access_tokens?name=tfw&scopes=api (or a project access token with the Maintainer role and `api`), and put it in {} as `TF_HTTP_PASSWORD`; `tfw setup` asks for it and checks it",
        backend.gitlab_root(),
        token_home(backend)
    )
}

/// A 401. `body` is GitLab's answer (empty when terraform met it).
pub(super) fn unauthorized(what: &str, body: &str, backend: &Backend, job_token: bool) -> Problem {
    if job_token {
        // `find_valid_running_job_by_token!`: a job token is taken while its job runs, and
        // only where the route takes job tokens (tfw sends it nowhere else).
        return Problem::error(format!(
            "{what}: GitLab refused CI's job token (401 Unauthorized): GitLab takes a job token only while its job is running"
        ))
        .hint("run the job again (a retried job gets a new token); a job token saved by an earlier job, e.g. in a plan file or a cache, no longer works");
    }
    let refusal = match Refusal::of(body) {
        Some(refusal) => refusal,
        // The REST API's own word: it would have named an expired or revoked token.
        None if body.contains("401 Unauthorized") => Refusal::Unknown,
        None => ask_why(backend),
    };
    let (happened, code) = match refusal {
        Refusal::Expired => (
            "the token in `TF_HTTP_PASSWORD` has expired".to_string(),
            "401 invalid_token: \"Token is expired\"",
        ),
        Refusal::Revoked => (
            "the token in `TF_HTTP_PASSWORD` was revoked (by you, an administrator, or GitLab's automatic revocation of a leaked token)".to_string(),
            "401 invalid_token: \"Token was revoked\"",
        ),
        Refusal::Other(why) => (
            format!("GitLab no longer takes the token in `TF_HTTP_PASSWORD`: {why}"),
            "401 invalid_token",
        ),
        Refusal::GraphQlScopes(scopes) => (
            format!(
                "GitLab's GraphQL API refused the token in `TF_HTTP_PASSWORD`, which its REST API takes: GraphQL takes only tokens with the `api` or `read_api` scope{}",
                if scopes.is_empty() {
                    String::new()
                } else {
                    format!(", and this one has {}", scopes.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "))
                }
            ),
            "401 Invalid token",
        ),
        Refusal::Unknown => (
            "GitLab does not know the token in `TF_HTTP_PASSWORD`: it is mistyped or cut short, or the token was deleted (an expired or revoked token GitLab would name as such)".to_string(),
            "401 Unauthorized",
        ),
    };
    Problem::error(format!("{what}: {happened} ({code})")).hint(new_token(backend))
}

/// A 403 `insufficient_scope`. GitLab's `scope` lists every scope the route takes (`api
/// read_api` on the state API, even for a write that `read_api` may not do), so the scope
/// missing is told from the token's own scopes when GitLab shows them.
pub(super) fn insufficient_scope(what: &str, body: &str, backend: &Backend) -> Problem {
    let listed = super::errors::field(body, "scope").unwrap_or_default();
    let client = Client::with_timeout(backend, Duration::from_secs(5));
    let has = client.token_scopes().unwrap_or_default();
    let quoted = |scopes: &[String]| {
        scopes
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let message = if has.iter().any(|s| s == "read_api") && !has.iter().any(|s| s == "api") {
        format!(
            "{what}: the token has the `read_api` scope, which only reads; GitLab needs `api` to lock, write, unlock or delete a state (403 insufficient_scope)"
        )
    } else if !has.is_empty() {
        format!(
            "{what}: the token's scopes ({}) do not open GitLab's API; it needs `api` (`read_api` to read only) (403 insufficient_scope)",
            quoted(&has)
        )
    } else {
        let listed: Vec<String> = listed.split_whitespace().map(str::to_string).collect();
        format!(
            "{what}: the token's scopes do not allow this (403 insufficient_scope; this route takes {}, and `read_api` only for reading)",
            if listed.is_empty() {
                "`api`".to_string()
            } else {
                quoted(&listed)
            }
        )
    };
    Problem::error(message).hint(format!(
        "{}; a `read_api` token still plans (`tfw plan --no-lock`)",
        new_token(backend)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlabs_reasons_are_read() {
        let expired = r#"{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}"#;
        assert_eq!(Refusal::of(expired), Some(Refusal::Expired));
        let revoked = r#"{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}"#;
        assert_eq!(Refusal::of(revoked), Some(Refusal::Revoked));
        assert_eq!(Refusal::of(r#"{"message":"401 Unauthorized"}"#), None);
        assert_eq!(
            Refusal::of(r#"{"errors":[{"message":"Invalid token"}]}"#),
            None
        );
    }
}
