//! tfw's own calls to GitLab (lock holders, backups, listing and managing states), with the
//! same credentials terraform gets. Each route gets the credentials it reads (basic auth only
//! on the state API, job tokens nowhere else), listings are paged to the end, and a failure
//! becomes a message about its real cause (`errors`). One retry on 5xx; bounded timeouts.

mod errors;
mod graphql;
mod issues;
mod locks;
pub(crate) mod net;
mod protection;
mod rest;
mod tokens;
mod trouble;

use std::io::Read;
use std::time::Duration;

use base64::Engine as _;

use super::{Backend, encode_segment};

pub(crate) use errors::{lock_now, lock_refusal, refusal_body, role_name};
pub(crate) use graphql::{StateInfo, UserRef};
pub(crate) use issues::Issue;
pub(crate) use locks::{Job, LockedState, Locks, Pipeline};
pub(crate) use protection::ProtectionRule;
pub(crate) use rest::{Member, RunningJob};
pub(crate) use tokens::Refusal;
pub(crate) use trouble::{Transport, Trouble};

pub(crate) struct Client {
    agent: ureq::Agent,
    net: net::Net,
    /// `host:port` of GitLab, for the wait spinner.
    net_host: String,
    /// A proxy URL ureq cannot use: every call fails naming it.
    bad_proxy: Option<String>,
    api_url: String,
    graphql_url: String,
    project: String,
    /// Basic auth: what GitLab accepts on the Terraform state routes (as terraform sends it).
    auth: String,
    /// The token alone, for the routes that do not take basic auth (see `auth_for`).
    token: String,
    username: String,
    /// This GitLab's schema has no `deletedAt` on Terraform states (older GitLab).
    old_schema: std::sync::atomic::AtomicBool,
}

/// What GitLab answered with, when it was not a success.
#[derive(Debug)]
pub(crate) enum ApiError {
    Status {
        code: u16,
        body: String,
    },
    /// An answer tfw could not use (or none, as terraform told it).
    Transport(Transport),
    /// No HTTP answer at all: what was tried, and why it failed.
    Unreached(Box<net::Unreached>),
    /// A CI job token on a route GitLab does not open to job tokens (GraphQL, `GET /user`,
    /// the project, its members): not sent, since GitLab would answer 401 or 404.
    JobToken {
        what: &'static str,
    },
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// An answer: status, the `X-Next-Page` header (REST paging), body.
pub(crate) struct Answer {
    pub status: u16,
    pub next_page: Option<String>,
    pub body: Vec<u8>,
}

impl Client {
    pub(crate) fn new(backend: &Backend) -> Self {
        Self::with_timeout(backend, backend.net.timeout)
    }

