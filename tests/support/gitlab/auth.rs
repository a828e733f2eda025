//! Who a request is: GitLab reads different credentials on different routes (basic auth only
//! on the Terraform state API, job tokens only where `job_token_allowed` says so), and a
//! token's scopes limit what it may do whatever the role.

use super::CI_JOB_USERNAME;
use super::http::{base64_decode, header};
use super::model::World;

/// Who the credentials of a request resolved to.
pub(super) enum Auth {
    Anonymous,
    /// 401: an unknown token, or a known one with the reason GitLab gives.
    Invalid(Option<String>),
    Personal {
        username: String,
        scopes: Vec<String>,
    },
    Job {
        username: String,
        job: usize,
    },
}

/// Which credentials a route takes (`route_setting :authentication` in GitLab's API).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Accepts {
    /// The Terraform state routes: basic auth with a personal token or `gitlab-ci-token` and a
    /// job token, `Bearer` (either), `PRIVATE-TOKEN`. A `JOB-TOKEN` header is not read there.
    StateApi,
    /// Other REST routes: `PRIVATE-TOKEN` or `Bearer` personal tokens; basic auth and the
    /// `JOB-TOKEN` header are ignored (anonymous), a job token as `Bearer` is invalid.
    Rest,
    /// REST routes declared `route_setting :authentication, job_token_allowed: true`
    /// (`GET /projects/:id/jobs`, `lib/api/ci/jobs.rb`): personal tokens as on `Rest`, and a
    /// job token in the `JOB-TOKEN` header (`find_user_from_job_token_query_params_or_header`)
    /// or as `Bearer` (`find_user_from_job_bearer_token`). `true` is not `:basic_auth`: basic
    /// auth stays unread.
    JobTokenRequest,
    /// `/api/graphql`: personal tokens only (`Gitlab::Graphql::Authorize`); a job token is
    /// refused with 401.
    GraphQL,
}

impl Auth {
    pub fn username(&self) -> Option<String> {
        match self {
            Auth::Personal { username, .. } | Auth::Job { username, .. } => Some(username.clone()),
            _ => None,
        }
    }

    /// `api` opens everything; `read_api` only reads (`Gitlab::Auth::API_SCOPES`).
    pub fn can_write(&self) -> bool {
        match self {
            Auth::Personal { scopes, .. } => scopes.iter().any(|s| s == "api"),
            Auth::Job { .. } => true,
            _ => false,
        }
    }

    pub fn can_read_api(&self) -> bool {
        match self {
            Auth::Personal { scopes, .. } => scopes.iter().any(|s| s == "api" || s == "read_api"),
            Auth::Job { .. } => true,
            _ => false,
        }
    }
}

impl World {
    /// Why the account behind `auth` may not use the API (`Gitlab::Auth::UserAccessDeniedReason`),
    /// for the states this server keeps (`blocked`, `deactivated`). `host` is the request's.
    pub fn denied(&self, auth: &Auth, host: Option<&str>) -> Option<String> {
        let username = auth.username()?;
        let user = self.users.iter().find(|u| u.username == username)?;
        match user.state.as_str() {
            "blocked" => Some("Your account has been blocked.".into()),
            "deactivated" => Some(format!(
                "Your account has been deactivated by your administrator. Please log back in from a web browser to reactivate your account at http://{}",
                host.unwrap_or("localhost")
            )),
            _ => None,
        }
    }

    /// Who a request is, by the rules of the route it reached (see `Accepts`).
    pub fn authenticate(&self, headers: &[(String, String)], accepts: Accepts) -> Auth {
        let personal = |token: &str| match self.tokens.iter().find(|t| t.token == token) {
            Some(t) if t.dead().is_some() => Auth::Invalid(t.dead().map(str::to_string)),
            // `RequestAuthenticator#find_user_for_graphql_api_request` validates `api` or
            // `read_api` and swallows the `InsufficientScopeError`: just an invalid token.
            Some(t)
                if accepts == Accepts::GraphQL
                    && !t.scopes.iter().any(|s| s == "api" || s == "read_api") =>
            {
                Auth::Invalid(None)
            }
            Some(t) => Auth::Personal {
                username: t.username.clone(),
                scopes: t.scopes.clone(),
            },
            None => Auth::Invalid(None),
        };
        let job = |token: &str| match self
            .jobs
            .iter()
            .position(|j| j.token == token && j.status == "running")
        {
            Some(index) => Auth::Job {
                username: self.jobs[index].username.clone(),
                job: index,
            },
            None => Auth::Invalid(None),
        };
        let is_job = |token: &str| self.jobs.iter().any(|j| j.token == token);
        if let Some(value) = header(headers, "authorization") {
            let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
            let credentials = credentials.trim();
            if scheme.eq_ignore_ascii_case("basic") {
                // GitLab takes basic auth only where `basic_auth_personal_access_token` is set.
                if accepts != Accepts::StateApi {
                    return Auth::Anonymous;
                }
                let decoded = base64_decode(credentials).and_then(|b| String::from_utf8(b).ok());
                return match decoded.as_deref().and_then(|d| d.split_once(':')) {
                    // The username is ignored, except that `gitlab-ci-token` means "the
                    // password is a job token" (`job_token_allowed: :basic_auth`).
                    Some((CI_JOB_USERNAME, token)) => job(token),
                    Some((username, token)) if !username.is_empty() => personal(token),
                    _ => Auth::Invalid(None),
                };
            }
            if scheme.eq_ignore_ascii_case("bearer") {
                return match (is_job(credentials), accepts) {
                    (true, Accepts::StateApi | Accepts::JobTokenRequest) => job(credentials),
                    (true, _) => Auth::Invalid(None),
                    (false, _) => personal(credentials),
                };
            }
            return Auth::Invalid(None);
        }
        if let Some(token) = header(headers, "private-token") {
            return if is_job(token.trim()) {
                Auth::Invalid(None)
            } else {
                personal(token.trim())
            };
        }
        // A `JOB-TOKEN` header is read only where the route allows it (`can_authenticate_job_
        // token_request?`); elsewhere the request is anonymous. A job that is not running
        // (finished, canceled) makes it invalid (`find_valid_running_job_by_token!`).
        match header(headers, "job-token") {
            Some(token) if accepts == Accepts::JobTokenRequest => job(token.trim()),
            _ => Auth::Anonymous,
        }
    }
}
