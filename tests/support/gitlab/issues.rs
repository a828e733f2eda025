//! The project issues routes `tfw drift --issues` uses, as GitLab's `lib/api/issues.rb`
//! answers them (`/work/shared/reference/gitlab-fleet-api.md`, "Issues"):
//!
//! - `GET /projects/:id/issues`: `state` (`opened`, `closed`, `all`; default `all`), `labels`
//!   (comma-separated, an issue must carry every one: `IssuableFinder#by_label`), `search`
//!   (`Issuable.full_search` over title and description with `Gitlab::SQL::Pattern`'s fuzzy
//!   rules: every word of 3+ characters as a case-insensitive substring, else the whole
//!   query as an exact case-insensitive match), newest first by `created_at` unless
//!   `sort=asc`, paged like every offset listing (`lib/api/helpers/pagination.rb`).
//! - `POST /projects/:id/issues`: `title` required (400 `title is missing`, 255 characters at
//!   most: `Issue` validation), `description`, `labels`; 201 with `Entities::Issue`. Labels
//!   stick only for Reporters and up (`IssuableBaseService#filter_params`:
//!   `set_issue_metadata`), and a label the project lacks is created on the way
//!   (`Labels::FindOrCreateService`).
//! - `PUT /projects/:id/issues/:iid`: `description`, `title`, `labels`, `state_event`
//!   (`close`, `reopen`; another value is 400), at least one of them (400); 404 for an iid
//!   the project has not; `update_issue` is Reporter+ or the issue's author (`IssuePolicy`).
//!
//! Auth, per route (`before { authenticate_non_get! }`, `API::APIGuard`, `find_project!`):
//! personal tokens only (`World::authenticate` with `Accepts::Rest`: a job token is
//! anonymous or invalid here); an anonymous write is 401; a non-member sees no project
//! (404); a `read_api` token may list but a write is 403 `insufficient_scope`; an archived
//! project refuses writes (403, `ProjectPolicy`).

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::model::{Auth, World};
use super::rest::{member_project, paged};
use super::server::Reply;
use super::state_api::parse_form;
use super::{GitLab, Role};

/// One issue as the server keeps it.
pub(super) struct IssueRec {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub description: Option<String>,
    /// `opened` or `closed`.
    pub state: String,
    pub labels: Vec<String>,
    pub author: String,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub closed_at: Option<SystemTime>,
}

/// An issue as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueView {
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub state: String,
    pub labels: Vec<String>,
    pub author: String,
}

/// Parameters from the query string and the body (JSON or form), as Grape merges them.
fn params(query: &str, body: &[u8]) -> Map<String, Value> {
    let mut params: Map<String, Value> = parse_form(query)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => params.extend(object),
        _ => params.extend(
            parse_form(&String::from_utf8_lossy(body))
                .into_iter()
                .map(|(k, v)| (k, Value::String(v))),
        ),
    }
    params
}

/// `CommaSeparatedToArray`: a string split on commas, or an array as it is.
fn label_list(value: Option<&Value>) -> Vec<String> {
    let items: Vec<String> = match value {
        Some(Value::String(text)) => text.split(',').map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    items
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// `Gitlab::SQL::Pattern.fuzzy_search` on one column.
fn fuzzy_match(column: &str, query: &str) -> bool {
    let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if query.is_empty() {
        return true;
    }
    let column = column.to_lowercase();
    let words: Vec<String> = query
        .split(' ')
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        column == query.to_lowercase()
    } else {
        words.iter().all(|w| column.contains(w.as_str()))
    }
}

fn entity(world: &World, project: &super::model::Project, issue: &IssueRec) -> Value {
    json!({
        "id": issue.id,
        "iid": issue.iid,
        "project_id": project.id,
        "title": issue.title,
        "description": issue.description,
        "state": issue.state,
        "created_at": world.time(issue.created_at, true),
        "updated_at": world.time(issue.updated_at, true),
        "closed_at": issue.closed_at.map(|t| world.time(t, true)),
        "labels": issue.labels,
        "author": { "username": issue.author },
        "web_url": world.web(&format!("{}/-/issues/{}", project.full_path, issue.iid)),
    })
}

pub(super) fn list(world: &World, auth: &Auth, key: &str, query: &str) -> Reply {
    let (project, _) = match member_project(world, auth, key) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let params = params(query, b"");
    let text = |k: &str| params.get(k).and_then(Value::as_str).unwrap_or("");
    let state = match text("state") {
        "" | "all" => None,
        s @ ("opened" | "closed") => Some(s),
        _ => return Reply::error(400, "state does not have a valid value"),
    };
    let labels = label_list(params.get("labels"));
    let search = text("search");
    let mut found: Vec<&IssueRec> = project
        .issues
        .iter()
        .filter(|i| state.is_none_or(|s| i.state == s))
        .filter(|i| labels.iter().all(|l| i.labels.contains(l)))
        .filter(|i| {
            fuzzy_match(&i.title, search)
                || fuzzy_match(i.description.as_deref().unwrap_or(""), search)
        })
        .collect();
    found.sort_by_key(|i| (i.created_at, i.iid));
    if text("sort") != "asc" {
        found.reverse();
    }
    let items = found.iter().map(|i| entity(world, project, i)).collect();
    paged(
        &format!("/api/v4/projects/{}/issues", project.id),
        query,
        items,
        true,
    )
}

/// The project and the caller's role, for a write.
fn writer<'w>(
    world: &'w World,
    auth: &Auth,
    key: &str,
) -> Result<(&'w super::model::Project, Role), Reply> {
    if matches!(auth, Auth::Anonymous) {
        return Err(Reply::unauthorized(None));
    }
    let (project, role) = member_project(world, auth, key)?;
    if !auth.can_write() {
        return Err(Reply::insufficient_scope("api"));
    }
    if project.archived {
        return Err(Reply::forbidden());
    }
    Ok((project, role))
}

