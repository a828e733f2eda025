//! Routing of the fleet routes (`/work/shared/reference/gitlab-fleet-api.md`): which one a
//! path reaches and the checks GitLab makes before any of them answers, in GitLab's order:
//! the token's scope first (`API::APIGuard`: `read_api` reads, `api` writes, whatever the
//! role), then the project or group (`find_project!`/`find_group!`: a private one you cannot
//! see does not exist, 404), then the role the route needs. The answers live in `groups`,
//! `repo_files`, `merge_requests_read` and the write routes' own files.

use percent_encoding::percent_decode_str;

use super::Role;
use super::Route;
use super::http::HttpRequest;
use super::model::{Auth, Project, World};
use super::paging::Query;
use super::refusals::API_SCOPES;
use super::server::Reply;

pub(super) enum FleetEndpoint {
    /// `GET /groups/:id/projects`.
    GroupProjects(String),
    /// `/projects/:id/repository/files/:file_path` (JSON) or `.../raw` (bytes).
    File {
        project: String,
        path: String,
        raw: bool,
    },
    /// `GET /projects/:id/repository/tree`.
    Tree(String),
    /// `/projects/:id/repository/branches`.
    Branches(String),
    /// `/projects/:id/repository/branches/:branch`.
    Branch(String, String),
    /// `POST /projects/:id/repository/commits`.
    Commits(String),
    /// `/projects/:id/merge_requests`.
    MergeRequests(String),
    /// `/projects/:id/merge_requests/:iid`.
    MergeRequest(String, String),
}

/// A segment decoded after splitting on `/`, so `%2F` stays inside its segment.
fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
        .filter(|s| !s.is_empty())
}

impl FleetEndpoint {
    pub fn parse(segments: &[&str]) -> Option<FleetEndpoint> {
        use FleetEndpoint as E;
        let ["", "api", "v4", kind, id, rest @ ..] = segments else {
            return None;
        };
        let id = decode(id)?;
        let endpoint = match (*kind, rest) {
            ("groups", ["projects"]) => E::GroupProjects(id),
            ("projects", ["repository", "files", file]) => E::File {
                project: id,
                path: decode(file)?,
                raw: false,
            },
            ("projects", ["repository", "files", file, "raw"]) => E::File {
                project: id,
                path: decode(file)?,
                raw: true,
            },
            ("projects", ["repository", "tree"]) => E::Tree(id),
            ("projects", ["repository", "branches"]) => E::Branches(id),
            ("projects", ["repository", "branches", branch]) => E::Branch(id, decode(branch)?),
            ("projects", ["repository", "commits"]) => E::Commits(id),
            ("projects", ["merge_requests"]) => E::MergeRequests(id),
            ("projects", ["merge_requests", iid]) => E::MergeRequest(id, decode(iid)?),
            _ => return None,
        };
        Some(endpoint)
    }

    pub fn route(&self) -> Route {
        match self {
            FleetEndpoint::GroupProjects(_) => Route::GroupProjects,
            FleetEndpoint::File { .. } => Route::RepoFiles,
            FleetEndpoint::Tree(_) => Route::RepoTree,
            FleetEndpoint::Branches(_) | FleetEndpoint::Branch(..) => Route::Branches,
            FleetEndpoint::Commits(_) => Route::Commits,
            FleetEndpoint::MergeRequests(_) | FleetEndpoint::MergeRequest(..) => {
                Route::MergeRequests
            }
        }
    }

    /// The project's `:id` as the request gave it (decoded); none for a group route.
    pub fn project(&self) -> Option<&str> {
        match self {
            FleetEndpoint::GroupProjects(_) => None,
            FleetEndpoint::File { project, .. }
            | FleetEndpoint::Tree(project)
            | FleetEndpoint::Branches(project)
            | FleetEndpoint::Branch(project, _)
            | FleetEndpoint::Commits(project)
            | FleetEndpoint::MergeRequests(project)
            | FleetEndpoint::MergeRequest(project, _) => Some(project),
        }
    }
}

/// `API::APIGuard`: a personal token needs `read_api` (or `api`) to read and `api` to write;
/// the refusal lists every scope the route takes, not the missing one (`refusals.rs`).
/// Anonymous requests pass here and meet the project's visibility instead.
pub(super) fn scope_refusal(auth: &Auth, write: bool) -> Option<Reply> {
    match auth {
        Auth::Personal { .. } if write && !auth.can_write() => {
            Some(Reply::insufficient_scope(API_SCOPES))
        }
        Auth::Personal { .. } if !auth.can_read_api() => {
            Some(Reply::insufficient_scope(API_SCOPES))
        }
        _ => None,
    }
}

/// `find_project!` then the route's minimum role: 404 for a project the requester cannot
/// see (missing, or private and not a member of it or of a group above it), 403 below
/// `minimum`.
pub(super) fn project_for<'w>(
    world: &'w World,
    auth: &Auth,
    key: &str,
    minimum: Role,
) -> Result<&'w Project, Reply> {
    let project = world
        .project_index(key)
        .map(|i| &world.projects[i])
        .ok_or_else(Reply::project_not_found)?;
    match world.role_in(auth, project) {
        None => Err(Reply::project_not_found()),
        Some(role) if role < minimum => Err(Reply::forbidden()),
        Some(_) => Ok(project),
    }
}

pub(super) fn answer(
    world: &mut World,
    auth: &Auth,
    method: &str,
    endpoint: &FleetEndpoint,
    query: &str,
    request: &HttpRequest,
) -> Reply {
    use FleetEndpoint as E;
    let read = method == "GET" || method == "HEAD";
    if let Some(refusal) = scope_refusal(auth, !read) {
        return refusal;
    }
    // Grape's params of a write: the query string, overridden by the JSON (or form) body.
    let params = super::state_api::request_params(query, &request.body);
    let query = Query::parse(query);
    let origin = super::paging::origin(&request.headers);
    match (read, endpoint) {
        (true, E::GroupProjects(group)) => {
            super::groups::projects(world, auth, group, &query, &origin)
        }
        (true, E::File { project, path, raw }) => {
            super::repo_files::file(world, auth, project, path, *raw, &query)
        }
        (true, E::Tree(project)) => super::repo_files::tree(world, auth, project, &query, &origin),
        (true, E::Branch(project, branch)) => {
            super::repo_files::branch(world, auth, project, branch)
        }
        (true, E::MergeRequests(project)) => {
            super::merge_requests_read::list(world, auth, project, &query, &origin)
        }
        (true, E::MergeRequest(project, iid)) => {
            super::merge_requests_read::one(world, auth, project, iid)
        }
        (false, E::Branches(project)) if method == "POST" => {
            super::branches::create(world, auth, project, &params)
        }
        (false, E::Branch(project, branch)) if method == "DELETE" => {
            super::branches::delete(world, auth, project, branch)
        }
        (false, E::Commits(project)) if method == "POST" => {
            super::commits::create(world, auth, project, &params)
        }
        (false, E::MergeRequests(project)) if method == "POST" => {
            super::merge_requests::create(world, auth, project, &params)
        }
        (false, E::MergeRequest(project, iid)) if method == "PUT" => {
            super::merge_requests::update(world, auth, project, iid, &params)
        }
        // GitLab's answer to a method a route does not have.
        _ => Reply::error(405, "405 Not Allowed"),
    }
}
