//! Proving the answers before they are written: one read of the state (the route terraform
//! itself uses, so it proves the URL, the token and the role) and one listing of the
//! project's states (the state read answers 404 for a missing project and a missing state
//! alike; the listing tells them apart). Each failure names the answer to fix.

use super::guess::normalize_url;
use crate::backend::gitlab::{ApiError, Client, Refusal};
use crate::backend::{self, Backend, Source};
use crate::problem::Problem;
use crate::settings::{Origin, Value};

/// What `.env` will hold.
#[derive(Debug, Clone, Default)]
pub(super) struct Answers {
    /// `https://gitlab.example.com`, without `/api/v4`.
    pub url: String,
    pub project: String,
    pub username: String,
    pub token: String,
    /// `TF_STATE_NAME`, when not the personal state.
    pub state: Option<String>,
}

/// The answer a failure is about: the one to ask again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Url,
    Project,
    Token,
    /// The token works but its account may not read states: another account's, perhaps.
    Account,
}

#[derive(Debug)]
pub(super) struct Failure {
    pub field: Field,
    pub problem: Problem,
}

#[derive(Debug)]
pub(super) struct Checked {
    /// Whether the state already exists; `None` when the listing could not say.
    pub state_exists: Option<bool>,
    pub state_count: Option<usize>,
    /// A check that could not run (not a reason to refuse the answers).
    pub warning: Option<Problem>,
}

pub(super) fn backend_for(answers: &Answers, state: &str) -> Backend {
    let api_url = format!("{}/api/v4", answers.url);
    let value = |value: &str| Value {
        value: value.to_string(),
        origin: Origin::Flag,
    };
    Backend {
        net: crate::backend::gitlab::net::Net {
            proxy: crate::backend::gitlab::net::Net::proxy_for(&api_url, |key| {
                std::env::var(key).ok()
            }),
            ..crate::backend::gitlab::net::Net::default()
        },
        source: Source::Project,
        base: backend::base_for(&api_url, &answers.project),
        api_url,
        project: answers.project.clone(),
        state: value(state),
        username: value(&answers.username),
        password: value(&answers.token),
    }
}

pub(super) fn check(answers: &Answers, state: &str) -> Result<Checked, Failure> {
    let backend = backend_for(answers, state);
    let client = Client::new(&backend);
    match client.get_state(state) {
        // 422: the state is being deleted; the answers are right all the same.
        Ok(_) | Err(ApiError::Status { code: 422, .. }) => {}
        Err(err) => return Err(failure(&err, answers)),
    }
    match client.list_states() {
        Ok(states) => Ok(Checked {
            state_exists: Some(states.iter().any(|s| s.name == state)),
            state_count: Some(states.len()),
            warning: None,
        }),
        Err(
            err @ ApiError::Status {
                code: 401 | 404, ..
            },
        ) => Err(failure(&err, answers)),
        Err(err) => Ok(Checked {
            state_exists: None,
            state_count: None,
            warning: Some(
                Problem::warning(format!(
                    "the token works, but listing the states of `{}` failed: {}",
                    answers.project,
                    describe(&err)
                ))
                .hint("`tfw doctor` checks again later; `.env` is written anyway"),
            ),
        }),
    }
}

fn describe(err: &ApiError) -> String {
    match err {
        ApiError::Status { code, body } => {
            format!(
                "GitLab answered {code}: {}",
                body.lines().next().unwrap_or("")
            )
        }
        ApiError::Transport(transport) => transport.to_string(),
        ApiError::Unreached(unreached) => unreached.describe().0,
        ApiError::JobToken { what } => format!("GitLab does not accept CI's job token to {what}"),
    }
}

