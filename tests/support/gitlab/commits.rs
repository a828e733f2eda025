//! `POST /projects/:id/repository/commits` (`lib/api/commits.rb`): several file actions as
//! one commit, checked in the order of `Commits::CreateService#validate!` and
//! `Files::MultiService#validate` (`app/services/commits/create_service.rb`,
//! `app/services/files/multi_service.rb`), with the messages Gitaly gives for an invalid
//! action (`UserCommitFiles`' index errors: "A file with this name already exists"...).

use serde_json::{Map, Value, json};

use super::Role;
use super::branches::{can_push, text, writable_project};
use super::http::base64_decode;
use super::model::{Auth, World};
use super::repo_model::{Branch, FileMode, RepoFile};
use super::server::Reply;

type Tree = std::collections::BTreeMap<String, RepoFile>;

const ACTIONS: [&str; 5] = ["create", "update", "delete", "move", "chmod"];

/// Grape's own validation of the declared params (`requires`, `values:`), answered before
/// any service runs, in its `{"error": ...}` shape.
fn declared(params: &Map<String, Value>) -> Result<&Vec<Value>, Reply> {
    for key in ["branch", "commit_message"] {
        if text(params, key).is_none() {
            return Err(Reply::error(400, &format!("{key} is missing")));
        }
    }
    let Some(actions) = params.get("actions").and_then(Value::as_array) else {
        return Err(Reply::error(400, "actions is missing"));
    };
    for (i, action) in actions.iter().enumerate() {
        let kind = action.get("action").and_then(Value::as_str).unwrap_or("");
        if !ACTIONS.contains(&kind) {
            return Err(Reply::error(
                400,
                &format!("actions[{i}][action] does not have a valid value"),
            ));
        }
        if action
            .get("file_path")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(Reply::error(
                400,
                &format!("actions[{i}][file_path] is missing"),
            ));
        }
    }
    Ok(actions)
}

fn refused(message: &str) -> Reply {
    Reply::message(400, message)
}

/// The content an action carries, decoded (`encoding: base64` or the default `text`).
fn content(action: &Value) -> Result<Option<Vec<u8>>, Reply> {
    let Some(content) = action.get("content").and_then(Value::as_str) else {
        return Ok(None);
    };
    match action.get("encoding").and_then(Value::as_str) {
        Some("base64") => base64_decode(content)
            .map(Some)
            .ok_or_else(|| refused("Invalid Base64 content")),
        _ => Ok(Some(content.as_bytes().to_vec())),
    }
}

/// `Gitlab::Regex.directory_traversal_regex`.
fn check_path(path: &str) -> Result<(), Reply> {
    if path.split('/').any(|part| part == "..") || path.starts_with('/') {
        return Err(refused(&format!(
            "Your changes could not be committed, because the file name, `{path}` cannot include directory traversal."
        )));
    }
    Ok(())
}

fn mode_for(action: &Value, old: Option<&RepoFile>) -> FileMode {
    match action.get("execute_filemode").and_then(Value::as_bool) {
        Some(true) => FileMode::Executable,
        Some(false) => FileMode::Regular,
        None => old.map_or(FileMode::Regular, |f| f.mode),
    }
}

fn file(content: Vec<u8>, mode: FileMode, commit: &str) -> RepoFile {
    RepoFile {
        content,
        mode,
        last_commit_id: commit.to_string(),
    }
}

