//! `POST /api/graphql`, the part of GitLab's schema tfw uses: `project(fullPath:)` with
//! `terraformStates` (a connection: at most 100 nodes a page, ordered by name, `pageInfo`,
//! `count`) and `terraformState(name:)`, and `currentUser`. Like GitLab (graphql-ruby), it
//! answers exactly the fields selected, and an unknown field is a validation error with no
//! `data` (`app/graphql/types/terraform/state_type.rb`, `state_version_type.rb`,
//! `resolvers/terraform/states_resolver.rb`, `gitlab_schema.rb`: `default_max_page_size`).

use serde_json::{Map, Value, json};

use super::Role;
pub(super) use super::graphql_parse::Field;
use super::graphql_parse::parse;
use super::http::{base64_decode, base64_encode};
use super::model::{Auth, Project, StateRec, World};
use super::server::Reply;

/// `GitlabSchema.default_max_page_size`.
pub const MAX_PAGE: usize = 100;

fn unknown(field: &Field, on: &str) -> String {
    format!("Field '{}' doesn't exist on type '{on}'", field.name)
}

pub(super) fn object(
    fields: &[Field],
    on: &str,
    mut get: impl FnMut(&Field) -> Option<Result<Value, String>>,
) -> Result<Value, String> {
    let mut out = Map::new();
    for field in fields {
        let value = if field.name == "__typename" {
            Ok(Value::String(on.to_string()))
        } else {
            get(field).unwrap_or_else(|| Err(unknown(field, on)))
        };
        out.insert(field.key.clone(), value?);
    }
    Ok(Value::Object(out))
}

fn user_object(world: &World, username: Option<&str>, fields: &[Field]) -> Result<Value, String> {
    let Some(username) = username else {
        return Ok(Value::Null);
    };
    let id = world
        .users
        .iter()
        .find(|u| u.username == username)
        .map_or(0, |u| u.id);
    object(fields, "UserCore", |f| {
        Some(Ok(match f.name.as_str() {
            "username" | "name" => json!(username),
            "id" => json!(format!("gid://gitlab/User/{id}")),
            "webUrl" => json!(format!("/{username}")),
            _ => return None,
        }))
    })
}

fn state_object(
    world: &World,
    name: &str,
    state: &StateRec,
    fields: &[Field],
) -> Result<Value, String> {
    let time = |t| json!(world.time(t, false));
    object(fields, "TerraformState", |f| {
        if world.graphql_missing_state_fields.contains(&f.name) {
            return None;
        }
        Some(match f.name.as_str() {
            "id" => Ok(json!(format!("gid://gitlab/Terraform::State/{name}"))),
            "name" => Ok(json!(name)),
            "lockedAt" => Ok(state
                .lock
                .as_ref()
                .map_or(Value::Null, |l| time(l.locked_at))),
            "lockedByUser" => user_object(
                world,
                state.lock.as_ref().map(|l| l.username.as_str()),
                &f.selection,
            ),
            "createdAt" => Ok(time(state.created_at)),
            "updatedAt" => Ok(time(state.updated_at)),
            "deletedAt" => Ok(state.deleted_at.map_or(Value::Null, time)),
            "protectionRuleExists" => Ok(json!(false)),
            "latestVersion" => {
                let Some((serial, v)) = state.versions.iter().next_back() else {
                    return Some(Ok(Value::Null));
                };
                object(&f.selection, "TerraformStateVersion", |g| {
                    Some(match g.name.as_str() {
                        "id" => Ok(json!(format!(
                            "gid://gitlab/Terraform::StateVersion/{serial}"
                        ))),
                        "serial" => Ok(json!(serial)),
                        "createdAt" | "updatedAt" => Ok(time(v.created_at)),
                        "downloadPath" => Ok(json!(format!(
                            "/api/v4/projects/-/terraform/state/{name}/versions/{serial}"
                        ))),
                        "createdByUser" => {
                            user_object(world, v.created_by.as_deref(), &g.selection)
                        }
                        "job" => match &v.job {
                            None => Ok(Value::Null),
                            Some(job) => super::graphql_ci::job_object(world, job, &g.selection),
                        },
                        _ => return None,
                    })
                })
            }
            _ => return None,
        })
    })
}

pub(super) fn cursor(name: &str) -> String {
    base64_encode(json!({ "name": name }).to_string().as_bytes())
}

pub(super) fn after_cursor(value: &Value) -> Option<String> {
    let bytes = base64_decode(value.as_str()?)?;
    let decoded: Value = serde_json::from_slice(&bytes).ok()?;
    decoded["name"].as_str().map(str::to_string)
}

