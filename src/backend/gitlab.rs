//! tfw's own calls to GitLab (lock holders, backups, listing and managing states), with the
//! same credentials terraform gets. Each failure becomes a message about its cause: 401 is
//! the token, 403 the role, 404 the project or state. One retry on 5xx; bounded timeouts.

use std::io::Read;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use super::{Backend, encode_segment};
use crate::problem::Problem;

pub struct Client {
    agent: ureq::Agent,
    api_url: String,
    graphql_url: String,
    project: String,
    /// Basic auth: what GitLab accepts on the Terraform state routes (as terraform sends it).
    auth: String,
    /// The token alone, for the routes that do not take basic auth (see `auth_for`).
    token: String,
    username: String,
}

/// What GitLab answered with, when it was not a success.
#[derive(Debug)]
pub enum ApiError {
    Status { code: u16, body: String },
    Transport(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct StateInfo {
    pub name: String,
    #[serde(rename = "lockedAt")]
    pub locked_at: Option<String>,
    #[serde(rename = "lockedByUser")]
    pub locked_by: Option<UserRef>,
    #[serde(rename = "updatedAt")]
    pub updated_at: Option<String>,
    #[serde(rename = "latestVersion")]
    pub latest_version: Option<VersionRef>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct UserRef {
    pub username: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct VersionRef {
    pub serial: Option<u64>,
    #[serde(rename = "createdAt")]
    pub created_at: Option<String>,
    #[serde(rename = "createdByUser")]
    pub created_by: Option<UserRef>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Member {
    pub username: String,
    /// `active` for a working account; `blocked`, `deactivated`... for people who left.
    #[serde(default)]
    pub state: Option<String>,
}

impl StateInfo {
    pub fn lock_holder(&self) -> Option<&str> {
        self.locked_by.as_ref().map(|u| u.username.as_str())
    }

    pub fn serial(&self) -> Option<u64> {
        self.latest_version.as_ref().and_then(|v| v.serial)
    }
}

const STATES_QUERY: &str = "query($fullPath: ID!) { project(fullPath: $fullPath) { terraformStates { nodes { name lockedAt lockedByUser { username } updatedAt latestVersion { serial createdAt createdByUser { username } job { name } } } } } }";

fn timeout() -> Duration {
    let seconds = std::env::var("TFW_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(seconds)
}

impl Client {
    pub fn new(backend: &Backend) -> Self {
        Self::with_timeout(backend, timeout())
    }

    /// A client with a shorter deadline, for callers that must stay fast (shell completion).
    pub fn with_timeout(backend: &Backend, timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("tfw/", env!("CARGO_PKG_VERSION")))
            .build();
        let credentials = format!("{}:{}", backend.username.value, backend.password.value);
        Self {
            agent,
            api_url: backend.api_url.clone(),
            graphql_url: format!("{}/api/graphql", backend.gitlab_root()),
            project: backend.project.clone(),
            auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            ),
            token: backend.password.value.clone(),
            username: backend.username.value.clone(),
        }
    }

    /// GitLab takes basic auth only on the Terraform state API. Its other REST routes want
    /// `PRIVATE-TOKEN` (or `JOB-TOKEN` for CI's job token) and GraphQL a bearer token, so
    /// each call carries the header its route understands.
    fn auth_for(&self, url: &str) -> (&'static str, String) {
        if url.contains("/terraform/state/") {
            ("Authorization", self.auth.clone())
        } else if url == self.graphql_url {
            ("Authorization", format!("Bearer {}", self.token))
        } else if self.username == "gitlab-ci-token" {
            ("JOB-TOKEN", self.token.clone())
        } else {
            ("PRIVATE-TOKEN", self.token.clone())
        }
    }

    fn state_url(&self, name: &str) -> String {
        format!(
            "{}/projects/{}/terraform/state/{}",
            self.api_url,
            encode_segment(&self.project),
            encode_segment(name)
        )
    }

    fn call(&self, method: &str, url: &str, body: Option<&[u8]>) -> ApiResult<(u16, Vec<u8>)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (header, value) = self.auth_for(url);
            let request = self.agent.request(method, url).set(header, &value);
            let result = match body {
                Some(body) => request
                    .set("Content-Type", "application/json")
                    .send_bytes(body),
                None => request.call(),
            };
            match result {
                Ok(response) => {
                    let status = response.status();
                    let mut bytes = Vec::new();
                    response
                        .into_reader()
                        .take(512 * 1024 * 1024)
                        .read_to_end(&mut bytes)
                        .map_err(|err| {
                            ApiError::Transport(format!("reading the answer failed: {err}"))
                        })?;
                    return Ok((status, bytes));
                }
                Err(ureq::Error::Status(code, response)) => {
                    if code >= 500 && attempt == 1 {
                        std::thread::sleep(Duration::from_millis(300));
                        continue;
                    }
                    let body = response.into_string().unwrap_or_default();
                    return Err(ApiError::Status { code, body });
                }
                Err(ureq::Error::Transport(transport)) => {
                    return Err(ApiError::Transport(transport.to_string()));
                }
            }
        }
    }

    /// The latest state, `None` when there is none yet (404 and 204 both mean that).
    pub fn get_state(&self, name: &str) -> ApiResult<Option<Vec<u8>>> {
        match self.call("GET", &self.state_url(name), None) {
            Ok((204, _)) => Ok(None),
            Ok((_, bytes)) if bytes.is_empty() => Ok(None),
            Ok((_, bytes)) => Ok(Some(bytes)),
            Err(ApiError::Status { code: 404, .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    pub fn get_version(&self, name: &str, serial: u64) -> ApiResult<Option<Vec<u8>>> {
        let url = format!("{}/versions/{serial}", self.state_url(name));
        match self.call("GET", &url, None) {
            Ok((_, bytes)) => Ok(Some(bytes)),
            Err(ApiError::Status { code: 404, .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    pub fn put_state(&self, name: &str, bytes: &[u8], lock_id: Option<&str>) -> ApiResult<()> {
        let mut url = self.state_url(name);
        if let Some(id) = lock_id {
            url.push_str(&format!("?ID={}", encode_segment(id)));
        }
        self.call("POST", &url, Some(bytes)).map(|_| ())
    }

    /// Takes the lock; on 409 returns the holder's lock info as `Err(Some(info))`.
    pub fn lock(
        &self,
        name: &str,
        operation: &str,
    ) -> ApiResult<Result<String, serde_json::Value>> {
        let id = new_lock_id();
        let info = serde_json::json!({
            "ID": id,
            "Operation": operation,
            "Info": "",
            "Who": self.username,
            "Version": env!("CARGO_PKG_VERSION"),
            "Created": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            "Path": "",
        });
        let url = format!("{}/lock", self.state_url(name));
        match self.call("POST", &url, Some(info.to_string().as_bytes())) {
            Ok(_) => Ok(Ok(id)),
            Err(ApiError::Status {
                code: 409 | 423,
                body,
            }) => Ok(Err(
                serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
            )),
            Err(err) => Err(err),
        }
    }

    /// Releases a lock: with `id` only that lock, without it whatever lock is held.
    pub fn unlock(&self, name: &str, id: Option<&str>) -> ApiResult<()> {
        let mut url = format!("{}/lock", self.state_url(name));
        if let Some(id) = id {
            url.push_str(&format!("?ID={}", encode_segment(id)));
        }
        self.call("DELETE", &url, None).map(|_| ())
    }

    pub fn delete_state(&self, name: &str) -> ApiResult<()> {
        self.call("DELETE", &self.state_url(name), None).map(|_| ())
    }

    /// The project's full path (GraphQL needs it; `.env` may hold the numeric id).
    pub fn project_path(&self) -> ApiResult<String> {
        if !self.project.chars().all(|c| c.is_ascii_digit()) {
            return Ok(self.project.clone());
        }
        let url = format!("{}/projects/{}", self.api_url, self.project);
        let (_, bytes) = self.call("GET", &url, None)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::Transport(format!("unexpected project answer: {err}")))?;
        value["path_with_namespace"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::Transport("the project answer has no path_with_namespace".into())
            })
    }

    pub fn list_states(&self) -> ApiResult<Vec<StateInfo>> {
        let full_path = self.project_path()?;
        let query = serde_json::json!({
            "query": STATES_QUERY,
            "variables": { "fullPath": full_path },
        });
        let (_, bytes) = self.call(
            "POST",
            &self.graphql_url,
            Some(query.to_string().as_bytes()),
        )?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::Transport(format!("unexpected GraphQL answer: {err}")))?;
        if let Some(errors) = value.get("errors") {
            return Err(ApiError::Transport(format!("GraphQL error: {errors}")));
        }
        let project = &value["data"]["project"];
        if project.is_null() {
            return Err(ApiError::Status {
                code: 404,
                body: "project not found".into(),
            });
        }
        serde_json::from_value(project["terraformStates"]["nodes"].clone())
            .map_err(|err| ApiError::Transport(format!("unexpected GraphQL answer: {err}")))
    }

    pub fn state_info(&self, name: &str) -> ApiResult<Option<StateInfo>> {
        Ok(self.list_states()?.into_iter().find(|s| s.name == name))
    }

    /// The project's members, inherited ones included, with their account state (`active`,
    /// `blocked`, ...). Paged by 100; bounded so a huge instance cannot keep tfw busy.
    pub fn project_members(&self) -> ApiResult<Vec<Member>> {
        let mut members = Vec::new();
        for page in 1..=50 {
            let url = format!(
                "{}/projects/{}/members/all?per_page=100&page={page}",
                self.api_url,
                encode_segment(&self.project)
            );
            let (_, bytes) = self.call("GET", &url, None)?;
            let batch: Vec<Member> = serde_json::from_slice(&bytes)
                .map_err(|err| ApiError::Transport(format!("unexpected members answer: {err}")))?;
            let last = batch.len() < 100;
            members.extend(batch);
            if last {
                break;
            }
        }
        Ok(members)
    }
}

fn new_lock_id() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut file) = std::fs::File::open("/dev/urandom") {
        let _ = file.read_exact(&mut bytes);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl ApiError {
    /// A message for the user: cause and fix, never the token.
    pub fn problem(&self, what: &str, backend: &Backend) -> Problem {
        match self {
            // CI's job token opens the state API but not GraphQL (listing states) nor most
            // of the REST API: a 401 there is about the kind of token, not a wrong one.
            ApiError::Status { code: 401, .. } if backend.username.value == "gitlab-ci-token" => {
                Problem::error(format!(
                    "{what}: GitLab does not accept CI's job token for this call (401 Unauthorized)"
                ))
                .hint("the job token reaches only the state API; for listing states in CI set `TF_HTTP_PASSWORD` (and `TF_HTTP_USERNAME`) to a project access token with the `read_api` scope")
            }
            ApiError::Status { code: 401, .. } => Problem::error(format!(
                "{what}: GitLab rejected the token (401 Unauthorized)"
            ))
            .hint("check `TF_HTTP_PASSWORD`: a personal or project access token with the `api` scope that has not expired"),
            ApiError::Status { code: 403, .. } => Problem::error(format!(
                "{what}: your GitLab role may not do this (403 Forbidden)"
            ))
            .hint(format!(
                "locking, writing, unlocking and deleting states needs the Maintainer role in `{}`; Developers can only read (`tfw plan --no-lock`)",
                backend.project
            )),
            ApiError::Status { code: 404, .. } => Problem::error(format!(
                "{what}: GitLab found no such project or state (404)"
            ))
            .hint(format!(
                "check GITLAB_PROJECT/TF_HTTP_ADDRESS (project `{}`) and the state name `{}`",
                backend.project,
                backend.state_name()
            )),
            ApiError::Status { code: 409, body } => Problem::error(format!(
                "{what}: GitLab answered 409 Conflict{}",
                first_line(body)
            ))
            .hint(format!(
                "someone else holds the lock of `{}`, or took it over meanwhile; `tfw state show` says who",
                backend.state_name()
            )),
            ApiError::Status { code: 422, body } => Problem::error(format!(
                "{what}: GitLab refused the request (422){}",
                first_line(body)
            ))
            .hint("the state may be being deleted, or a version with this serial already exists"),
            ApiError::Status { code, body } => Problem::error(format!(
                "{what}: GitLab answered {code}{}",
                first_line(body)
            ))
            .hint("GitLab may be having trouble; try again in a moment"),
            // The three ways a call fails without an answer need three different fixes.
            ApiError::Transport(message) if is_timeout(message) => Problem::error(format!(
                "{what}: GitLab at {} did not answer in time ({message})",
                backend.api_url
            ))
            .hint("GitLab may be slow or down: try again in a moment; TFW_HTTP_TIMEOUT (seconds, default 30) sets how long tfw waits"),
            ApiError::Transport(message) if is_broken(message) => Problem::error(format!(
                "{what}: the connection to GitLab at {} broke before the whole answer arrived ({message})",
                backend.api_url
            ))
            .hint("try again; a proxy or an unstable network (VPN?) may be cutting connections"),
            ApiError::Transport(message) => Problem::error(format!(
                "{what}: cannot reach GitLab at {}: {message}",
                backend.api_url
            ))
            .hint("check the URL in .env and your network (VPN?)"),
        }
    }
}

/// `: <first line of the body>`, or nothing for an empty body (no dangling colon).
fn first_line(text: &str) -> String {
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(200)
        .collect();
    if line.is_empty() {
        line
    } else {
        format!(": {line}")
    }
}

fn is_timeout(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("timed out") || lower.contains("no answer in time") || lower.contains("timeout")
}

fn is_broken(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("closed before")
        || lower.contains("reading the answer failed")
        || lower.contains("eof")
}
