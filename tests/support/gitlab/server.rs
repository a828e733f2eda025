//! Routing: which endpoint a request reaches, who it is by that route's rules, the faults a
//! test asked for, and the request log. The answers themselves are in `state_api`, `graphql`
//! and `rest`, the refusals common to every route in `refusals`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::http::{HttpRequest, lock_ignoring_poison};
use super::model::{Accepts, Auth, World};
use super::{FaultAction, MAX_FAULT_WAIT, RequestRecord, Route};

/// What the connection should do with a request.
pub(super) enum Outcome {
    Reply(Reply),
    Hang(Duration),
    Truncate(Reply),
}

pub(super) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    /// GitLab's error shape for most failures (`render_api_error!`).
    pub fn message(status: u16, message: &str) -> Reply {
        Reply::json(status, json!({ "message": message }))
    }

    /// Grape's shape for parameter validation failures.
    pub fn error(status: u16, error: &str) -> Reply {
        Reply::json(status, json!({ "error": error }))
    }

    pub fn raw(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type: "application/octet-stream",
            body,
            headers: Vec::new(),
        }
    }

    /// 200 with no body: `body false` then `status :ok` (the state routes' POST and DELETE).
    pub fn empty_ok() -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            content_type: "application/json",
            body: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// Where a request path leads, decoded only after splitting on `/` so that `%2F` stays part
/// of a name while a raw `/` misses the route.
pub(super) enum Endpoint {
    State {
        project: String,
        name: String,
        tail: Tail,
    },
    GraphQL,
    /// `GET /projects/:id`.
    Project(String),
    /// `GET /projects/:id/members/all`.
    Members(String),
    /// `GET /projects/:id/jobs`.
    Jobs(String),
    /// `GET /projects/:id/terraform/state_protection_rules` (`rest_rules.rs`).
    ProtectionRules(String),
    /// `GET`/`POST /projects/:id/issues` (`issues.rs`).
    Issues(String),
    /// `PUT /projects/:id/issues/:iid`.
    Issue(String, String),
    /// `GET /user`.
    User,
    /// `GET /personal_access_tokens/self`.
    TokenSelf,
    /// Groups, repositories and merge requests (`fleet_routes.rs`).
    Fleet(super::fleet_routes::FleetEndpoint),
    Unknown,
}

pub(super) enum Tail {
    Base,
    Lock,
    Version(String),
}

fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
        .filter(|s| !s.is_empty())
}

impl Endpoint {
    pub fn parse(path: &str) -> Endpoint {
        if path == "/api/graphql" {
            return Endpoint::GraphQL;
        }
        let segments: Vec<&str> = path.split('/').collect();
        if let Some(fleet) = super::fleet_routes::FleetEndpoint::parse(&segments) {
            return Endpoint::Fleet(fleet);
        }
        let project =
            |p: &str, make: fn(String) -> Endpoint| decode(p).map_or(Endpoint::Unknown, make);
        match segments.as_slice() {
            ["", "api", "v4", "user"] => return Endpoint::User,
            ["", "api", "v4", "personal_access_tokens", "self"] => return Endpoint::TokenSelf,
            ["", "api", "v4", "projects", p] => return project(p, Endpoint::Project),
            ["", "api", "v4", "projects", p, "members", "all"] => {
                return project(p, Endpoint::Members);
            }
            ["", "api", "v4", "projects", p, "jobs"] => return project(p, Endpoint::Jobs),
            ["", "api", "v4", "projects", p, "issues"] => return project(p, Endpoint::Issues),
            ["", "api", "v4", "projects", p, "issues", iid] => {
                return decode(p)
                    .map_or(Endpoint::Unknown, |p| Endpoint::Issue(p, iid.to_string()));
            }
            [
                "",
                "api",
                "v4",
                "projects",
                p,
                "terraform",
                "state_protection_rules",
            ] => {
                return project(p, Endpoint::ProtectionRules);
            }
            _ => {}
        }
        let [
            "",
            "api",
            "v4",
            "projects",
            project,
            "terraform",
            "state",
            name,
            rest @ ..,
        ] = segments.as_slice()
        else {
            return Endpoint::Unknown;
        };
        let tail = match rest {
            [] => Tail::Base,
            ["lock"] => Tail::Lock,
            // `state_version.rb` declares `:name` without the `[^/]+` requirement the state
            // routes have (`state.rb`), so Grape's default applies: a raw `.` in the name is
            // read as a format suffix and the route misses; `%2E` is decoded after matching.
            ["versions", _] if name.contains('.') => return Endpoint::Unknown,
            ["versions", serial] => Tail::Version(serial.to_string()),
            _ => return Endpoint::Unknown,
        };
        match (decode(project), decode(name)) {
            (Some(project), Some(name)) => Endpoint::State {
                project,
                name,
                tail,
            },
            _ => Endpoint::Unknown,
        }
    }