/// `terraformStates(first:, after:)`: keyset pages by name. A Reporter or Guest sees an
/// empty connection (`read_terraform_state` is Developer+), not an error.
fn states_connection(
    world: &World,
    project: &Project,
    readable: bool,
    field: &Field,
) -> Result<Value, String> {
    let all: Vec<(&String, &StateRec)> = if readable {
        project.states.iter().collect()
    } else {
        Vec::new()
    };
    let first = field
        .args
        .get("first")
        .and_then(Value::as_u64)
        .map_or(MAX_PAGE, |n| (n as usize).min(MAX_PAGE));
    let after = field.args.get("after").and_then(after_cursor);
    let rest: Vec<&(&String, &StateRec)> = all
        .iter()
        .filter(|(n, _)| after.as_ref().is_none_or(|a| n.as_str() > a.as_str()))
        .collect();
    let page: Vec<&&(&String, &StateRec)> = rest.iter().take(first).collect();
    let has_next = rest.len() > page.len();
    object(&field.selection, "TerraformStateConnection", |f| {
        Some(match f.name.as_str() {
            "count" => Ok(json!(all.len())),
            "nodes" => page
                .iter()
                .map(|(n, s)| state_object(world, n, s, &f.selection))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            "edges" => page
                .iter()
                .map(|(n, s)| {
                    object(&f.selection, "TerraformStateEdge", |e| {
                        Some(match e.name.as_str() {
                            "cursor" => Ok(json!(cursor(n))),
                            "node" => state_object(world, n, s, &e.selection),
                            _ => return None,
                        })
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            "pageInfo" => object(&f.selection, "PageInfo", |p| {
                Some(Ok(match p.name.as_str() {
                    "hasNextPage" => json!(has_next),
                    "hasPreviousPage" => json!(after.is_some()),
                    "endCursor" => page.last().map_or(Value::Null, |(n, _)| json!(cursor(n))),
                    "startCursor" => page.first().map_or(Value::Null, |(n, _)| json!(cursor(n))),
                    _ => return None,
                }))
            }),
            _ => return None,
        })
    })
}

fn project_object(
    world: &World,
    auth: &Auth,
    field: &Field,
    partial: &mut Vec<Value>,
) -> Result<Value, String> {
    let path = field
        .args
        .get("fullPath")
        .and_then(Value::as_str)
        .unwrap_or("");
    let project = world
        .projects
        .iter()
        .find(|p| p.full_path.eq_ignore_ascii_case(path));
    // A private project is `null` for a non-member or an anonymous request.
    let Some((project, role)) = project.and_then(|p| Some((p, world.role_in(auth, p)?))) else {
        return Ok(Value::Null);
    };
    project_fields(
        world,
        project,
        role,
        &field.selection,
        partial,
        vec![json!("project")],
    )
}

/// A project's selected fields; `path` is where it sits in the answer, for the error GitLab
/// reports (with `data` for everything else) when a test made its states fail.
pub(super) fn project_fields(
    world: &World,
    project: &Project,
    role: Role,
    selection: &[Field],
    partial: &mut Vec<Value>,
    path: Vec<Value>,
) -> Result<Value, String> {
    let readable = role >= Role::Developer;
    object(selection, "Project", |f| {
        Some(match f.name.as_str() {
            "id" => Ok(json!(format!("gid://gitlab/Project/{}", project.id))),
            "fullPath" => Ok(json!(project.full_path)),
            "archived" => Ok(json!(project.archived)),
            "terraformStates" => match super::graphql_ci::broken(world, project) {
                Some(message) => {
                    let mut at = path.clone();
                    at.push(json!(f.key));
                    partial.push(json!({ "message": message, "path": at }));
                    Ok(Value::Null)
                }
                None => states_connection(world, project, readable, f),
            },
            "terraformState" => {
                let name = f.args.get("name").and_then(Value::as_str).unwrap_or("");
                match project.states.get(name).filter(|_| readable) {
                    Some(state) => state_object(world, name, state, &f.selection),
                    None => Ok(Value::Null),
                }
            }
            _ => return None,
        })
    })
}

pub(super) fn answer(world: &World, auth: &Auth, body: &[u8]) -> Reply {
    // Job tokens are not GraphQL credentials (`Gitlab::Auth::AuthFinders` in the
    // `GraphqlController` takes personal, project and OAuth tokens only).
    if matches!(auth, Auth::Job { .. }) {
        return Reply::json(401, json!({ "errors": [{ "message": "Invalid token" }] }));
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Reply::json(
            400,
            json!({ "errors": [{ "message": "Invalid JSON in the request body" }] }),
        );
    };
    let query = request.get("query").and_then(Value::as_str).unwrap_or("");
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    let mut partial = Vec::new();
    let result = parse(query, &variables).and_then(|fields| {
        object(&fields, "Query", |f| {
            Some(match f.name.as_str() {
                "project" => project_object(world, auth, f, &mut partial),
                "group" => super::graphql_ci::group_object(world, auth, f, &mut partial),
                "currentUser" => user_object(world, auth.username().as_deref(), &f.selection),
                _ => return None,
            })
        })
    });
    match result {
        Ok(data) if partial.is_empty() => Reply::json(200, json!({ "data": data })),
        Ok(data) => Reply::json(200, json!({ "data": data, "errors": partial })),
        Err(message) => Reply::json(200, json!({ "errors": [{ "message": message }] })),
    }
}