/// Applies the actions to `tree` in order, as one index update; what changes is marked as
/// last changed by `commit`.
fn apply(tree: &mut Tree, actions: &[Value], commit: &str) -> Result<(), Reply> {
    for action in actions {
        let kind = action["action"].as_str().unwrap_or("");
        let path = action["file_path"].as_str().unwrap_or("").to_string();
        check_path(&path)?;
        // `validate_update`: the file changed since the client read it.
        if let Some(expected) = action.get("last_commit_id").and_then(Value::as_str)
            && matches!(kind, "update" | "delete" | "move")
            && tree
                .get(&path)
                .is_some_and(|f| f.last_commit_id != expected)
        {
            return Err(refused(&format!(
                "You are attempting to update a file `{path}` that has changed since you started editing it."
            )));
        }
        let exists = |tree: &Tree, p: &str| tree.contains_key(p);
        match kind {
            "create" => {
                if exists(tree, &path) {
                    return Err(refused("A file with this name already exists"));
                }
                let bytes = content(action)?.unwrap_or_default();
                tree.insert(path, file(bytes, mode_for(action, None), commit));
            }
            "update" => {
                let Some(old) = tree.get(&path).cloned() else {
                    return Err(refused("A file with this name doesn't exist"));
                };
                let bytes = content(action)?.unwrap_or_default();
                tree.insert(path, file(bytes, mode_for(action, Some(&old)), commit));
            }
            "delete" => {
                if tree.remove(&path).is_none() {
                    return Err(refused("A file with this name doesn't exist"));
                }
            }
            "move" => {
                let Some(previous) = action.get("previous_path").and_then(Value::as_str) else {
                    return Err(refused(&format!(
                        "You must supply the original file path when moving file `{path}`."
                    )));
                };
                check_path(previous)?;
                if exists(tree, &path) {
                    return Err(refused("A file with this name already exists"));
                }
                let Some(old) = tree.remove(previous) else {
                    return Err(refused("A file with this name doesn't exist"));
                };
                // No content: the file moves as it is.
                let bytes = content(action)?.unwrap_or(old.content.clone());
                tree.insert(path, file(bytes, mode_for(action, Some(&old)), commit));
            }
            _ => {
                let Some(found) = tree.get_mut(&path) else {
                    return Err(refused("A file with this name doesn't exist"));
                };
                found.mode = mode_for(action, Some(found));
                found.last_commit_id = commit.to_string();
            }
        }
    }
    Ok(())
}

pub(super) fn create(
    world: &mut World,
    auth: &Auth,
    key: &str,
    params: &Map<String, Value>,
) -> Reply {
    // `authorize! :push_code`: Developer+.
    let index = match writable_project(world, auth, key, Role::Developer) {
        Ok(index) => index,
        Err(reply) => return reply,
    };
    let actions = match declared(params) {
        Ok(actions) => actions.clone(),
        Err(reply) => return reply,
    };
    let branch = text(params, "branch").unwrap_or_default().to_string();
    let message = text(params, "commit_message")
        .unwrap_or_default()
        .to_string();
    // `attrs[:start_branch] ||= attrs[:branch_name]`.
    let start = text(params, "start_branch").unwrap_or(&branch).to_string();
    let force = params
        .get("force")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || text(params, "force") == Some("true");
    let role = world.role_in(auth, &world.projects[index]);
    let repo = &world.projects[index].repo;
    // `validate_permissions!`: the protected branch's push rule, whoever the token is.
    if !can_push(repo.branches.get(&branch), role) {
        return Reply::message(
            403,
            "403 Forbidden - You are not allowed to push into this branch",
        );
    }
    // `validate_on_branch!`.
    if !repo.is_empty() && !repo.branches.contains_key(&start) {
        return refused("You can only create or edit files when you are on a branch");
    }
    // `validate_new_branch_name!` (only when committing to a branch other than the start).
    if branch != start && repo.branches.contains_key(&branch) && !force {
        return refused(&format!(
            "A branch called '{branch}' already exists. Switch to that branch in order to make changes"
        ));
    }
    let parent = repo.branches.get(&start).map(|b| b.commit.clone());
    let mut tree = repo
        .branches
        .get(&start)
        .map(|b| b.files.clone())
        .unwrap_or_default();
    let protected = repo.branches.get(&branch).and_then(|b| b.protected);
    let id = world.new_commit_id();
    if let Err(reply) = apply(&mut tree, &actions, &id) {
        return reply;
    }
    let project = &mut world.projects[index];
    project.repo.branches.insert(
        branch.clone(),
        Branch {
            commit: id.clone(),
            files: tree,
            protected,
        },
    );
    if project.repo.default_branch.is_none() {
        project.repo.default_branch = Some(branch);
    }
    let title = message.lines().next().unwrap_or("").to_string();
    let now = world.time(std::time::SystemTime::now(), true);
    let project = &world.projects[index];
    // `API::Entities::CommitDetail`.
    Reply::json(
        201,
        json!({
            "id": id,
            "short_id": &id[..8],
            "title": title,
            "message": message,
            "parent_ids": parent.into_iter().collect::<Vec<_>>(),
            "author_name": auth.username(),
            "committer_name": auth.username(),
            "created_at": now,
            "committed_date": now,
            "project_id": project.id,
            "status": null,
            "stats": { "additions": 0, "deletions": 0, "total": 0 },
            "web_url": world.web(&format!("{}/-/commit/{id}", project.full_path)),
        }),
    )
}
