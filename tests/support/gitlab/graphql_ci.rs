//! The GraphQL that `tfw locks` adds to `graphql.rs`: `group(fullPath:) { projects(...) }`
//! (a connection of at most 100 projects a page, the group's and its subgroups' projects the
//! user can see, `app/graphql/resolvers/group_projects_resolver.rb`), and a state version's
//! CI job with its status and pipeline (`Types::Ci::JobType`, `Types::Ci::PipelineType`:
//! statuses are upper-case enums, `finishedAt` is set once it ended). A project a test marked
//! broken answers its `terraformStates` with `null` and an error whose `path` names it, with
//! `data` for the rest, as graphql-ruby does for a resolver that raises.

use serde_json::{Value, json};

use super::graphql::{Field, MAX_PAGE, after_cursor, cursor, object, project_fields};
use super::model::{Auth, Project, World};

/// The test's message when `project`'s states are to fail.
pub(super) fn broken(world: &World, project: &Project) -> Option<String> {
    world.graphql_broken.get(&project.full_path).cloned()
}

pub(super) fn job_object(
    world: &World,
    (id, name, pipeline): &(u64, String, u64),
    fields: &[Field],
) -> Result<Value, String> {
    let job = world.jobs.iter().find(|j| j.id == *id);
    let status = job.map_or("SUCCESS".to_string(), |j| j.status.to_ascii_uppercase());
    let finished_at = world
        .job_finished_at
        .get(id)
        .map_or(Value::Null, |t| json!(world.time(*t, false)));
    let project_path = job
        .and_then(|j| world.projects.iter().find(|p| p.id == j.project_id))
        .map_or("-", |p| p.full_path.as_str());
    object(fields, "CiJob", |f| {
        Some(match f.name.as_str() {
            "id" => Ok(json!(format!("gid://gitlab/Ci::Build/{id}"))),
            "name" => Ok(json!(name)),
            "status" => Ok(json!(status)),
            "finishedAt" => Ok(finished_at.clone()),
            "webPath" => Ok(json!(format!("/{project_path}/-/jobs/{id}"))),
            "pipeline" => object(&f.selection, "Pipeline", |p| {
                Some(Ok(match p.name.as_str() {
                    "id" => json!(format!("gid://gitlab/Ci::Pipeline/{pipeline}")),
                    // One job per pipeline here: the pipeline ends with its job.
                    "status" => json!(status),
                    "finishedAt" => finished_at.clone(),
                    "path" => json!(format!("/{project_path}/-/pipelines/{pipeline}")),
                    _ => return None,
                }))
            }),
            _ => return None,
        })
    })
}

/// `group(fullPath:)`: `null` when the user can see no project in it, as for a private group
/// they are not a member of.
pub(super) fn group_object(
    world: &World,
    auth: &Auth,
    field: &Field,
    partial: &mut Vec<Value>,
) -> Result<Value, String> {
    let path = field
        .args
        .get("fullPath")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let inside = |project: &Project, subgroups: bool| {
        let full = project.full_path.to_ascii_lowercase();
        full.strip_prefix(&format!("{path}/"))
            .is_some_and(|rest| subgroups || !rest.contains('/'))
    };
    let mut visible: Vec<&Project> = world
        .projects
        .iter()
        .filter(|p| inside(p, true) && world.role_in(auth, p).is_some())
        .collect();
    if visible.is_empty() {
        return Ok(Value::Null);
    }
    visible.sort_by(|a, b| a.full_path.cmp(&b.full_path));
    object(&field.selection, "Group", |f| {
        Some(match f.name.as_str() {
            "fullPath" => Ok(json!(path)),
            "projects" => {
                let subgroups = f.args.get("includeSubgroups") == Some(&json!(true));
                let first = f
                    .args
                    .get("first")
                    .and_then(Value::as_u64)
                    .map_or(MAX_PAGE, |n| (n as usize).min(MAX_PAGE));
                let after = f.args.get("after").and_then(after_cursor);
                let rest: Vec<&&Project> = visible
                    .iter()
                    .filter(|p| inside(p, subgroups))
                    .filter(|p| {
                        after
                            .as_ref()
                            .is_none_or(|a| p.full_path.as_str() > a.as_str())
                    })
                    .collect();
                let page: Vec<&&Project> = rest.iter().take(first).copied().collect();
                let has_next = rest.len() > page.len();
                object(&f.selection, "ProjectConnection", |c| {
                    Some(match c.name.as_str() {
                        "nodes" => page
                            .iter()
                            .enumerate()
                            .map(|(i, p)| {
                                let role = world.role_in(auth, p).expect("visible");
                                let at =
                                    vec![json!(field.key), json!(f.key), json!(c.key), json!(i)];
                                project_fields(world, p, role, &c.selection, partial, at)
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map(Value::Array),
                        "pageInfo" => object(&c.selection, "PageInfo", |p| {
                            Some(Ok(match p.name.as_str() {
                                "hasNextPage" => json!(has_next),
                                "endCursor" => page
                                    .last()
                                    .map_or(Value::Null, |p| json!(cursor(&p.full_path))),
                                _ => return None,
                            }))
                        }),
                        "count" => Ok(json!(rest.len())),
                        _ => return None,
                    })
                })
            }
            _ => return None,
        })
    })
}
