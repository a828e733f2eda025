//! The project's states from GraphQL (REST has no listing): `terraformStates` comes in pages
//! of at most 100, ordered by name, so tfw follows `pageInfo` to the end; one state is asked
//! by name (`terraformState(name:)`). Only fields GitLab's schema has are selected: an unknown
//! one fails the whole query.

use serde::Deserialize;

use super::{ApiError, ApiResult, Client, Transport};

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub(crate) struct StateInfo {
    pub name: String,
    #[serde(rename = "lockedAt")]
    pub locked_at: Option<String>,
    #[serde(rename = "lockedByUser")]
    pub locked_by: Option<UserRef>,
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
    /// Set while GitLab's worker has not yet removed a deleted state: the name is unusable.
    #[serde(rename = "deletedAt", default)]
    pub deleted_at: Option<String>,
    #[serde(rename = "latestVersion")]
    pub latest_version: Option<VersionRef>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub(crate) struct UserRef {
    pub username: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub(crate) struct VersionRef {
    pub serial: Option<u64>,
    #[serde(rename = "createdAt")]
    pub created_at: Option<String>,
    #[serde(rename = "createdByUser")]
    pub created_by: Option<UserRef>,
}

impl StateInfo {
    pub(crate) fn lock_holder(&self) -> Option<&str> {
        self.locked_by.as_ref().map(|u| u.username.as_str())
    }

    pub(crate) fn serial(&self) -> Option<u64> {
        self.latest_version.as_ref().and_then(|v| v.serial)
    }
}

const STATE_FIELDS: &str = "name lockedAt lockedByUser { username } updatedAt deletedAt latestVersion { serial createdAt createdByUser { username } }";

/// The same without `deletedAt`, which GitLab's schema has only since delayed deletion of
/// states (`types/terraform/state_type.rb`): an older GitLab fails the whole query on it, and
/// shows no state being deleted anyway.
const STATE_FIELDS_WITHOUT_DELETED_AT: &str = "name lockedAt lockedByUser { username } updatedAt latestVersion { serial createdAt createdByUser { username } }";

/// GraphQL's validation error for a field the schema does not have.
fn lacks_deleted_at(err: &ApiError) -> bool {
    matches!(err, ApiError::Transport(t) if t.detail.contains("'deletedAt' doesn't exist"))
}

/// Pages tfw follows at most (100 states each): far beyond any real project, and a server
/// that keeps saying `hasNextPage` cannot keep tfw busy forever.
const MAX_PAGES: usize = 1000;

impl Client {
    /// The project's full path (GraphQL needs it; `.env` may hold the numeric id).
    pub(crate) fn project_path(&self) -> ApiResult<String> {
        if !self.project.chars().all(|c| c.is_ascii_digit()) {
            return Ok(self.project.clone());
        }
        Ok(self.project_info()?.path_with_namespace)
    }

    fn graphql(&self, query: &str, variables: serde_json::Value) -> ApiResult<serde_json::Value> {
        self.refuse_job_token("list states with GraphQL")?;
        let body = serde_json::json!({ "query": query, "variables": variables });
        let (_, bytes) = self.call("POST", &self.graphql_url, Some(body.to_string().as_bytes()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::Transport(Transport::unreadable("GraphQL", &err)))?;
        if let Some(errors) = value.get("errors") {
            return Err(ApiError::Transport(Transport::graphql(errors.to_string())));
        }
        let project = &value["data"]["project"];
        if project.is_null() {
            // What GitLab answers for a project that does not exist and for a private one
            // the token's user is not a member of, alike.
            return Err(ApiError::Status {
                code: 404,
                body: "404 Project Not Found".into(),
            });
        }
        Ok(project.clone())
    }

    /// The state fields this GitLab's schema has: all of them, until it refused `deletedAt`.
    fn state_fields(&self) -> &'static str {
        if self.old_schema.load(std::sync::atomic::Ordering::Relaxed) {
            STATE_FIELDS_WITHOUT_DELETED_AT
        } else {
            STATE_FIELDS
        }
    }

    /// `call` with the state fields this GitLab has: once more without `deletedAt` when the
    /// schema refuses it (remembered for this client's later calls).
    fn with_state_fields<T>(&self, call: impl Fn(&str) -> ApiResult<T>) -> ApiResult<T> {
        match call(self.state_fields()) {
            Err(err) if lacks_deleted_at(&err) => {
                self.old_schema
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                call(STATE_FIELDS_WITHOUT_DELETED_AT)
            }
            other => other,
        }
    }

    /// Every state of the project, in GitLab's order (by name), all pages.
    pub(crate) fn list_states(&self) -> ApiResult<Vec<StateInfo>> {
        self.refuse_job_token("list states with GraphQL")?;
        let full_path = self.project_path()?;
        self.with_state_fields(|fields| self.list_states_with(&full_path, fields))
    }

    fn list_states_with(&self, full_path: &str, fields: &str) -> ApiResult<Vec<StateInfo>> {
        let query = format!(
            "query($fullPath: ID!, $after: String) {{ project(fullPath: $fullPath) {{ terraformStates(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {fields} }} }} }} }}"
        );
        let mut states = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let project = self.graphql(
                &query,
                serde_json::json!({ "fullPath": full_path, "after": after }),
            )?;
            let connection = &project["terraformStates"];
            let page: Vec<StateInfo> = serde_json::from_value(connection["nodes"].clone())
                .map_err(|err| ApiError::Transport(Transport::unreadable("GraphQL", &err)))?;
            states.extend(page);
            let info = &connection["pageInfo"];
            match info["endCursor"].as_str() {
                Some(cursor) if info["hasNextPage"] == true => after = Some(cursor.to_string()),
                _ => return Ok(states),
            }
        }
        Ok(states)
    }

    /// One state's record, `None` when GitLab has no state of that name.
    pub(crate) fn state_info(&self, name: &str) -> ApiResult<Option<StateInfo>> {
        self.refuse_job_token("read states with GraphQL")?;
        let full_path = self.project_path()?;
        let project = self.with_state_fields(|fields| {
            let query = format!(
                "query($fullPath: ID!, $name: String!) {{ project(fullPath: $fullPath) {{ terraformState(name: $name) {{ {fields} }} }} }}"
            );
            self.graphql(
                &query,
                serde_json::json!({ "fullPath": full_path, "name": name }),
            )
        })?;
        let state = &project["terraformState"];
        if state.is_null() {
            return Ok(None);
        }
        serde_json::from_value(state.clone())
            .map(Some)
            .map_err(|err| ApiError::Transport(Transport::unreadable("GraphQL", &err)))
    }
}
