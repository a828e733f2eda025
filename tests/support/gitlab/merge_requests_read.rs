//! Reading merge requests (`lib/api/merge_requests.rb`, `MergeRequestsFinder`): the list,
//! filtered by `state`, `source_branch`, `target_branch` and `labels` (every label given
//! must be on the merge request; `None` means none at all, `Any` at least one), newest first,
//! paged; and one by `iid`. Both need `read_merge_request` (Reporter and above in a private
//! project), else 403. The JSON is `API::Entities::MergeRequestBasic` as far as clients read
//! it, shared with the write routes (`json`).

use serde_json::{Value, json};

use super::Role;
use super::fleet_routes::project_for;
use super::model::{Auth, Project, World};
use super::paging::{self, Query};
use super::repo_model::MergeRequest;
use super::server::Reply;

/// `detailed_merge_status` as GitLab computes it for an open merge request, reduced to the
/// cases tests set up.
fn detailed_status(mr: &MergeRequest) -> &'static str {
    if mr.state != "opened" {
        "not_open"
    } else if mr.draft() {
        "draft_status"
    } else if mr.has_conflicts {
        "conflict"
    } else {
        "mergeable"
    }
}

pub(super) fn json(world: &World, project: &Project, mr: &MergeRequest) -> Value {
    json!({
        "id": mr.id,
        "iid": mr.iid,
        "project_id": project.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "draft": mr.draft(),
        "work_in_progress": mr.draft(),
        "source_branch": mr.source_branch,
        "target_branch": mr.target_branch,
        "labels": mr.labels,
        "author": { "username": mr.author },
        "has_conflicts": mr.has_conflicts,
        "detailed_merge_status": detailed_status(mr),
        "merge_status": if mr.has_conflicts { "cannot_be_merged" } else { "can_be_merged" },
        "sha": project.repo.branches.get(&mr.source_branch).map(|b| b.commit.clone()),
        "force_remove_source_branch": mr.remove_source_branch,
        "squash": mr.squash,
        "created_at": world.time(mr.created_at, true),
        "updated_at": world.time(mr.updated_at, true),
        "web_url": world.web(&format!("{}/-/merge_requests/{}", project.full_path, mr.iid)),
    })
}

fn labels_match(wanted: Option<&str>, labels: &[String]) -> bool {
    let Some(wanted) = wanted.filter(|w| !w.is_empty()) else {
        return true;
    };
    match wanted {
        "None" | "none" => labels.is_empty(),
        "Any" | "any" => !labels.is_empty(),
        _ => wanted
            .split(',')
            .map(str::trim)
            .all(|w| labels.iter().any(|l| l.eq_ignore_ascii_case(w))),
    }
}

pub(super) fn list(world: &World, auth: &Auth, key: &str, query: &Query, origin: &str) -> Reply {
    let project = match project_for(world, auth, key, Role::Reporter) {
        Ok(project) => project,
        Err(reply) => return reply,
    };
    let state = query.get("state").unwrap_or("all");
    if !["opened", "closed", "locked", "merged", "all"].contains(&state) {
        return Reply::error(400, "state does not have a valid value");
    }
    let mut found: Vec<&MergeRequest> = project
        .repo
        .merge_requests
        .iter()
        .filter(|mr| state == "all" || mr.state == state)
        .filter(|mr| {
            query
                .get("source_branch")
                .is_none_or(|b| mr.source_branch == b)
        })
        .filter(|mr| {
            query
                .get("target_branch")
                .is_none_or(|b| mr.target_branch == b)
        })
        .filter(|mr| labels_match(query.get("labels"), &mr.labels))
        .collect();
    // `order_by=created_at`, `sort=desc` by default; iids grow with creation.
    found.sort_by_key(|mr| mr.iid);
    if query.get("sort") != Some("asc") {
        found.reverse();
    }
    let items = found.iter().map(|mr| json(world, project, mr)).collect();
    let base = format!(
        "{origin}/api/v4/projects/{}/merge_requests",
        super::encode_component(key)
    );
    paging::offset(&base, query, items, world.fleet.omit_totals)
}

pub(super) fn one(world: &World, auth: &Auth, key: &str, iid: &str) -> Reply {
    let project = match project_for(world, auth, key, Role::Reporter) {
        Ok(project) => project,
        Err(reply) => return reply,
    };
    let found = iid
        .parse::<u64>()
        .ok()
        .and_then(|iid| project.repo.merge_requests.iter().find(|mr| mr.iid == iid));
    match found {
        Some(mr) => Reply::json(200, json(world, project, mr)),
        None => Reply::message(404, "404 Not found"),
    }
}
