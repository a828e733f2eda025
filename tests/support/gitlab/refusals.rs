//! GitLab's refusals as the test server answers them: who GitLab does not take (401, with
//! the OAuth answer for a token it knows but no longer takes), what a token's scopes or the
//! role do not allow (403), what does not exist for the caller (404).

use serde_json::json;

use super::model::{Auth, World};
use super::server::Reply;

/// The scopes `API::API` registers for every REST route (`allow_access_with_scope :api`, and
/// `:read_api` for GET and HEAD): what a 403 `insufficient_scope` lists.
pub(super) const API_SCOPES: &str = "api read_api";

impl Reply {
    /// A 401 answer. No credentials, a token GitLab does not know, or a job token whose job is not
    /// running: `unauthorized!` (`lib/api/helpers.rb`, `initial_current_user` rescuing
    /// `UnauthorizedError`), `{"message":"401 Unauthorized"}` and no challenge. A token GitLab
    /// knows but no longer takes (expired, revoked): `Gitlab::Auth::ExpiredError` /
    /// `RevokedError`, rescued by `API::APIGuard#oauth2_bearer_token_error_handler` as
    /// rack-oauth2's `Bearer::Unauthorized`: an OAuth body and a `WWW-Authenticate` challenge
    /// with rack-oauth2's default realm (the error handler sets none).
    pub fn unauthorized(why: Option<&str>) -> Reply {
        match why {
            Some(why) => {
                let mut reply = Reply::json(
                    401,
                    json!({ "error": "invalid_token", "error_description": why }),
                );
                reply.headers.push((
                    "WWW-Authenticate".into(),
                    format!(
                        "Bearer realm=\"Protected by OAuth 2.0\", error=\"invalid_token\", error_description=\"{why}\""
                    ),
                ));
                reply
            }
            None => Reply::message(401, "401 Unauthorized"),
        }
    }

    /// Credentials GitLab does not take; GraphQL answers in its own shape, without a reason
    /// (`GraphqlController#authorize_access_api!`: "Invalid token").
    pub fn invalid(why: Option<&str>, graphql: bool) -> Reply {
        if graphql {
            return Reply::json(401, json!({ "errors": [{ "message": "Invalid token" }] }));
        }
        Reply::unauthorized(why)
    }

    pub fn forbidden() -> Reply {
        Reply::message(403, "403 Forbidden")
    }

    /// A token without a scope the route takes (`API::APIGuard`, `InsufficientScopeError`, as
    /// rack-oauth2's `Bearer::Forbidden`: no challenge header). `scope` is every scope
    /// registered for the route, space-separated (`scopes_registered_for_endpoint`: `api`, and
    /// `read_api` which `API::API` registers for GET only, so a write refused to a `read_api`
    /// token still lists it), not the one the request lacked.
    pub fn insufficient_scope(scope: &str) -> Reply {
        Reply::json(
            403,
            json!({
                "error": "insufficient_scope",
                "error_description": "The request requires higher privileges than provided by the access token.",
                "scope": scope,
            }),
        )
    }

    pub fn not_found() -> Reply {
        Reply::message(404, "404 Not Found")
    }

    pub fn project_not_found() -> Reply {
        Reply::message(404, "404 Project Not Found")
    }

    /// `API::APIGuard#find_current_user!` (`Gitlab::UserAccess#allowed?`): an account that may
    /// not use the API at all, in `UserAccessDeniedReason`'s words; GraphQL's
    /// `authorize_access_api!` says only that it may not.
    pub fn account_refused(
        world: &World,
        auth: &Auth,
        host: Option<&str>,
        graphql: bool,
    ) -> Option<Reply> {
        let reason = world.denied(auth, host)?;
        Some(if graphql {
            Reply::json(
                403,
                json!({ "errors": [{ "message": "API not accessible for user" }] }),
            )
        } else {
            Reply::message(403, &format!("403 Forbidden - {reason}"))
        })
    }
}
