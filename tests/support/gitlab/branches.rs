//! Writing `/projects/:id/repository/branches` (`lib/api/branches.rb`; one branch is read by
//! `repo_files.rs`): create from a ref (`Branches::CreateService`,
//! `Branches::ValidateNewService`) and delete (`Branches::DeleteService`), plus who may write
//! to a project at all, shared by the commit and merge request routes.

use serde_json::Value;

use super::Role;
use super::fleet_routes::project_for;
use super::model::{Auth, World};
use super::repo_model::Branch;
use super::server::Reply;

/// The project a write goes to, after the router's scope check (`fleet_routes`): visible
/// (404 otherwise, `find_project!`), the role reaching `needed`, and not archived
/// (`ProjectPolicy`: an archived project prevents every write ability).
pub(super) fn writable_project(
    world: &World,
    auth: &Auth,
    key: &str,
    needed: Role,
) -> Result<usize, Reply> {
    let project = project_for(world, auth, key, needed)?;
    if project.archived {
        return Err(Reply::forbidden());
    }
    world
        .project_index(key)
        .ok_or_else(Reply::project_not_found)
}

/// `Gitlab::UserAccess#can_push_to_branch?`: Developer and up on an unprotected branch (or
/// one not made yet), the protection's role on a protected one, nobody for "No one".
pub(super) fn can_push(branch: Option<&Branch>, role: Option<Role>) -> bool {
    let Some(role) = role else { return false };
    match branch.and_then(|b| b.protected) {
        None => role >= Role::Developer,
        Some(None) => false,
        Some(Some(needed)) => role >= needed,
    }
}

fn branch_not_found() -> Reply {
    Reply::message(404, "404 Branch Not Found")
}

/// A string param, as sent (possibly empty).
pub(super) fn param<'p>(params: &'p serde_json::Map<String, Value>, key: &str) -> Option<&'p str> {
    params.get(key).and_then(Value::as_str)
}

/// A string param that Grape's `allow_blank: false` would accept.
pub(super) fn text<'p>(params: &'p serde_json::Map<String, Value>, key: &str) -> Option<&'p str> {
    param(params, key).filter(|s| !s.is_empty())
}

/// `POST /branches` (`branch`, `ref`).
pub(super) fn create(
    world: &mut World,
    auth: &Auth,
    key: &str,
    params: &serde_json::Map<String, Value>,
) -> Reply {
    // `authorize_push_project`: Developer+.
    let index = match writable_project(world, auth, key, Role::Developer) {
        Ok(index) => index,
        Err(reply) => return reply,
    };
    // Grape's `requires :branch, :ref, allow_blank: false`.
    let (Some(name), Some(reference)) = (text(params, "branch"), text(params, "ref")) else {
        let missing = if text(params, "branch").is_none() {
            "branch"
        } else {
            "ref"
        };
        return Reply::error(400, &format!("{missing} is missing"));
    };
    let repo = &world.projects[index].repo;
    // `Branches::ValidateNewService`.
    if repo.branches.contains_key(name) {
        return Reply::message(400, "Branch already exists");
    }
    let Some(from) = repo.resolve(Some(reference)).cloned() else {
        return Reply::message(
            400,
            &format!("Failed to create branch '{name}': invalid reference name '{reference}'"),
        );
    };
    // A new branch is never protected (no wildcard protections here).
    let branch = Branch {
        protected: None,
        ..from
    };
    world.projects[index]
        .repo
        .branches
        .insert(name.to_string(), branch);
    let mut reply = super::repo_files::branch(world, auth, key, name);
    reply.status = 201;
    reply
}

/// `Branches::DeleteService`: the default branch and protected branches stay (405 with
/// GitLab's messages), a missing one is 404.
pub(super) fn delete(world: &mut World, auth: &Auth, key: &str, name: &str) -> Reply {
    let index = match writable_project(world, auth, key, Role::Developer) {
        Ok(index) => index,
        Err(reply) => return reply,
    };
    let repo = &mut world.projects[index].repo;
    if !repo.branches.contains_key(name) {
        return branch_not_found();
    }
    if repo.default_branch.as_deref() == Some(name) {
        return Reply::message(405, "The default branch of a project cannot be deleted.");
    }
    if repo.branches[name].protected.is_some() {
        return Reply::message(405, "Protected branch cant be removed");
    }
    repo.branches.remove(name);
    Reply::no_content()
}
