//! The Terraform state routes (`lib/api/terraform/state.rb`, `state_version.rb`) with the
//! rules of `Terraform::RemoteStateHandler`: authentication, the project (404 for
//! non-members), the token's scope, the role, archived projects, protection rules, then the
//! state itself (deletion in progress, lock IDs, serials).

use std::time::SystemTime;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::model::{Auth, LockRec, Project, VersionRec, World};
use super::refusals::API_SCOPES;
use super::server::{Reply, Tail};
use super::{MAX_NAME_LEN, Role, Route};

/// `rescue_from StateDeletedError` in `state.rb`: every route of a state whose deletion is
/// scheduled (`deleted_at` set) answers this until the worker has removed it.
fn deleting() -> Reply {
    Reply::message(422, "State is deleted")
}

/// Why a write is refused, in the order GitLab's guards and policies decide.
fn write_refusal(world: &World, auth: &Auth, project: &Project, name: &str) -> Option<Reply> {
    // `API::APIGuard`: a `read_api` token may only GET, whatever the role.
    if !auth.can_write() {
        return Some(Reply::insufficient_scope(API_SCOPES));
    }
    let role = world.role_in(auth, project).unwrap_or(Role::Guest);
    // `admin_terraform_state` is Maintainer+, and `ProjectPolicy` prevents every write
    // ability on an archived project.
    if role < Role::Maintainer || project.archived {
        return Some(Reply::forbidden());
    }
    // `Terraform::StateProtectionRule` (`protected_terraform_states`): per state, a minimum
    // role for writes and where writes may come from.
    let rule = project.rules.iter().find(|r| r.state_name == name)?;
    let job = match auth {
        Auth::Job { job, .. } => Some(&world.jobs[*job]),
        _ => None,
    };
    let place_ok = match rule.allowed_from.as_str() {
        "ci_only" => job.is_some(),
        "ci_on_protected_branch_only" => job.is_some_and(|j| j.protected_ref),
        _ => true,
    };
    (role < rule.minimum_access_level_for_write || !place_ok).then(|| {
        Reply::message(
            403,
            &format!("403 Forbidden - Terraform state `{name}` is restricted by a protection rule"),
        )
    })
}

/// The LockInfo GitLab answers a lock request with: the request's own Operation, Info,
/// Version and Path with the holder's ID, Who (GitLab username) and Created, on 200 and 409
/// alike (`post '/lock'` in `state.rb`).
fn lock_reply(world: &World, lock: &LockRec, params: &Map<String, Value>, status: u16) -> Reply {
    let mut answer = Map::new();
    for key in ["Operation", "Info", "Version", "Path"] {
        answer.insert(key.into(), params[key].clone());
    }
    let holder = world.lock_json(lock);
    for key in ["ID", "Who", "Created"] {
        answer.insert(key.into(), holder[key].clone());
    }
    Reply::json(status, Value::Object(answer))
}

/// The lock route validates its parameters (Grape) before `authorize!` runs.
fn lock_params(query: &str, body: &[u8]) -> Result<Map<String, Value>, Reply> {
    let params = request_params(query, body);
    let missing: Vec<String> = [
        "ID",
        "Operation",
        "Info",
        "Who",
        "Version",
        "Created",
        "Path",
    ]
    .iter()
    .filter(|key| params.get(**key).is_none_or(Value::is_null))
    .map(|key| format!("{key} is missing"))
    .collect();
    if !missing.is_empty() {
        return Err(Reply::error(400, &missing.join(", ")));
    }
    if value_text(&params["ID"]).chars().count() > MAX_NAME_LEN {
        return Err(Reply::error(400, "ID must be less than 255 characters"));
    }
    Ok(params)
}

