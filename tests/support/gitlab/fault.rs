//! Faults: a test makes the server misbehave on one route (a status, a delay, a hang, a
//! truncated body) to show how tfw copes with what a real GitLab or proxy sometimes does.

use std::time::Duration;

use serde_json::json;

use super::Route;
use super::http::reason;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status and body; the request has no other effect.
    Respond { status: u16, body: String },
    /// Wait this long (at most `MAX_FAULT_WAIT`, cut short when the server is dropped), then
    /// handle the request normally.
    Delay(Duration),
    /// Never answer: hold the connection open this long (at most `MAX_FAULT_WAIT`, cut short
    /// when the server is dropped), then close it. The request has no effect.
    Hang(Duration),
    /// Handle the request normally, but announce a Content-Length larger than the body, send
    /// only half of the body and close the connection.
    Truncate,
    /// 429 `{"message":"Retry later"}` with `Retry-After` in seconds; no other effect.
    RateLimited { retry_after: u64 },
}

/// A fault rule: requests matching the method, route, state name and project get `action`,
/// every time or only the first `times` times. Build with `Fault::new`/`Fault::status`/
/// `Fault::respond`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub method: Option<String>,
    pub route: Route,
    pub state_name: Option<String>,
    /// Only requests about this project (its numeric id or full path, however the request
    /// names it).
    pub project: Option<String>,
    pub times: Option<usize>,
    pub action: FaultAction,
}

impl Fault {
    pub fn new(route: Route, action: FaultAction) -> Fault {
        Fault {
            method: None,
            route,
            state_name: None,
            project: None,
            times: None,
            action,
        }
    }

    /// Answer `status` with GitLab's usual `{"message":"<code> <reason>"}` body.
    pub fn status(route: Route, status: u16) -> Fault {
        let body = json!({ "message": format!("{status} {}", reason(status)) }).to_string();
        Fault::new(route, FaultAction::Respond { status, body })
    }

    /// Answer `status` with exactly `body` (e.g. a LockInfo JSON for a 409 on `Route::Lock`).
    pub fn respond(route: Route, status: u16, body: impl Into<String>) -> Fault {
        Fault::new(
            route,
            FaultAction::Respond {
                status,
                body: body.into(),
            },
        )
    }

    pub fn delay(route: Route, delay: Duration) -> Fault {
        Fault::new(route, FaultAction::Delay(delay))
    }

    pub fn hang(route: Route, hold: Duration) -> Fault {
        Fault::new(route, FaultAction::Hang(hold))
    }

    pub fn truncate(route: Route) -> Fault {
        Fault::new(route, FaultAction::Truncate)
    }

    /// Handles the request normally: with `.times(n)`, lets the first n matching requests
    /// through to a rule added after it (rules are tried in order).
    pub fn pass(route: Route) -> Fault {
        Fault::new(route, FaultAction::Delay(Duration::ZERO))
    }

    /// Only requests with this HTTP method (case-insensitive).
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests for this (decoded) state name.
    pub fn state(mut self, name: &str) -> Fault {
        self.state_name = Some(name.to_string());
        self
    }

    /// Only requests about this project (numeric id or full path).
    pub fn project(mut self, project: &str) -> Fault {
        self.project = Some(project.to_string());
        self
    }

    /// Answer 429 with `Retry-After: seconds`, as GitLab's rate limiter does
    /// (`Gitlab::ApplicationRateLimiter`, `Rack::Attack` throttles).
    pub fn rate_limited(route: Route, seconds: u64) -> Fault {
        Fault::new(
            route,
            FaultAction::RateLimited {
                retry_after: seconds,
            },
        )
    }

    /// Only the first `n` matching requests; later ones are handled normally.
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }

    /// `project` is the request's project as (id, full path), when it names a known one.
    pub(super) fn matches(
        &self,
        method: &str,
        route: Route,
        name: Option<&str>,
        project: Option<(u64, &str)>,
    ) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && (self.route == Route::Any || self.route == route)
            && self
                .state_name
                .as_deref()
                .is_none_or(|want| Some(want) == name)
            && self.project.as_deref().is_none_or(|want| {
                project.is_some_and(|(id, path)| {
                    want == id.to_string() || want.eq_ignore_ascii_case(path)
                })
            })
    }
}