    pub fn route(&self) -> Route {
        match self {
            Endpoint::State { tail, .. } => match tail {
                Tail::Base => Route::State,
                Tail::Lock => Route::Lock,
                Tail::Version(_) => Route::Versions,
            },
            Endpoint::GraphQL => Route::GraphQL,
            Endpoint::Project(_)
            | Endpoint::Members(_)
            | Endpoint::Jobs(_)
            | Endpoint::ProtectionRules(_)
            | Endpoint::User
            | Endpoint::TokenSelf => Route::Rest,
            Endpoint::Fleet(fleet) => fleet.route(),
            Endpoint::Issues(_) | Endpoint::Issue(..) => Route::Issues,
            Endpoint::Unknown => Route::Other,
        }
    }

    fn accepts(&self) -> Accepts {
        match self {
            Endpoint::State { .. } => Accepts::StateApi,
            Endpoint::GraphQL => Accepts::GraphQL,
            Endpoint::Jobs(_) => Accepts::JobTokenRequest,
            _ => Accepts::Rest,
        }
    }

    pub fn is_graphql(&self) -> bool {
        matches!(self, Endpoint::GraphQL)
    }

    pub fn state_name(&self) -> Option<&str> {
        match self {
            Endpoint::State { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The project the request is about (its `:id` as sent, decoded), for faults.
    fn project(&self) -> Option<&str> {
        match self {
            Endpoint::State { project, .. }
            | Endpoint::Project(project)
            | Endpoint::Members(project)
            | Endpoint::Jobs(project)
            | Endpoint::ProtectionRules(project)
            | Endpoint::Issues(project)
            | Endpoint::Issue(project, _) => Some(project),
            Endpoint::Fleet(fleet) => fleet.project(),
            _ => None,
        }
    }
}

pub(super) struct Shared {
    pub world: Mutex<World>,
    pub stopping: AtomicBool,
    /// Guards nothing: delayed and hung requests sleep on `wake` so that Drop can end them.
    pub nap: Mutex<()>,
    pub wake: Condvar,
}

impl Shared {
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock_ignoring_poison(&self.world)
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` (capped at `MAX_FAULT_WAIT`) unless the server stops first.
    pub fn pause(&self, duration: Duration) {
        let deadline = Instant::now() + duration.min(MAX_FAULT_WAIT);
        let mut nap = lock_ignoring_poison(&self.nap);
        while !self.stopping() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            nap = match self.wake.wait_timeout(nap, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    pub fn handle(&self, request: &HttpRequest) -> Outcome {
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        let endpoint = Endpoint::parse(path);
        let method = request.method.to_ascii_uppercase();

        let (auth, log_index, fault) = {
            let mut world = self.world();
            let auth = world.authenticate(&request.headers, endpoint.accepts());
            let log_index = (!world.log_disabled).then(|| {
                world.log.push(RequestRecord {
                    method: request.method.clone(),
                    url: request.target.clone(),
                    user: auth.username(),
                    status: 0,
                    body: request.body.clone(),
                    headers: request.headers.clone(),
                });
                world.log.len() - 1
            });
            let fault = world.take_fault(
                &method,
                endpoint.route(),
                endpoint.state_name(),
                endpoint.project(),
            );
            (auth, log_index, fault)
        };

        let outcome = match fault {
            Some(FaultAction::Respond { status, body }) => Outcome::Reply(Reply {
                status,
                content_type: "application/json",
                body: body.into_bytes(),
                headers: Vec::new(),
            }),
            Some(FaultAction::RateLimited { retry_after }) => {
                let mut reply = Reply::message(429, "Retry later");
                reply.headers = vec![("Retry-After".into(), retry_after.to_string())];
                Outcome::Reply(reply)
            }
            Some(FaultAction::Hang(hold)) => Outcome::Hang(hold),
            Some(FaultAction::Truncate) => {
                Outcome::Truncate(self.dispatch(&method, &endpoint, query, request, &auth))
            }
            Some(FaultAction::Delay(delay)) => {
                self.pause(delay);
                Outcome::Reply(self.dispatch(&method, &endpoint, query, request, &auth))
            }
            None => Outcome::Reply(self.dispatch(&method, &endpoint, query, request, &auth)),
        };

        if let Some(index) = log_index {
            let status = match &outcome {
                Outcome::Reply(reply) | Outcome::Truncate(reply) => reply.status,
                Outcome::Hang(_) => 0,
            };
            // clear_requests may have emptied the log meanwhile.
            if let Some(record) = self.world().log.get_mut(index) {
                record.status = status;
            }
        }
        outcome
    }

    fn dispatch(
        &self,
        method: &str,
        endpoint: &Endpoint,
        query: &str,
        request: &HttpRequest,
        auth: &Auth,
    ) -> Reply {
        let mut world = self.world();
        if let Auth::Invalid(why) = auth {
            return Reply::invalid(why.as_deref(), endpoint.is_graphql());
        }
        let host = super::http::header(&request.headers, "host");
        if let Some(refusal) = Reply::account_refused(&world, auth, host, endpoint.is_graphql()) {
            return refusal;
        }
        match endpoint {
            Endpoint::GraphQL if method == "POST" => {
                super::graphql::answer(&world, auth, &request.body)
            }
            Endpoint::GraphQL => Reply::error(405, "405 Not Allowed"),
            Endpoint::Unknown => Reply::error(404, "404 Not Found"),
            Endpoint::Issues(project) => match method {
                "GET" => super::issues::list(&world, auth, project, query),
                "POST" => super::issues::create(&mut world, auth, project, query, &request.body),
                _ => Reply::error(405, "405 Not Allowed"),
            },
            Endpoint::Issue(project, iid) => match method {
                "PUT" => {
                    super::issues::update(&mut world, auth, project, iid, query, &request.body)
                }
                _ => Reply::error(405, "405 Not Allowed"),
            },
            Endpoint::Project(_)
            | Endpoint::Members(_)
            | Endpoint::Jobs(_)
            | Endpoint::ProtectionRules(_)
            | Endpoint::User
            | Endpoint::TokenSelf
                if method != "GET" =>
            {
                Reply::error(405, "405 Not Allowed")
            }
            Endpoint::User => super::rest::user(&world, auth),
            Endpoint::TokenSelf => super::rest::token_self(&world, auth, &request.headers),
            Endpoint::Project(project) => super::rest::project(&world, auth, project),
            Endpoint::Members(project) => super::rest::members(&world, auth, project, query),
            Endpoint::Jobs(project) => super::rest::jobs(&world, auth, project, query),
            Endpoint::ProtectionRules(project) => super::rest_rules::rules(&world, auth, project),
            Endpoint::Fleet(fleet) => {
                super::fleet_routes::answer(&mut world, auth, method, fleet, query, request)
            }
            Endpoint::State {
                project,
                name,
                tail,
            } => super::state_api::answer(
                &mut world,
                auth,
                method,
                project,
                name,
                tail,
                query,
                &request.body,
            ),
        }
    }
}
