//! `POST /api/graphql`, the part of GitLab's schema tfw uses: `project(fullPath:)` with
//! `terraformStates` (a connection: at most 100 nodes a page, ordered by name, `pageInfo`,
//! `count`) and `terraformState(name:)`, and `currentUser`. Like GitLab (graphql-ruby), it
//! answers exactly the fields selected, and an unknown field is a validation error with no
//! `data` (`app/graphql/types/terraform/state_type.rb`, `state_version_type.rb`,
//! `resolvers/terraform/states_resolver.rb`, `gitlab_schema.rb`: `default_max_page_size`).

use serde_json::{Map, Value, json};

use super::Role;
use super::http::{base64_decode, base64_encode};
use super::model::{Auth, Project, StateRec, World};
use super::server::Reply;

/// `GitlabSchema.default_max_page_size`.
pub const MAX_PAGE: usize = 100;

/// A selected field: `alias: name(arguments) { selection }`.
pub(super) struct Field {
    pub key: String,
    pub name: String,
    pub args: Map<String, Value>,
    pub selection: Vec<Field>,
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    variables: &'a Value,
}

impl Parser<'_> {
    fn skip(&mut self) {
        while self.at < self.text.len() {
            match self.text[self.at] {
                b' ' | b'\n' | b'\r' | b'\t' | b',' => self.at += 1,
                b'#' => {
                    while self.at < self.text.len() && self.text[self.at] != b'\n' {
                        self.at += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        self.at += usize::from(found);
        found
    }

    fn name(&mut self) -> Result<String, String> {
        self.skip();
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.at += 1;
        }
        if start == self.at {
            return Err(format!("Parse error at offset {start}"));
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'$') => {
                self.at += 1;
                let name = self.name()?;
                Ok(self.variables.get(&name).cloned().unwrap_or(Value::Null))
            }
            Some(b'"') => {
                self.at += 1;
                let start = self.at;
                while self.text.get(self.at).is_some_and(|c| *c != b'"') {
                    self.at += 1;
                }
                let text = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
                self.at += 1;
                Ok(Value::String(text))
            }
            _ => {
                let word = self.name()?;
                Ok(match word.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => word.parse::<u64>().map_or(Value::String(word), Value::from),
                })
            }
        }
    }

    fn selection(&mut self) -> Result<Vec<Field>, String> {
        let mut fields = Vec::new();
        if !self.eat(b'{') {
            return Ok(fields);
        }
        while !self.eat(b'}') {
            if self.peek().is_none() {
                return Err("Parse error: unexpected end of query".into());
            }
            let mut key = self.name()?;
            let mut name = key.clone();
            if self.eat(b':') {
                name = self.name()?;
            } else {
                key = name.clone();
            }
            let mut args = Map::new();
            if self.eat(b'(') {
                while !self.eat(b')') {
                    let arg = self.name()?;
                    if !self.eat(b':') {
                        return Err(format!("Parse error in the arguments of {name}"));
                    }
                    args.insert(arg, self.value()?);
                }
            }
            let selection = self.selection()?;
            fields.push(Field {
                key,
                name,
                args,
                selection,
            });
        }
        Ok(fields)
    }
}

/// The operation's selection set: after `query Name($a: T) ` or at once for `{ ... }`.
fn parse(query: &str, variables: &Value) -> Result<Vec<Field>, String> {
    let start = query.find('{').ok_or("Parse error: no selection")?;
    // A `{` inside the variable definitions cannot happen (no object defaults used here).
    let mut parser = Parser {
        text: query.as_bytes(),
        at: start,
        variables,
    };
    parser.selection()
}

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
