//! The REST routes besides the state API that tfw uses: `GET /projects/:id` (its full path,
//! whether it is archived), `GET /user` (who a token is), `GET /projects/:id/members/all`
//! (who left, for `state prune`) and `GET /projects/:id/jobs` (running pipelines), the
//! listings paged like GitLab's offset pagination (`lib/api/helpers/pagination.rb`).

use serde_json::{Value, json};

use super::Role;
use super::model::{Auth, World};
use super::refusals::API_SCOPES;
use super::server::Reply;

/// `Gitlab::Access` values, as the members API shows them.
fn access_level(role: Role) -> u32 {
    match role {
        Role::Guest => 10,
        Role::Reporter => 20,
        Role::Developer => 30,
        Role::Maintainer => 40,
        Role::Owner => 50,
    }
}

fn query_number(query: &str, key: &str) -> Option<usize> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.parse().ok()).flatten()
    })
}

/// One page of `items`: `per_page` defaults to 20 and is capped at 100; the headers are
/// GitLab's (`X-Next-Page` empty on the last page, `Link` with `rel="next"`). `counted`:
/// whether the totals come too (`X-Total`, `X-Total-Pages`); a route paginated
/// `without_count` (the jobs listing) leaves them out.
pub(super) fn paged(path: &str, query: &str, items: Vec<Value>, counted: bool) -> Reply {
    let per_page = query_number(query, "per_page").unwrap_or(20).clamp(1, 100);
    let page = query_number(query, "page").unwrap_or(1).max(1);
    let total = items.len();
    let pages = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut reply = Reply::json(200, Value::Array(slice));
    let next = if page < pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let mut headers = vec![
        ("X-Page".to_string(), page.to_string()),
        ("X-Per-Page".to_string(), per_page.to_string()),
        ("X-Total".to_string(), total.to_string()),
        ("X-Total-Pages".to_string(), pages.to_string()),
        ("X-Next-Page".to_string(), next.clone()),
    ];
    if !counted {
        headers.retain(|(k, _)| k != "X-Total" && k != "X-Total-Pages");
    }
    if !next.is_empty() {
        headers.push((
            "Link".to_string(),
            format!("<{path}?page={next}&per_page={per_page}>; rel=\"next\""),
        ));
    }
    reply.headers = headers;
    reply
}

/// The project by the route's credentials (`World::authenticate` already read basic auth,
/// and a job token where the route does not take one, as anonymous).
pub(super) fn member_project<'w>(
    world: &'w World,
    auth: &Auth,
    key: &str,
) -> Result<(&'w super::model::Project, Role), Reply> {
    member_project_with(world, auth, key, API_SCOPES)
}

/// `member_project` on a route that registers more scopes than `API::API`'s (`scopes`, for
/// the 403 that lists them).
fn member_project_with<'w>(
    world: &'w World,
    auth: &Auth,
    key: &str,
    scopes: &str,
) -> Result<(&'w super::model::Project, Role), Reply> {
    let project = world
        .project_index(key)
        .map(|i| &world.projects[i])
        .ok_or_else(Reply::project_not_found)?;
    match world.role_in(auth, project) {
        Some(role) if auth.can_read_api() => Ok((project, role)),
        Some(_) => Err(Reply::insufficient_scope(scopes)),
        // Anonymous or not a member: a private project does not exist (`find_project!`).
        None => Err(Reply::project_not_found()),
    }
}

pub(super) fn user(world: &World, auth: &Auth) -> Reply {
    // `GET /user` wants `api`, `read_api` or `read_user`; a job token is not accepted here
    // (CI has `GET /job` for that, not served).
    let Auth::Personal { username, scopes } = auth else {
        return Reply::unauthorized(None);
    };
    if !scopes
        .iter()
        .any(|s| ["api", "read_api", "read_user"].contains(&s.as_str()))
    {
        // `API::Users` adds `read_user` for GET to `API::API`'s scopes.
        return Reply::insufficient_scope("api read_api read_user");
    }
    let Some(user) = world.users.iter().find(|u| &u.username == username) else {
        return Reply::unauthorized(None);
    };
    Reply::json(
        200,
        json!({ "id": user.id, "username": user.username, "name": user.username, "state": user.state }),
    )
}

