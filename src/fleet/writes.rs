//! The GitLab calls `tfw fleet sync` writes with, over the fleet's `Api` (token in a header,
//! timeouts, 429 and 5xx handling): the head of a branch, one commit of several actions,
//! the open merge request of a branch, creating and updating it, and deleting a branch
//! again. Each failure is told in the fleet's words, with what a write adds: a protected
//! branch, a role too low to push.

use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{Api, Failure};
use super::request::Text;
use crate::backend::encode_segment;
use crate::problem::Problem;
use crate::template::fetched::{Action, Change};

/// Writes need the `api` scope (`read_api` only reads).
pub(crate) const WRITE_SCOPE: &str = "api";

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OpenMr {
    pub iid: u64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub web_url: Option<String>,
}

#[derive(Deserialize)]
struct BranchInfo {
    commit: CommitInfo,
}

#[derive(Deserialize)]
struct CommitInfo {
    id: String,
}

/// A write's failure, for people: GitLab's own reason for a 400/403/409/422 (it names the
/// protected branch or the invalid action), the fleet's wording for the rest.
pub(crate) fn problem(failure: &Failure, what: &str) -> Problem {
    let message = |body: &str| -> Option<String> {
        let value: Value = serde_json::from_str(body).ok()?;
        match &value["message"] {
            Value::String(text) => Some(text.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => None,
        }
    };
    match failure {
        Failure::Status { code: 403, body } if body.contains("not allowed to push") => {
            Problem::error(format!(
                "cannot {what}: the branch is protected against the token's user (403: You are not allowed to push into this branch)"
            ))
            .hint("let the bot push `tfw/*` branches (Settings > Repository > Protected branches), or give its user a role that may")
        }
        Failure::Status { code: 403, body } if !body.contains("insufficient_scope") => {
            Problem::error(format!(
                "cannot {what}: GitLab refused it (403 Forbidden): the token's user needs the Developer role or above in this project"
            ))
            .hint("give the token's user (or the group access token) the Developer role, or leave the project out (`--exclude`)")
        }
        Failure::Status { code, body } if matches!(code, 400 | 409 | 422) => {
            let why = message(body).unwrap_or_else(|| body.trim().to_string());
            Problem::error(format!("cannot {what}: GitLab answered {code}: {why}"))
                .hint("run the command again with `-v`; if it persists, report it with this message")
        }
        Failure::Status { code, body } if *code >= 500 => {
            let why = message(body).map(|m| format!(": {m}")).unwrap_or_default();
            Problem::error(format!("cannot {what}: GitLab answered {code}{why}"))
                .hint("GitLab failed twice (tfw retried once): run the command again later; a rerun picks up where this one stopped")
        }
        other => other.problem(what, WRITE_SCOPE),
    }
}

/// A write, tried once more after a 5xx: every write here may be repeated (the commit is
/// `force`d from the default branch, an update sets the same text, and a second create of
/// a merge request that the first made answers 409, which `deliver` turns into an update).
fn send(
    api: &Api,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<super::api::Answer, Failure> {
    match api.send(method, url, body) {
        Err(Failure::Status { code, .. }) if code >= 500 => {
            std::thread::sleep(std::time::Duration::from_millis(300));
            api.send(method, url, body)
        }
        other => other,
    }
}

fn project_url(api: &Api, project: u64, tail: &str) -> String {
    api.url(&format!("/projects/{project}/{tail}"))
}

/// The branch's head commit; `None` when there is no such branch.
pub(crate) fn branch_head(
    api: &Api,
    project: u64,
    branch: &str,
) -> Result<Option<String>, Failure> {
    let url = project_url(
        api,
        project,
        &format!("repository/branches/{}", encode_segment(branch)),
    );
    match api.get_json::<BranchInfo>(&url) {
        Ok(info) => Ok(Some(info.commit.id)),
        Err(Failure::Status { code: 404, body }) if !body.contains("Project Not Found") => Ok(None),
        Err(failure) => Err(failure),
    }
}

fn action(change: &Change) -> Value {
    let mut action = json!({ "file_path": change.path });
    let kind = match &change.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Chmod => "chmod",
        Action::Move(from) => {
            action["previous_path"] = json!(from);
            "move"
        }
    };
    action["action"] = json!(kind);
    if let Some(content) = &change.content {
        action["content"] = json!(content);
        action["encoding"] = json!("text");
    }
    if let Some(executable) = change.executable {
        action["execute_filemode"] = json!(executable);
    }
    action
}

/// One commit on `branch` from `start` (its id returned): the branch is (re)made from `start` plus this commit
/// (`force`), so a rerun replaces what an earlier run pushed instead of stacking on it.
pub(crate) fn commit(
    api: &Api,
    project: u64,
    branch: &str,
    start: &str,
    message: &str,
    changes: &[Change],
) -> Result<String, Failure> {
    let body = json!({
        "branch": branch,
        "start_branch": start,
        "force": true,
        "commit_message": message,
        "actions": changes.iter().map(action).collect::<Vec<_>>(),
    });
    let answer = send(
        api,
        "POST",
        &project_url(api, project, "repository/commits"),
        Some(&body),
    )?;
    let made: CommitInfo = super::api::parse(&answer.body)?;
    Ok(made.id)
}

/// The open merge request from `source` into `target`, if any.
pub(crate) fn open_mr(
    api: &Api,
    project: u64,
    source: &str,
    target: &str,
) -> Result<Option<OpenMr>, Failure> {
    let url = project_url(
        api,
        project,
        &format!(
            "merge_requests?state=opened&source_branch={}&target_branch={}&per_page=100",
            encode_segment(source),
            encode_segment(target)
        ),
    );
    let found: Vec<OpenMr> = api.get_all(&url)?;
    Ok(found.into_iter().max_by_key(|mr| mr.iid))
}

pub(crate) fn create_mr(
    api: &Api,
    project: u64,
    source: &str,
    target: &str,
    text: &Text,
) -> Result<OpenMr, Failure> {
    let body = json!({
        "source_branch": source,
        "target_branch": target,
        "title": text.title,
        "description": text.description,
        "remove_source_branch": true,
    });
    let answer = send(
        api,
        "POST",
        &project_url(api, project, "merge_requests"),
        Some(&body),
    )?;
    super::api::parse(&answer.body)
}

pub(crate) fn update_mr(api: &Api, project: u64, iid: u64, text: &Text) -> Result<OpenMr, Failure> {
    let body = json!({ "title": text.title, "description": text.description });
    let url = project_url(api, project, &format!("merge_requests/{iid}"));
    let answer = send(api, "PUT", &url, Some(&body))?;
    super::api::parse(&answer.body)
}

pub(crate) fn delete_branch(api: &Api, project: u64, branch: &str) -> Result<(), Failure> {
    let url = project_url(
        api,
        project,
        &format!("repository/branches/{}", encode_segment(branch)),
    );
    send(api, "DELETE", &url, None).map(|_| ())
}