pub(super) fn create(world: &mut World, auth: &Auth, key: &str, query: &str, body: &[u8]) -> Reply {
    let role = match writer(world, auth, key) {
        Ok((_, role)) => role,
        Err(reply) => return reply,
    };
    let params = params(query, body);
    let Some(title) = params.get("title").and_then(Value::as_str) else {
        return Reply::error(400, "title is missing");
    };
    if title.chars().count() > 255 {
        return Reply::json(
            400,
            json!({ "message": { "title": ["is too long (maximum is 255 characters)"] } }),
        );
    }
    let labels = if role >= Role::Reporter {
        label_list(params.get("labels"))
    } else {
        Vec::new()
    };
    let id = world.id();
    let now = SystemTime::now();
    let index = world.project_index(key).expect("found above");
    let project = &mut world.projects[index];
    let iid = project.issues.iter().map(|i| i.iid).max().unwrap_or(0) + 1;
    project.issues.push(IssueRec {
        id,
        iid,
        title: title.to_string(),
        description: params
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        state: "opened".into(),
        labels,
        author: auth.username().unwrap_or_default(),
        created_at: now,
        updated_at: now,
        closed_at: None,
    });
    let project = &world.projects[index];
    Reply::json(201, entity(world, project, project.issues.last().unwrap()))
}

pub(super) fn update(
    world: &mut World,
    auth: &Auth,
    key: &str,
    iid: &str,
    query: &str,
    body: &[u8],
) -> Reply {
    let role = match writer(world, auth, key) {
        Ok((_, role)) => role,
        Err(reply) => return reply,
    };
    let params = params(query, body);
    let index = world.project_index(key).expect("found above");
    let Some(at) = world.projects[index]
        .issues
        .iter()
        .position(|i| Some(i.iid) == iid.parse().ok())
    else {
        return Reply::message(404, "404 Not found");
    };
    let author = auth.username().unwrap_or_default();
    if role < Role::Reporter && world.projects[index].issues[at].author != author {
        return Reply::forbidden();
    }
    let event = params.get("state_event").and_then(Value::as_str);
    if event.is_some_and(|e| e != "close" && e != "reopen") {
        return Reply::error(400, "state_event does not have a valid value");
    }
    if !["title", "description", "labels", "state_event"]
        .iter()
        .any(|k| params.contains_key(*k))
    {
        return Reply::error(
            400,
            "title, description, labels, state_event are missing, at least one parameter must be provided",
        );
    }
    let now = SystemTime::now();
    let issue = &mut world.projects[index].issues[at];
    if let Some(title) = params.get("title").and_then(Value::as_str) {
        issue.title = title.to_string();
    }
    if let Some(description) = params.get("description").and_then(Value::as_str) {
        issue.description = Some(description.to_string());
    }
    if params.contains_key("labels") && role >= Role::Reporter {
        issue.labels = label_list(params.get("labels"));
    }
    match event {
        Some("close") if issue.state == "opened" => {
            issue.state = "closed".into();
            issue.closed_at = Some(now);
        }
        Some("reopen") if issue.state == "closed" => {
            issue.state = "opened".into();
            issue.closed_at = None;
        }
        _ => {}
    }
    issue.updated_at = now;
    let project = &world.projects[index];
    Reply::json(200, entity(world, project, &project.issues[at]))
}

impl GitLab {
    /// The project's issues, oldest first.
    pub fn issues(&self, project: &str) -> Vec<IssueView> {
        let world = self.shared.world();
        world
            .project(project)
            .issues
            .iter()
            .map(|i| IssueView {
                iid: i.iid,
                title: i.title.clone(),
                description: i.description.clone().unwrap_or_default(),
                state: i.state.clone(),
                labels: i.labels.clone(),
                author: i.author.clone(),
            })
            .collect()
    }

    /// An issue written by `author` (as if through the web page); returns its iid.
    pub fn add_issue(
        &self,
        project: &str,
        author: &str,
        title: &str,
        description: &str,
        labels: &[&str],
    ) -> u64 {
        let mut world = self.shared.world();
        let id = world.id();
        let now = SystemTime::now();
        let project = world.project_mut(project);
        let iid = project.issues.iter().map(|i| i.iid).max().unwrap_or(0) + 1;
        project.issues.push(IssueRec {
            id,
            iid,
            title: title.to_string(),
            description: Some(description.to_string()),
            state: "opened".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            author: author.to_string(),
            created_at: now,
            updated_at: now,
            closed_at: None,
        });
        iid
    }

    /// Closes or reopens an issue (as someone would in the web page).
    pub fn set_issue_state(&self, project: &str, iid: u64, state: &str) {
        let mut world = self.shared.world();
        if let Some(issue) = world
            .project_mut(project)
            .issues
            .iter_mut()
            .find(|i| i.iid == iid)
        {
            issue.state = state.to_string();
            issue.closed_at = (state == "closed").then(SystemTime::now);
        }
    }
}