fn failure(err: &ApiError, answers: &Answers) -> Failure {
    let url = &answers.url;
    let (field, problem) = match err {
        ApiError::Status { code: 401, body } => (
            Field::Token,
            Problem::error(format!(
                "GitLab at {url} rejected the token: {}",
                match Refusal::of(body) {
                    Some(Refusal::Expired) => "it has expired (401 invalid_token)".to_string(),
                    Some(Refusal::Revoked) => "it was revoked (401 invalid_token)".to_string(),
                    Some(Refusal::Other(why)) => format!("{why} (401 invalid_token)"),
                    // GitLab names an expired or revoked token; this one it does not know.
                    _ => "GitLab does not know it: mistyped, cut short, or deleted (401 Unauthorized)"
                        .to_string(),
                }
            ))
            .hint(format!(
                "create a new personal access token with the `api` scope: {}",
                token_page(url)
            )),
        ),
        ApiError::Status { code: 403, body } if body.contains("insufficient_scope") => (
            Field::Token,
            Problem::error(format!(
                "the token lacks the scope GitLab needs to read the Terraform states of `{}` (403 insufficient_scope)",
                answers.project
            ))
            .hint(format!(
                "use a personal access token with the `api` scope: {}",
                token_page(url)
            )),
        ),
        // GitLab's plain 403 on a read: the token's user is a member below Developer (the
        // username typed here is not what GitLab goes by: the token is).
        ApiError::Status { code: 403, .. } => (
            Field::Account,
            Problem::error(format!(
                "the token's user may not read the Terraform states of `{}` (403 Forbidden)",
                answers.project
            ))
            .hint("reading states needs the Developer role in the project, applying needs Maintainer; ask a Maintainer, or use another account's token"),
        ),
        ApiError::Status { code: 404, .. } => (
            Field::Project,
            Problem::error(format!(
                "GitLab at {url} shows no project `{}` to this token (404): it does not exist, or the token's user is not a member (GitLab answers 404 to non-members of a private project)",
                answers.project
            ))
            .hint("give the project's full path as in its web address (group/subgroup/project) or its numeric id; if it is right, ask one of its Maintainers to add you"),
        ),
        ApiError::Status { code, body } => (
            Field::Url,
            Problem::error(format!(
                "GitLab at {url} answered {code}: {}",
                body.lines().next().unwrap_or("")
            ))
            .hint("check that the URL is your GitLab's address (not a project page), or try again in a moment"),
        ),
        ApiError::Transport(transport) => (
            Field::Url,
            Problem::error(format!("cannot reach GitLab at {url}: {transport}"))
                .hint("check the URL and your network (VPN?)"),
        ),
        ApiError::Unreached(unreached) => {
            let (message, hint) = unreached.describe();
            (Field::Url, Problem::error(message).hint(hint))
        }
        ApiError::JobToken { what } => (
            Field::Token,
            Problem::error(format!("GitLab does not accept CI's job token to {what}"))
                .hint("use a personal access token with the `api` scope"),
        ),
    };
    Failure { field, problem }
}

/// Answers GitLab could never accept, refused before asking it (dialoguer shows the message
/// under the prompt).
pub(super) fn valid_url(value: &str) -> Result<(), String> {
    match url::Url::parse(&normalize_url(value)) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err("not a web address; e.g. https://gitlab.example.com".into()),
    }
}

pub(super) fn valid_project(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() || value.contains(char::is_whitespace) {
        Err("give the project's path (group/project) or its numeric id".into())
    } else {
        Ok(())
    }
}

pub(super) fn valid_username(value: &str) -> Result<(), String> {
    let value = value.trim();
    // Terraform sends basic auth only with a username, and `:` would end it early.
    if value.is_empty() || value.contains(char::is_whitespace) || value.contains(':') {
        Err("give your GitLab username (no spaces)".into())
    } else {
        Ok(())
    }
}

/// GitLab's form for a new personal access token, prefilled with a name and the `api` scope.
pub(super) fn token_page(url: &str) -> String {
    format!("{url}/-/user_settings/personal_access_tokens?name=tfw&scopes=api")
}
