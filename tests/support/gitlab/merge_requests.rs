//! Writing `/projects/:id/merge_requests` (`lib/api/merge_requests.rb`): create and update
//! (the listing is `merge_requests_read.rs`), with `MergeRequest#validate_branches`
//! (`app/models/merge_request.rb`: one open merge request per source and target branch, the
//! second refused with 409 and GitLab's message) and drafts read from the title prefix
//! (`MergeRequest::DRAFT_REGEX`), as GitLab has no separate draft flag to set.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::merge_requests_read::json as mr_json;

use super::Role;
use super::branches::{param, writable_project};
use super::model::{Auth, World};
use super::repo_model::MergeRequest as MergeRequestRec;
use super::server::Reply;

fn flag(params: &Map<String, Value>, key: &str) -> Option<bool> {
    match params.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(s == "true"),
        _ => None,
    }
}

/// `labels` as a comma-separated string or an array.
fn labels(params: &Map<String, Value>) -> Option<Vec<String>> {
    match params.get("labels")? {
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

fn mr_not_found() -> Reply {
    Reply::message(404, "404 Merge Request Not Found")
}

/// The message list of `handle_merge_request_errors!`: 422 for the unprocessable keys
/// (`branch_conflict`, `base`), 409 for `validate_branches`.
fn errors(status: u16, message: String) -> Reply {
    Reply::json(status, json!({ "message": [message] }))
}

/// `MergeRequest#validate_branches` for an open merge request.
fn validate(world: &World, index: usize, mr: &MergeRequestRec) -> Result<(), Reply> {
    let project = &world.projects[index];
    if mr.state != "opened" {
        return Ok(());
    }
    if mr.source_branch == mr.target_branch {
        return Err(errors(
            422,
            "You can't use same project/branch for source and target".into(),
        ));
    }
    // `MergeRequests::BuildService`: both branches must exist.
    for (what, branch) in [("Source", &mr.source_branch), ("Target", &mr.target_branch)] {
        if !project.repo.branches.contains_key(branch) {
            return Err(errors(
                422,
                format!("{what} branch \"{branch}\" does not exist"),
            ));
        }
    }
    let similar = project.repo.merge_requests.iter().find(|other| {
        other.iid != mr.iid
            && other.state == "opened"
            && other.source_branch == mr.source_branch
            && other.target_branch == mr.target_branch
    });
    match similar {
        Some(other) => Err(errors(
            409,
            format!(
                "Another open merge request already exists for this source branch: !{}",
                other.iid
            ),
        )),
        _ => Ok(()),
    }
}

/// `POST /merge_requests`.
pub(super) fn create(
    world: &mut World,
    auth: &Auth,
    key: &str,
    params: &Map<String, Value>,
) -> Reply {
    // `create_merge_request_from` needs push access to the source: Developer+.
    let index = match writable_project(world, auth, key, Role::Developer) {
        Ok(index) => index,
        Err(reply) => return reply,
    };
    for required in ["source_branch", "target_branch", "title"] {
        if param(params, required).is_none_or(str::is_empty) {
            return Reply::error(400, &format!("{required} is missing"));
        }
    }
    let id = world.id();
    let project = &world.projects[index];
    let iid = project
        .repo
        .merge_requests
        .iter()
        .map(|mr| mr.iid)
        .max()
        .unwrap_or(0)
        + 1;
    let mr = MergeRequestRec {
        id,
        iid,
        source_branch: param(params, "source_branch").unwrap_or_default().into(),
        target_branch: param(params, "target_branch").unwrap_or_default().into(),
        title: param(params, "title").unwrap_or_default().into(),
        description: param(params, "description").unwrap_or_default().into(),
        labels: labels(params).unwrap_or_default(),
        state: "opened".into(),
        author: auth.username().unwrap_or_default(),
        remove_source_branch: flag(params, "remove_source_branch").unwrap_or(false),
        squash: flag(params, "squash").unwrap_or(false),
        has_conflicts: false,
        created_at: SystemTime::now(),
        updated_at: SystemTime::now(),
    };
    if let Err(reply) = validate(world, index, &mr) {
        return reply;
    }
    let reply = Reply::json(201, mr_json(world, &world.projects[index], &mr));
    world.projects[index].repo.merge_requests.push(mr);
    reply
}

const UPDATABLE: [&str; 7] = [
    "title",
    "description",
    "labels",
    "state_event",
    "target_branch",
    "remove_source_branch",
    "squash",
];

/// `PUT /merge_requests/:iid`.
pub(super) fn update(
    world: &mut World,
    auth: &Auth,
    key: &str,
    iid: &str,
    params: &Map<String, Value>,
) -> Reply {
    // `update_merge_request`: Developer+ here (GitLab also lets the author, not modelled).
    let index = match writable_project(world, auth, key, Role::Developer) {
        Ok(index) => index,
        Err(reply) => return reply,
    };
    // Grape's `at_least_one_of`.
    if !UPDATABLE.iter().any(|k| params.contains_key(*k)) {
        return Reply::error(
            400,
            &format!(
                "{} are missing, at least one parameter must be provided",
                UPDATABLE.join(", ")
            ),
        );
    }
    let project = &world.projects[index];
    let Some(position) = project
        .repo
        .merge_requests
        .iter()
        .position(|mr| mr.iid.to_string() == iid)
    else {
        return mr_not_found();
    };
    let mut mr = project.repo.merge_requests[position].clone();
    if let Some(title) = param(params, "title").filter(|t| !t.is_empty()) {
        mr.title = title.into();
    }
    if let Some(description) = param(params, "description") {
        mr.description = description.into();
    }
    if let Some(labels) = labels(params) {
        mr.labels = labels;
    }
    if let Some(target) = param(params, "target_branch") {
        mr.target_branch = target.into();
    }
    if let Some(remove) = flag(params, "remove_source_branch") {
        mr.remove_source_branch = remove;
    }
    if let Some(squash) = flag(params, "squash") {
        mr.squash = squash;
    }
    match (param(params, "state_event"), mr.state.as_str()) {
        (Some("close"), "opened") => mr.state = "closed".into(),
        (Some("reopen"), "closed") => mr.state = "opened".into(),
        _ => {}
    }
    mr.updated_at = SystemTime::now();
    if let Err(reply) = validate(world, index, &mr) {
        return reply;
    }
    let reply = Reply::json(200, mr_json(world, &world.projects[index], &mr));
    world.projects[index].repo.merge_requests[position] = mr;
    reply
}
