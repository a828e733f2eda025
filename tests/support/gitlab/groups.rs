//! `GET /groups/:id/projects` (`lib/api/groups.rb`, `GroupProjectsFinder`): the projects of
//! a group that the requester may see, its subgroups' too with `include_subgroups=true`,
//! filtered by `archived`, ordered (`order_by`, `sort`) and paged by offset or keyset
//! (`paginate_with_strategies`). Each project as `API::Entities::Project` shows it, with
//! `default_branch` only for those who may read its code.

use serde_json::{Value, json};

use super::Role;
use super::model::{Auth, Project, World};
use super::paging::{self, Query};
use super::repo_model::is_below;
use super::server::Reply;

/// `API::Entities::Project` (or `BasicProjectDetails` with `simple=true`), as far as a
/// client of these routes reads it.
pub(super) fn project_json(world: &World, auth: &Auth, project: &Project, simple: bool) -> Value {
    let role = world.role_in(auth, project);
    let name = project.full_path.rsplit('/').next().unwrap_or_default();
    let mut value = json!({
        "id": project.id,
        "name": name,
        "path": name,
        "path_with_namespace": project.full_path,
        "name_with_namespace": project.full_path.replace('/', " / "),
        "http_url_to_repo": world.web(&format!("{}.git", project.full_path)),
        "web_url": world.web(&project.full_path),
        "namespace": { "full_path": project.namespace(), "kind": "group" },
        "visibility": "private",
    });
    // `expose :default_branch, if: ... can?(user, :read_code, project)`: Guests of a private
    // project do not see it (and cannot read its files either).
    if role.is_some_and(|r| r >= Role::Reporter) {
        value["default_branch"] = json!(project.repo.default_branch);
    }
    if !simple {
        value["archived"] = json!(project.archived);
        value["empty_repo"] = json!(project.repo.is_empty());
    }
    value
}

pub(super) fn projects(
    world: &World,
    auth: &Auth,
    key: &str,
    query: &Query,
    origin: &str,
) -> Reply {
    let group = match world.group_index(key).map(|i| &world.fleet.groups[i]) {
        Some(group) if world.can_read_group(auth, group) => group,
        // `find_group!`: one you may not see does not exist.
        _ => return Reply::message(404, "404 Group Not Found"),
    };
    let subgroups = query.flag("include_subgroups").unwrap_or(false);
    let archived = query.flag("archived");
    let mut found: Vec<&Project> = world
        .projects
        .iter()
        .filter(|p| {
            let direct = p.namespace().eq_ignore_ascii_case(&group.full_path);
            direct || (subgroups && is_below(&p.full_path, &group.full_path))
        })
        .filter(|p| archived.is_none_or(|a| p.archived == a))
        .filter(|p| world.role_in(auth, p).is_some())
        .collect();
    let order_by = query.get("order_by").unwrap_or("created_at");
    let descending = query.get("sort").unwrap_or("desc") != "asc";
    match order_by {
        "path" | "name" => found.sort_by(|a, b| a.full_path.cmp(&b.full_path)),
        // Ids grow with creation here, so they stand in for `created_at`.
        "id" | "created_at" | "last_activity_at" | "updated_at" => found.sort_by_key(|p| p.id),
        _ => {
            return Reply::error(400, "order_by does not have a valid value");
        }
    }
    if descending {
        found.reverse();
    }
    let simple = query.flag("simple").unwrap_or(false);
    let items: Vec<Value> = found
        .iter()
        .map(|p| project_json(world, auth, p, simple))
        .collect();
    let base = format!(
        "{origin}/api/v4/groups/{}/projects",
        super::encode_component(key)
    );
    if query.get("pagination") == Some("keyset") {
        // `Gitlab::Pagination::Keyset.available?`: projects only by `id`.
        if order_by != "id" {
            return Reply::error(
                405,
                "Keyset pagination is not yet available for this type of request",
            );
        }
        return paging::keyset(&base, query, items, descending);
    }
    paging::offset(&base, query, items, world.fleet.omit_totals)
}