/// One request to `{base}`, `{base}/lock` or `{base}/versions/:serial`.
#[allow(clippy::too_many_arguments)]
pub(super) fn answer(
    world: &mut World,
    auth: &Auth,
    method: &str,
    project: &str,
    name: &str,
    tail: &Tail,
    query: &str,
    body: &[u8],
) -> Reply {
    if matches!(auth, Auth::Anonymous) {
        return Reply::unauthorized(None);
    }
    // `user_project`: a private project a user is not a member of does not exist for them.
    let Some(index) = world.project_index(project) else {
        return Reply::project_not_found();
    };
    let Some(role) = world.role_in(auth, &world.projects[index]) else {
        return Reply::project_not_found();
    };
    if !auth.can_read_api() {
        return Reply::insufficient_scope(API_SCOPES);
    }
    // `authorize! :read_terraform_state`: Developer+.
    if role < Role::Developer {
        return Reply::forbidden();
    }
    // `Terraform::State` validates the name's length (characters); the versions route only
    // looks the state up, so a long name there is just not found.
    if !matches!(tail, Tail::Version(_)) && name.chars().count() > MAX_NAME_LEN {
        return Reply::error(400, "name is too long (maximum is 255 characters)");
    }
    let params = match tail {
        Tail::Lock if method == "POST" => match lock_params(query, body) {
            Ok(params) => Some(params),
            Err(reply) => return reply,
        },
        _ => None,
    };
    if method != "GET"
        && let Some(refusal) = write_refusal(world, auth, &world.projects[index], name)
    {
        return refusal;
    }
    let job = match auth {
        Auth::Job { job, .. } => {
            let j = &world.jobs[*job];
            Some((j.id, j.name.clone(), j.pipeline_id))
        }
        _ => None,
    };
    let username = auth.username().unwrap_or_default();
    let max_state_size = world.max_state_size;
    let now = SystemTime::now();
    let route = match tail {
        Tail::Base => Route::State,
        Tail::Lock => Route::Lock,
        Tail::Version(_) => Route::Versions,
    };
    let meanwhile = world.take_meanwhile(method, route, name);
    let project = &mut world.projects[index];
    // Another client's change lands before this request's one transaction; a lock request's
    // lands between its two (see `meanwhile.rs`).
    let mut meanwhile = meanwhile;
    if !(matches!(tail, Tail::Lock) && method == "POST")
        && let Some(change) = meanwhile.take()
    {
        project.apply(name, &change);
    }
    match (tail, method) {
        (Tail::Base, "GET") => {
            let Some(state) = project.states.get(name) else {
                return Reply::not_found();
            };
            if state.deleted_at.is_some() {
                return deleting();
            }
            match state.versions.values().next_back() {
                Some(version) => Reply::raw(200, version.bytes.clone()),
                None => Reply::no_content(),
            }
        }

        (Tail::Base, "POST") => {
            if body.is_empty() {
                return Reply::no_content();
            }
            if max_state_size > 0 && body.len() > max_state_size {
                return Reply::message(413, "413 Request Entity Too Large");
            }
            let id = query_param(query, "ID");
            let state = project.state_entry(name);
            if state.deleted_at.is_some() {
                return deleting();
            }
            // `handle_with_lock` raises `StateLockedError`, which this route does not rescue:
            // Rails answers 500 (Terraform retries, then says "HTTP error: 500").
            if !state.lock_matches(id.as_deref()) {
                return Reply::message(500, "500 Internal Server Error");
            }
            let Ok(document) = serde_json::from_slice::<Value>(body) else {
                return Reply::message(422, "The state is not valid JSON");
            };
            let Some(serial) = serial_of(&document) else {
                return Reply::message(422, "Version can't be blank");
            };
            if state.versions.contains_key(&serial) {
                return Reply::message(422, "Version has already been taken");
            }
            // `updatedAt` is the state record's, which a version write does not touch.
            let created_by = state.lock.as_ref().map(|l| l.username.clone());
            state.versions.insert(
                serial,
                VersionRec {
                    bytes: body.to_vec(),
                    created_at: now,
                    created_by,
                    job,
                },
            );
            Reply::empty_ok()
        }

        (Tail::Base, "DELETE") => {
            let Some(state) = project.states.get_mut(name) else {
                return Reply::not_found();
            };
            if state.deleted_at.is_some() {
                return deleting();
            }
            // `TriggerDestroyService` refuses a locked state, yet the route answers 200; an
            // unlocked one is only marked, the `DestroyWorker` removes it later.
            if state.lock.is_none() {
                state.deleted_at = Some(now);
            }
            Reply::empty_ok()
        }

        (Tail::Lock, "POST") => {
            let params = params.expect("parsed above");
            let id = value_text(&params["ID"]);
            if id.trim().is_empty() {
                return Reply::message(400, "400 Bad request - ID is empty");
            }
            let state = project.state_entry(name);
            if state.deleted_at.is_some() {
                return deleting();
            }
            let status = if state.lock.is_some() {
                // `lock!` raised `StateLockedError`; `find_with_lock` reads the holder next.
                if let Some(change) = meanwhile.take() {
                    project.apply(name, &change);
                }
                if project.states[name].lock.is_none() {
                    // `state.locked_by_user.username` on a lock released meanwhile.
                    return Reply::message(500, "500 Internal Server Error");
                }
                409
            } else {
                let state = project.state_entry(name);
                state.lock = Some(LockRec {
                    id,
                    username,
                    locked_at: now,
                    info: params.clone(),
                });
                state.updated_at = now;
                200
            };
            let lock = world.projects[index].states[name].lock.as_ref();
            lock_reply(world, lock.expect("locked"), &params, status)
        }

        (Tail::Lock, "DELETE") => {
            let params = request_params(query, body);
            let id = params.get("ID").filter(|v| !v.is_null()).map(value_text);
            if id
                .as_ref()
                .is_some_and(|id| id.chars().count() > MAX_NAME_LEN)
            {
                return Reply::error(400, "ID must be less than 255 characters");
            }
            let state = project.state_entry(name);
            if state.deleted_at.is_some() {
                return deleting();
            }
            // No ID is Terraform's force-unlock and always succeeds; an ID must match
            // (`delete '/lock'` rescues `StateLockedError` as 409).
            // The route's value is `status`'s, the code itself, which Grape renders as the
            // body (`status :conflict` in the rescue, `status :ok` after `unlock!`).
            if id.is_some() && !state.lock_matches(id.as_deref()) {
                return Reply::json(409, Value::from(409));
            }
            if state.lock.take().is_some() {
                state.updated_at = now;
            }
            Reply::json(200, Value::from(200))
        }

        (Tail::Version(serial), "GET" | "DELETE") => {
            let Ok(serial) = serial.parse::<u64>() else {
                return Reply::error(400, "serial is invalid");
            };
            let Some(state) = project.states.get_mut(name) else {
                return Reply::not_found();
            };
            if state.deleted_at.is_some() {
                return deleting();
            }
            if method == "DELETE" {
                return match state.versions.remove(&serial) {
                    Some(_) => Reply::no_content(),
                    None => Reply::not_found(),
                };
            }
            match state.versions.get(&serial) {
                Some(version) => Reply::raw(200, version.bytes.clone()),
                None => Reply::not_found(),
            }
        }

        _ => Reply::error(405, "405 Not Allowed"),
    }
}

/// The state's `serial`, as a number or (Grape coerces) a string of digits.
pub(super) fn serial_of(document: &Value) -> Option<u64> {
    match document.get("serial")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Grape's params: the query string, overridden by a JSON object body (Terraform) or a form
/// body (GitLab's own specs post forms).
pub(super) fn request_params(query: &str, body: &[u8]) -> Map<String, Value> {
    let mut params: Map<String, Value> = parse_form(query)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => params.extend(object),
        _ => {
            let form = String::from_utf8_lossy(body);
            params.extend(
                parse_form(&form)
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v))),
            );
        }
    }
    params
}

fn query_param(query: &str, key: &str) -> Option<String> {
    parse_form(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// `application/x-www-form-urlencoded`, as Rack reads query strings (`+` is a space).
pub(super) fn parse_form(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Grape coerces the LockInfo fields to strings.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