/// `GET /personal_access_tokens/self` (`lib/api/personal_access_tokens/self_information.rb`,
/// GitLab 15.5+): the token's own record (`Entities::PersonalAccessTokenWithLastUsedIps`),
/// whatever its scopes (`allow_access_with_scope(Gitlab::Auth.all_available_scopes)`).
/// Project and group access tokens are personal access tokens of a bot user, so they are
/// answered too; an expired or revoked token got its 401 `invalid_token` already, and a job
/// token is not read here (401).
pub(super) fn token_self(world: &World, auth: &Auth, headers: &[(String, String)]) -> Reply {
    if !matches!(auth, Auth::Personal { .. }) {
        return Reply::unauthorized(None);
    }
    let presented = super::http::header(headers, "private-token")
        .or_else(|| {
            super::http::header(headers, "authorization")
                .and_then(|v| v.split_once(' ').map(|(_, t)| t))
        })
        .unwrap_or("")
        .trim();
    let Some(token) = world.tokens.iter().find(|t| t.token == presented) else {
        return Reply::unauthorized(None);
    };
    let user_id = world
        .users
        .iter()
        .find(|u| u.username == token.username)
        .map_or(0, |u| u.id);
    Reply::json(
        200,
        json!({
            "id": user_id * 1000,
            "name": "token",
            "description": null,
            "revoked": false,
            "created_at": world.time(std::time::UNIX_EPOCH, true),
            "scopes": token.scopes,
            "user_id": user_id,
            "last_used_at": null,
            "active": true,
            "expires_at": null,
            "last_used_ips": [],
        }),
    )
}

pub(super) fn project(world: &World, auth: &Auth, key: &str) -> Reply {
    match member_project(world, auth, key) {
        // `permissions` (`API::Entities::ProjectWithAccess`): `project_access` is the user's
        // direct membership, `group_access` the highest in the project's group and its
        // ancestors (`highest_group_member`); either is null when it does not exist.
        Ok((project, _)) => Reply::json(
            200,
            json!({
                "id": project.id,
                "path_with_namespace": project.full_path,
                "archived": project.archived,
                "visibility": "private",
                "permissions": {
                    "project_access": auth.username().and_then(|u| project.members.get(&u).copied())
                        .map(|r| json!({ "access_level": access_level(r), "notification_level": 3 })),
                    "group_access": auth.username().and_then(|u| world.inherited_role(&u, &project.full_path))
                        .map(|r| json!({ "access_level": access_level(r), "notification_level": 3 })),
                },
            }),
        ),
        Err(reply) => reply,
    }
}

/// `members/all`: direct and inherited members, any member may list them.
pub(super) fn members(world: &World, auth: &Auth, key: &str, query: &str) -> Reply {
    let (project, _) = match member_project(world, auth, key) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let items = project
        .members
        .iter()
        .map(|(username, role)| {
            let user = world.users.iter().find(|u| &u.username == username);
            json!({
                "id": user.map_or(0, |u| u.id),
                "username": username,
                "name": username,
                "state": user.map_or("active", |u| u.state.as_str()),
                "access_level": access_level(*role),
            })
        })
        .collect();
    paged(
        &format!("/api/v4/projects/{}/members/all", project.id),
        query,
        items,
        true,
    )
}

/// `GET /projects/:id/jobs?scope[]=running` (`lib/api/ci/jobs.rb`): personal tokens and CI job
/// tokens (`job_token_allowed: true`; a job token reads its own project as its pipeline's
/// user), Reporter+ (`authorize_read_builds!`), newest first (`order(id: :desc)`), paged
/// without totals. `Ci::Jobs` adds the `ai_workflows` scope for GET.
pub(super) fn jobs(world: &World, auth: &Auth, key: &str, query: &str) -> Reply {
    let (project, role) = match member_project_with(world, auth, key, "api read_api ai_workflows") {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    if role < Role::Reporter {
        return Reply::forbidden();
    }
    let scopes: Vec<String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == "scope" || *k == "scope[]" || *k == "scope%5B%5D")
        .map(|(_, v)| v.to_string())
        .collect();
    let mut jobs: Vec<&super::model::Job> = world
        .jobs
        .iter()
        .filter(|j| j.project_id == project.id)
        .filter(|j| scopes.is_empty() || scopes.contains(&j.status))
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
    let items = jobs
        .iter()
        .map(|j| {
            json!({
                "id": j.id,
                "name": j.name,
                "status": j.status,
                "pipeline": { "id": j.pipeline_id, "status": j.status },
                "user": { "username": j.username },
                "web_url": world.web(&format!("{}/-/jobs/{}", project.full_path, j.id)),
            })
        })
        .collect();
    paged(
        &format!("/api/v4/projects/{}/jobs", project.id),
        query,
        items,
        // `paginate_with_strategies(..., paginator_params: { without_count: true })`.
        false,
    )
}
