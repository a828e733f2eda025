//! Every locked state of a project or of a whole group, from GraphQL (REST cannot list
//! states, and neither Terraform nor OpenTofu can list locks). Both levels are paged (100
//! projects, 100 states). GitLab answers a failure inside one project with `data` for the
//! others and an error whose `path` names that project: it becomes a `Gap`, not a failure of
//! the whole listing. The lock itself records only who and when; the CI job comes from the
//! latest version (GitLab records the job of a job-token write).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Client, Transport, UserRef};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub(crate) struct Pipeline {
    pub id: Option<String>,
    pub status: Option<String>,
    #[serde(rename = "finishedAt")]
    pub finished_at: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub(crate) struct Job {
    pub id: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    #[serde(rename = "webPath")]
    pub web_path: Option<String>,
    pub pipeline: Option<Pipeline>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct LatestVersion {
    pub serial: Option<u64>,
    #[serde(rename = "createdAt")]
    pub created_at: Option<String>,
    #[serde(rename = "createdByUser")]
    pub created_by: Option<UserRef>,
    pub job: Option<Job>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct LockedNode {
    pub name: String,
    #[serde(rename = "lockedAt")]
    pub locked_at: Option<String>,
    #[serde(rename = "lockedByUser")]
    pub locked_by: Option<UserRef>,
    #[serde(rename = "latestVersion")]
    pub latest_version: Option<LatestVersion>,
}

/// A locked state and the project it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LockedState {
    pub project: String,
    pub state: LockedNode,
}

/// A project whose states could not be listed, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gap {
    pub project: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub(crate) struct Locks {
    pub locked: Vec<LockedState>,
    pub gaps: Vec<Gap>,
    /// Projects whose states were listed.
    pub projects: usize,
    /// The project's or the group's full path.
    pub path: String,
}

const NODE: &str = "name lockedAt lockedByUser { username } latestVersion { serial createdAt createdByUser { username } job { id name status webPath pipeline { id status finishedAt path } } }";
const MAX_PAGES: usize = 1000;

impl Client {
    /// The locked states of the backend's project, or of every project in `group`
    /// (subgroups included).
    pub(crate) fn locked_states(&self, group: Option<&str>) -> ApiResult<Locks> {
        self.refuse_job_token("list locks with GraphQL")?;
        let mut locks = Locks::default();
        match group {
            None => {
                let path = self.project_path()?;
                locks.projects = 1;
                locks.path = path.clone();
                self.project_pages(&path, None, &mut locks)?;
            }
            Some(group) => {
                locks.path = group.to_string();
                self.group_pages(group, &mut locks)?
            }
        }
        Ok(locks)
    }

    /// One GraphQL call: `data`, and the errors that came with it (those with a `path`
    /// leave the rest of `data` usable; any other error fails the call).
    fn graphql_partial(&self, query: &str, variables: Value) -> ApiResult<(Value, Vec<Value>)> {
        let body = json!({ "query": query, "variables": variables });
        let (_, bytes) = self.call("POST", &self.graphql_url, Some(body.to_string().as_bytes()))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::Transport(Transport::unreadable("GraphQL", &err)))?;
        let errors = value["errors"].as_array().cloned().unwrap_or_default();
        let data = value.get("data").cloned().unwrap_or(Value::Null);
        if data.is_null() || errors.iter().any(|e| e.get("path").is_none()) {
            if let Some(first) = errors.first() {
                return Err(ApiError::Transport(Transport::graphql(message(first))));
            }
        }
        Ok((data, errors))
    }

    fn project_pages(
        &self,
        path: &str,
        mut after: Option<String>,
        locks: &mut Locks,
    ) -> ApiResult<()> {
        let query = format!(
            "query($fullPath: ID!, $after: String) {{ project(fullPath: $fullPath) {{ terraformStates(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {NODE} }} }} }} }}"
        );
        for _ in 0..MAX_PAGES {
            let (data, errors) =
                self.graphql_partial(&query, json!({ "fullPath": path, "after": after }))?;
            let project = &data["project"];
            if let Some(error) = errors.first() {
                locks.gaps.push(Gap {
                    project: path.to_string(),
                    reason: format!("GraphQL error: {}", message(error)),
                });
                return Ok(());
            }
            if project.is_null() {
                if after.is_none() {
                    // What GitLab answers for a missing project and a private one alike.
                    return Err(ApiError::Status {
                        code: 404,
                        body: "404 Project Not Found".into(),
                    });
                }
                locks.gaps.push(Gap {
                    project: path.to_string(),
                    reason: "GitLab stopped showing the project while its states were paged".into(),
                });
                return Ok(());
            }
            match read_connection(path, &project["terraformStates"], locks) {
                Some(cursor) => after = Some(cursor),
                None => return Ok(()),
            }
        }
        Ok(())
    }

    fn group_pages(&self, group: &str, locks: &mut Locks) -> ApiResult<()> {
        let query = format!(
            "query($fullPath: ID!, $after: String) {{ group(fullPath: $fullPath) {{ projects(includeSubgroups: true, first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ fullPath terraformStates(first: 100) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {NODE} }} }} }} }} }} }}"
        );
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (data, errors) =
                self.graphql_partial(&query, json!({ "fullPath": group, "after": after }))?;
            let connection = &data["group"]["projects"];
            if data["group"].is_null() {
                return Err(ApiError::Status {
                    code: 404,
                    body: "404 Group Not Found".into(),
                });
            }
            let nodes = connection["nodes"].as_array().cloned().unwrap_or_default();
            for (index, node) in nodes.iter().enumerate() {
                let path = node["fullPath"].as_str().unwrap_or("?").to_string();
                // ["group", "projects", "nodes", index, ...]
                let error = errors
                    .iter()
                    .find(|e| e["path"].get(3).and_then(Value::as_u64) == Some(index as u64));
                if let Some(error) = error {
                    locks.gaps.push(Gap {
                        project: path,
                        reason: format!("GraphQL error: {}", message(error)),
                    });
                    continue;
                }
                locks.projects += 1;
                if let Some(cursor) = read_connection(&path, &node["terraformStates"], locks) {
                    self.project_pages(&path, Some(cursor), locks)?;
                }
            }
            let info = &connection["pageInfo"];
            match info["endCursor"].as_str() {
                Some(cursor) if info["hasNextPage"] == true => after = Some(cursor.to_string()),
                _ => return Ok(()),
            }
        }
        Ok(())
    }
}

/// Keeps the locked nodes of one page; the cursor of the next page, if there is one.
fn read_connection(project: &str, connection: &Value, locks: &mut Locks) -> Option<String> {
    for node in connection["nodes"].as_array().into_iter().flatten() {
        match serde_json::from_value::<LockedNode>(node.clone()) {
            Ok(state) if state.locked_at.is_some() || state.locked_by.is_some() => {
                locks.locked.push(LockedState {
                    project: project.to_string(),
                    state,
                });
            }
            Ok(_) => {}
            Err(err) => locks.gaps.push(Gap {
                project: project.to_string(),
                reason: format!("unexpected GraphQL answer: {err}"),
            }),
        }
    }
    let info = &connection["pageInfo"];
    match info["endCursor"].as_str() {
        Some(cursor) if info["hasNextPage"] == true => Some(cursor.to_string()),
        _ => None,
    }
}

fn message(error: &Value) -> String {
    error["message"]
        .as_str()
        .map_or_else(|| error.to_string(), str::to_string)
}