    /// A client with a shorter deadline, for callers that must stay fast (shell completion).
    pub(crate) fn with_timeout(backend: &Backend, timeout: Duration) -> Self {
        let mut net = backend.net.clone();
        if timeout != net.timeout {
            net.timeout = timeout;
            net.timeout_from = "this command's own limit".into();
        }
        let (agent, bad_proxy) = net.agent();
        let credentials = format!("{}:{}", backend.username.value, backend.password.value);
        let net_host = url::Url::parse(&backend.api_url)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_else(|| backend.api_url.clone());
        Self {
            agent,
            net_host,
            net,
            bad_proxy,
            api_url: backend.api_url.clone(),
            graphql_url: format!("{}/api/graphql", backend.gitlab_root()),
            project: backend.project.clone(),
            auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            ),
            token: backend.password.value.clone(),
            username: backend.username.value.clone(),
            old_schema: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// GitLab takes basic auth only on the Terraform state API; its other REST routes want
    /// `PRIVATE-TOKEN` and GraphQL a bearer token, so each call carries the header its route
    /// understands. (A job token never reaches those: see `refuse_job_token`.)
    fn auth_for(&self, url: &str) -> (&'static str, String) {
        if url.contains("/terraform/state/") {
            ("Authorization", self.auth.clone())
        } else if url == self.graphql_url {
            ("Authorization", format!("Bearer {}", self.token))
        } else if self.is_job_token() {
            // Besides the state API, only the jobs listing is sent a job token (it declares
            // `job_token_allowed: true`, `lib/api/ci/jobs.rb`), in the header GitLab reads
            // there; basic auth it would ignore.
            ("JOB-TOKEN", self.token.clone())
        } else {
            ("PRIVATE-TOKEN", self.token.clone())
        }
    }

    /// Whether the credentials are CI's job token (`gitlab-ci-token`).
    pub(crate) fn is_job_token(&self) -> bool {
        self.username == super::JOB_TOKEN_USER
    }

    /// GitLab opens only the state API and the jobs listing to job tokens: GraphQL refuses them
    /// (401) and the other REST routes ignore them (404 on a private project), so tfw does not
    /// ask.
    fn refuse_job_token(&self, what: &'static str) -> ApiResult<()> {
        if self.is_job_token() {
            Err(ApiError::JobToken { what })
        } else {
            Ok(())
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
        self.answer(method, url, body).map(|a| (a.status, a.body))
    }

    fn answer(&self, method: &str, url: &str, body: Option<&[u8]>) -> ApiResult<Answer> {
        if let Some(bad) = &self.bad_proxy {
            return Err(ApiError::Transport(Transport::new(
                Trouble::Other,
                format!("the proxy {bad} cannot be used; fix it, or add the host to NO_PROXY"),
            )));
        }
        // A wait over a second says what it waits for (unless a spinner already does).
        let _spinner = crate::progress::waiting(&self.net_host);
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
                    let next_page = response
                        .header("x-next-page")
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string);
                    let mut bytes = Vec::new();
                    response
                        .into_reader()
                        .take(512 * 1024 * 1024)
                        .read_to_end(&mut bytes)
                        .map_err(|err| ApiError::Transport(Transport::read_failed(&err)))?;
                    return Ok(Answer {
                        status,
                        next_page,
                        body: bytes,
                    });
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
                    return Err(ApiError::Unreached(Box::new(
                        net::Unreached::from_transport(url, &transport, &self.net),
                    )));
                }
            }
        }
    }

    /// The latest state, `None` when there is none yet (404 and 204 both mean that).
    pub(crate) fn get_state(&self, name: &str) -> ApiResult<Option<Vec<u8>>> {
        match self.call("GET", &self.state_url(name), None) {
            Ok((204, _)) => Ok(None),
            Ok((_, bytes)) if bytes.is_empty() => Ok(None),
            Ok((_, bytes)) => Ok(Some(bytes)),
            Err(ApiError::Status { code: 404, body }) if !project_missing(&body) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Whether GitLab has a record of the state (204, an empty record, counts).
    pub(crate) fn state_exists(&self, name: &str) -> ApiResult<bool> {
        match self.call("GET", &self.state_url(name), None) {
            Ok(_) => Ok(true),
            Err(ApiError::Status { code: 404, body }) if !project_missing(&body) => Ok(false),
            Err(err) => Err(err),
        }
    }

    pub(crate) fn get_version(&self, name: &str, serial: u64) -> ApiResult<Option<Vec<u8>>> {
        let url = format!("{}/versions/{serial}", self.state_url(name));
        match self.call("GET", &url, None) {
            Ok((_, bytes)) => Ok(Some(bytes)),
            Err(ApiError::Status { code: 404, body }) if !project_missing(&body) => Ok(None),
            Err(err) => Err(err),
        }
    }

    pub(crate) fn put_state(
        &self,
        name: &str,
        bytes: &[u8],
        lock_id: Option<&str>,
    ) -> ApiResult<()> {
        let mut url = self.state_url(name);
        if let Some(id) = lock_id {
            url.push_str(&format!("?ID={}", encode_segment(id)));
        }
        self.call("POST", &url, Some(bytes)).map(|_| ())
    }

    /// Takes the lock; on 409 returns GitLab's answer as `Err(info)`: the holder's LockInfo, or
    /// (see `names_holder`) another conflict GitLab answers with 409.
    pub(crate) fn lock(
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
    pub(crate) fn unlock(&self, name: &str, id: Option<&str>) -> ApiResult<()> {
        let mut url = format!("{}/lock", self.state_url(name));
        if let Some(id) = id {
            url.push_str(&format!("?ID={}", encode_segment(id)));
        }
        self.call("DELETE", &url, None).map(|_| ())
    }

    pub(crate) fn delete_state(&self, name: &str) -> ApiResult<()> {
        self.call("DELETE", &self.state_url(name), None).map(|_| ())
    }
}

/// Whether a 409 to a lock request is the holder's LockInfo (GitLab's `post '/lock'` always
/// sends the held lock's `ID`), rather than `API::API`'s `409 Conflict: Resource lock`, which
/// GitLab answers on any route when another request holds the same database record
/// (`ActiveRecord::StaleObjectError`, `ExclusiveLeaseHelpers::FailedToObtainLockError`).
pub(crate) fn names_holder(conflict: &serde_json::Value) -> bool {
    conflict["ID"].as_str().is_some_and(|id| !id.is_empty())
}

/// GitLab's 404 for the project itself (missing, or private and the token's user is not a
/// member: `not_found!('Project')`), as opposed to a missing state (`404 Not Found`).
fn project_missing(body: &str) -> bool {
    body.contains("Project Not Found")
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
