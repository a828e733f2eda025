//! An in-process stand-in for GitLab's Terraform state API, for the integration tests.
//!
//! tfw's whole job is to drive Terraform's `http` backend against GitLab-managed state and to
//! cope with every answer GitLab can give, so the tests need a GitLab that answers exactly like
//! the real one (`/work/shared/reference/gitlab-state-api.md`, cross-checked against GitLab's
//! `lib/api/terraform/state.rb` and `Terraform::RemoteStateHandler`) and that can also
//! misbehave on demand (faults), while letting a test look inside (state, versions, locks, the
//! request log). `examples/gitlab_test_server.rs` runs the same code as a standalone process.
//!
//! The HTTP layer is a small hand-written HTTP/1.1 server on `std::net` rather than tiny_http:
//! the faults need to close a keep-alive connection in the middle of a response (truncated
//! bodies, hung requests) and tiny_http gives no way to close a connection from the server
//! side, and dropping the server must also tear down idle keep-alive connections so that no
//! thread outlives the test.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};

/// The project `GitLab::start()` creates.
pub const PROJECT_ID: u64 = 42;
pub const PROJECT_PATH: &str = "group/infra";

/// Seeded users: two maintainers (so one can hold a lock the other trips over) and a developer.
pub const ALICE: &str = "alice";
pub const ALICE_TOKEN: &str = "glpat-alice-0123456789abcdef";
pub const BOB: &str = "bob";
pub const BOB_TOKEN: &str = "glpat-bob-0123456789abcdef";
pub const DAVE: &str = "dave";
pub const DAVE_TOKEN: &str = "glpat-dave-0123456789abcdef";

/// The seeded CI job: its token acts as `CI_BOT` with the Maintainer role.
pub const CI_JOB_TOKEN: &str = "ci-job-token-0123456789";
pub const CI_BOT: &str = "ci-bot";
pub const CI_JOB_NAME: &str = "apply";
/// The basic-auth username GitLab requires alongside a job token.
pub const CI_JOB_USERNAME: &str = "gitlab-ci-token";

/// No fault keeps a connection (or a test) waiting longer than this.
pub const MAX_FAULT_WAIT: Duration = Duration::from_secs(60);

/// GitLab's limit on state names (and on lock IDs).
pub const MAX_NAME_LEN: usize = 255;

/// A project member's role; GitLab has no per-state permission, only the project role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Cannot even read Terraform state.
    Reporter,
    /// May read state, versions and the GraphQL listing (so `plan -lock=false` works).
    Developer,
    /// May also lock, write, unlock and delete.
    Maintainer,
    Owner,
}

/// One request as the server saw it. `status` is 0 while the request is still being handled
/// (e.g. under a `Delay` fault) and stays 0 when no answer was ever sent (`Hang`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The raw request target, query string included, exactly as sent.
    pub url: String,
    /// The GitLab username the credentials resolved to, if they were valid.
    pub user: Option<String>,
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl RequestRecord {
    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or("")
    }
}

/// Which endpoint a request hit, for matching faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `{base}`: GET/POST/DELETE of the state itself.
    State,
    /// `{base}/lock`.
    Lock,
    /// `{base}/versions/{serial}`.
    Versions,
    /// `POST /api/graphql`.
    GraphQL,
    /// Anything else (unknown paths).
    Other,
    /// Every request.
    Any,
}

/// What a matching request gets instead of (or before) its normal answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status and body; the request has no other effect.
    Respond { status: u16, body: String },
    /// Wait this long (at most `MAX_FAULT_WAIT`, cut short when the server is dropped), then
    /// handle the request normally.
    Delay(Duration),
    /// Never answer: hold the connection open this long (at most `MAX_FAULT_WAIT`, cut short
    /// when the server is dropped), then close it. The request has no effect.
    Hang(Duration),
    /// Handle the request normally, but announce a Content-Length larger than the body, send
    /// only half of the body and close the connection.
    Truncate,
}

/// A fault rule: requests matching the method, route and state name get `action`, every time
/// or only the first `times` times. Build with `Fault::new`/`Fault::status`/`Fault::respond`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub method: Option<String>,
    pub route: Route,
    pub state_name: Option<String>,
    pub times: Option<usize>,
    pub action: FaultAction,
}

impl Fault {
    pub fn new(route: Route, action: FaultAction) -> Fault {
        Fault {
            method: None,
            route,
            state_name: None,
            times: None,
            action,
        }
    }

    /// Answer `status` with GitLab's usual `{"message":"<code> <reason>"}` body.
    pub fn status(route: Route, status: u16) -> Fault {
        let body = json!({ "message": format!("{status} {}", reason(status)) }).to_string();
        Fault::new(route, FaultAction::Respond { status, body })
    }

    /// Answer `status` with exactly `body` (e.g. a LockInfo JSON for a 409 on `Route::Lock`).
    pub fn respond(route: Route, status: u16, body: impl Into<String>) -> Fault {
        Fault::new(
            route,
            FaultAction::Respond {
                status,
                body: body.into(),
            },
        )
    }

    pub fn delay(route: Route, delay: Duration) -> Fault {
        Fault::new(route, FaultAction::Delay(delay))
    }

    pub fn hang(route: Route, hold: Duration) -> Fault {
        Fault::new(route, FaultAction::Hang(hold))
    }

    pub fn truncate(route: Route) -> Fault {
        Fault::new(route, FaultAction::Truncate)
    }

    /// Only requests with this HTTP method (case-insensitive).
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests for this (decoded) state name.
    pub fn state(mut self, name: &str) -> Fault {
        self.state_name = Some(name.to_string());
        self
    }

    /// Only the first `n` matching requests; later ones are handled normally.
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }

    fn matches(&self, method: &str, route: Route, name: Option<&str>) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && (self.route == Route::Any || self.route == route)
            && self
                .state_name
                .as_deref()
                .is_none_or(|want| Some(want) == name)
    }
}

/// The running server. Dropping it stops the server: pending delays and hangs are cut short,
/// every connection is closed and every thread is joined.
pub struct GitLab {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl GitLab {
    /// Starts on 127.0.0.1 on a free port, with the default project, users and job token.
    pub fn start() -> GitLab {
        GitLab::start_on(0).expect("start the GitLab test server")
    }

    /// Starts with no project, user or job token at all.
    pub fn start_empty() -> GitLab {
        GitLab::bind(0, World::default()).expect("start the GitLab test server")
    }

    /// Like `start`, on a given port (0 = any free port).
    pub fn start_on(port: u16) -> io::Result<GitLab> {
        GitLab::bind(port, World::seeded())
    }

    fn bind(port: u16, world: World) -> io::Result<GitLab> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            stopping: AtomicBool::new(false),
            nap: Mutex::new(()),
            wake: Condvar::new(),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("gitlab-accept".into())
                .spawn(move || accept_loop(listener, shared))?
        };
        Ok(GitLab {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v4` (what `$CI_API_V4_URL` would be).
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.url())
    }

    /// `http://127.0.0.1:PORT/api/graphql`
    pub fn graphql_url(&self) -> String {
        format!("{}/api/graphql", self.url())
    }

    /// The state's address as Terraform's http backend wants it, project and name URL-encoded.
    pub fn state_url(&self, project: &str, name: &str) -> String {
        format!(
            "{}/projects/{}/terraform/state/{}",
            self.api_url(),
            encode_component(project),
            encode_component(name)
        )
    }

    pub fn add_project(&self, id: u64, full_path: &str) {
        let mut world = self.shared.world();
        world.projects.retain(|p| p.id != id);
        world.projects.push(Project {
            id,
            full_path: full_path.to_string(),
            states: BTreeMap::new(),
        });
    }

    pub fn add_user(&self, username: &str, token: &str, role: Role) {
        let mut world = self.shared.world();
        world.users.retain(|u| u.token != token);
        world.users.push(User {
            username: username.to_string(),
            token: token.to_string(),
            role,
        });
    }

    /// A running CI job whose token acts as `username`; the job is named `CI_JOB_NAME`.
    pub fn add_job_token(&self, token: &str, username: &str, role: Role) {
        self.add_named_job_token(token, username, role, CI_JOB_NAME);
    }

    pub fn add_named_job_token(&self, token: &str, username: &str, role: Role, job_name: &str) {
        let mut world = self.shared.world();
        world.jobs.retain(|j| j.token != token);
        world.jobs.push(Job {
            token: token.to_string(),
            user: User {
                username: username.to_string(),
                token: token.to_string(),
                role,
            },
            name: job_name.to_string(),
        });
    }

    /// Ends the job: GitLab accepts a job token only while its job runs, so this gives 401.
    pub fn finish_job(&self, token: &str) {
        self.shared.world().jobs.retain(|j| j.token != token);
    }

    /// Latest stored bytes (highest serial), `None` if there is no state or it holds no data.
    /// `project` is the numeric id ("42") or the full path ("group/infra").
    pub fn state(&self, project: &str, name: &str) -> Option<Vec<u8>> {
        let world = self.shared.world();
        let state = world.project(project).states.get(name)?;
        state.versions.values().next_back().map(|v| v.bytes.clone())
    }

    /// Whether a state record exists at all (possibly empty, e.g. created by a lock).
    pub fn has_state(&self, project: &str, name: &str) -> bool {
        self.shared
            .world()
            .project(project)
            .states
            .contains_key(name)
    }

    /// Every stored version, by ascending serial.
    pub fn versions(&self, project: &str, name: &str) -> Vec<(u64, Vec<u8>)> {
        let world = self.shared.world();
        world
            .project(project)
            .states
            .get(name)
            .map(|s| {
                s.versions
                    .iter()
                    .map(|(serial, v)| (*serial, v.bytes.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The held lock as the holder sent it, with `ID`, `Who` (the GitLab username) and
    /// `Created` (GitLab's lock time) as GitLab reports them.
    pub fn lock(&self, project: &str, name: &str) -> Option<Value> {
        let world = self.shared.world();
        let state = world.project(project).states.get(name)?;
        state.lock.as_ref().map(LockRec::as_json)
    }

    /// Locks the state as if `lockinfo["Who"]` (a GitLab username) had locked it with
    /// `lockinfo["ID"]`; `Created` is kept when it is an RFC 3339 UTC time. Creates the state
    /// record if missing and replaces any lock already held.
    pub fn set_lock(&self, project: &str, name: &str, lockinfo: Value) {
        let info = match lockinfo {
            Value::Object(map) => map,
            other => panic!("set_lock wants a LockInfo object, got {other}"),
        };
        let text = |key: &str| info.get(key).and_then(Value::as_str).map(str::to_string);
        let id = text("ID").unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
        let username = text("Who").unwrap_or_else(|| BOB.into());
        let locked_at = text("Created")
            .and_then(|c| humantime::parse_rfc3339_weak(&c).ok())
            .unwrap_or_else(SystemTime::now);
        let mut world = self.shared.world();
        let state = world.project_mut(project).state_entry(name);
        state.lock = Some(LockRec {
            id,
            username,
            locked_at,
            info,
        });
    }

    pub fn clear_lock(&self, project: &str, name: &str) {
        let mut world = self.shared.world();
        if let Some(state) = world.project_mut(project).states.get_mut(name) {
            state.lock = None;
        }
    }

    /// Stores `bytes` as a new version, keyed by its JSON `serial` (or one past the highest
    /// serial when it has none), replacing a version with the same serial. Creates the state.
    pub fn put_state(&self, project: &str, name: &str, bytes: &[u8]) {
        let mut world = self.shared.world();
        let state = world.project_mut(project).state_entry(name);
        let serial = serde_json::from_slice::<Value>(bytes)
            .ok()
            .as_ref()
            .and_then(serial_of)
            .unwrap_or_else(|| state.versions.keys().next_back().map_or(1, |s| s + 1));
        let now = SystemTime::now();
        state.versions.insert(
            serial,
            VersionRec {
                bytes: bytes.to_vec(),
                created_at: now,
                created_by: None,
                job: None,
            },
        );
        state.updated_at = now;
    }

    /// Marks the state as scheduled for deletion: GitLab then answers 422 on every route until
    /// its background worker has removed it (which here never happens).
    pub fn mark_deleting(&self, project: &str, name: &str) {
        let mut world = self.shared.world();
        world.project_mut(project).state_entry(name).deleting = true;
    }

    /// State names of the project, sorted.
    pub fn state_names(&self, project: &str) -> Vec<String> {
        self.shared
            .world()
            .project(project)
            .states
            .keys()
            .cloned()
            .collect()
    }

    /// GitLab's `max_terraform_state_size_bytes` (0, the default, means no limit): larger
    /// writes get 413.
    pub fn set_max_state_size(&self, bytes: usize) {
        self.shared.world().max_state_size = bytes;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.world().log.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.world().log.clear();
    }

    /// Turns the request log off (a long benchmark would otherwise keep every body).
    pub fn set_request_log(&self, enabled: bool) {
        let mut world = self.shared.world();
        world.log_disabled = !enabled;
        if !enabled {
            world.log.clear();
        }
    }

    /// Polls the request log until a request satisfies `pred` (also one still being handled,
    /// e.g. held by a `Delay` fault), or `timeout` passes.
    pub fn wait_for_request(
        &self,
        timeout: Duration,
        pred: impl Fn(&RequestRecord) -> bool,
    ) -> Option<RequestRecord> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.shared.world().log.iter().find(|r| pred(r)) {
                return Some(found.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Adds a fault rule; rules are tried in the order they were added, the first match wins.
    pub fn fault(&self, fault: Fault) {
        self.shared.world().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.world().faults.clear();
    }
}

impl Drop for GitLab {
    fn drop(&mut self) {
        {
            // Set under the nap mutex so that a request about to sleep cannot miss the wake-up.
            let _nap = lock_ignoring_poison(&self.shared.nap);
            self.shared.stopping.store(true, Ordering::SeqCst);
            self.shared.wake.notify_all();
        }
        // `accept` has no timeout: a connection of our own is what unblocks it.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// A URL on which nothing listens, for "connection refused" tests. The port was free a moment
/// ago; nothing in the tests binds fixed ports, so it stays free.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a throwaway port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Percent-encodes one path segment (a project path or state name), `/` included.
pub fn encode_component(s: &str) -> String {
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// The `Authorization` header value for HTTP basic auth.
pub fn basic_auth(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64_encode(format!("{username}:{password}").as_bytes())
    )
}

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Default)]
struct World {
    projects: Vec<Project>,
    users: Vec<User>,
    jobs: Vec<Job>,
    faults: Vec<Fault>,
    log: Vec<RequestRecord>,
    /// Off by default so that the log is on unless a benchmark turns it off.
    log_disabled: bool,
    max_state_size: usize,
}

struct Project {
    id: u64,
    full_path: String,
    states: BTreeMap<String, StateRec>,
}

struct StateRec {
    /// Keyed by serial; GitLab's "latest version" is the highest serial, not the last write.
    versions: BTreeMap<u64, VersionRec>,
    lock: Option<LockRec>,
    updated_at: SystemTime,
    deleting: bool,
}

struct VersionRec {
    bytes: Vec<u8>,
    created_at: SystemTime,
    /// GitLab records the lock holder at write time (`created_by_user: locked_by_user`), so
    /// a write made without a lock has no author.
    created_by: Option<String>,
    job: Option<String>,
}

struct LockRec {
    id: String,
    username: String,
    locked_at: SystemTime,
    /// The LockInfo the holder sent, kept for introspection and for 409 bodies on writes.
    info: Map<String, Value>,
}

impl LockRec {
    fn as_json(&self) -> Value {
        let mut info = self.info.clone();
        info.insert("ID".into(), self.id.clone().into());
        info.insert("Who".into(), self.username.clone().into());
        info.insert("Created".into(), rfc3339_millis(self.locked_at).into());
        Value::Object(info)
    }
}

#[derive(Clone)]
struct User {
    username: String,
    token: String,
    role: Role,
}

struct Job {
    token: String,
    user: User,
    name: String,
}

/// Who the credentials of a request resolved to.
enum Auth {
    Anonymous,
    Invalid,
    User { user: User, job: Option<String> },
}

impl Auth {
    fn username(&self) -> Option<String> {
        match self {
            Auth::User { user, .. } => Some(user.username.clone()),
            _ => None,
        }
    }
}

impl World {
    fn seeded() -> World {
        let user = |username: &str, token: &str, role| User {
            username: username.into(),
            token: token.into(),
            role,
        };
        World {
            projects: vec![Project {
                id: PROJECT_ID,
                full_path: PROJECT_PATH.into(),
                states: BTreeMap::new(),
            }],
            users: vec![
                user(ALICE, ALICE_TOKEN, Role::Maintainer),
                user(BOB, BOB_TOKEN, Role::Maintainer),
                user(DAVE, DAVE_TOKEN, Role::Developer),
            ],
            jobs: vec![Job {
                token: CI_JOB_TOKEN.into(),
                user: user(CI_BOT, CI_JOB_TOKEN, Role::Maintainer),
                name: CI_JOB_NAME.into(),
            }],
            ..World::default()
        }
    }

    /// A project by numeric id or full path (case-insensitive, like GitLab's routing).
    fn project_index(&self, key: &str) -> Option<usize> {
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            let id: u64 = key.parse().ok()?;
            self.projects.iter().position(|p| p.id == id)
        } else {
            self.projects
                .iter()
                .position(|p| p.full_path.eq_ignore_ascii_case(key))
        }
    }

    fn project(&self, key: &str) -> &Project {
        match self.project_index(key) {
            Some(i) => &self.projects[i],
            None => panic!("the GitLab test server has no project {key:?}"),
        }
    }

    fn project_mut(&mut self, key: &str) -> &mut Project {
        match self.project_index(key) {
            Some(i) => &mut self.projects[i],
            None => panic!("the GitLab test server has no project {key:?}"),
        }
    }

    /// `basic_allowed`: GitLab takes HTTP basic auth only on the Terraform state routes
    /// (`basic_auth_personal_access_token` in `lib/api/terraform/state.rb`); elsewhere a
    /// basic header authenticates nobody.
    fn authenticate(&self, headers: &[(String, String)], basic_allowed: bool) -> Auth {
        let personal = |token: &str| match self.users.iter().find(|u| u.token == token) {
            Some(user) => Auth::User {
                user: user.clone(),
                job: None,
            },
            None => Auth::Invalid,
        };
        let job = |token: &str| match self.jobs.iter().find(|j| j.token == token) {
            Some(job) => Auth::User {
                user: job.user.clone(),
                job: Some(job.name.clone()),
            },
            None => Auth::Invalid,
        };
        if let Some(value) = header(headers, "authorization") {
            let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
            let credentials = credentials.trim();
            if scheme.eq_ignore_ascii_case("basic") {
                if !basic_allowed {
                    return Auth::Anonymous;
                }
                let decoded = base64_decode(credentials).and_then(|b| String::from_utf8(b).ok());
                return match decoded.as_deref().and_then(|d| d.split_once(':')) {
                    // Terraform only sends basic auth with a non-empty username; GitLab ignores
                    // the username except that `gitlab-ci-token` means "the password is a job
                    // token".
                    Some((CI_JOB_USERNAME, token)) => job(token),
                    Some((username, token)) if !username.is_empty() => personal(token),
                    _ => Auth::Invalid,
                };
            }
            if scheme.eq_ignore_ascii_case("bearer") {
                return personal(credentials);
            }
            return Auth::Invalid;
        }
        if let Some(token) = header(headers, "private-token") {
            return personal(token.trim());
        }
        if let Some(token) = header(headers, "job-token") {
            return job(token.trim());
        }
        Auth::Anonymous
    }

    fn take_fault(
        &mut self,
        method: &str,
        route: Route,
        name: Option<&str>,
    ) -> Option<FaultAction> {
        let index = self
            .faults
            .iter()
            .position(|f| f.times != Some(0) && f.matches(method, route, name))?;
        let fault = &mut self.faults[index];
        let action = fault.action.clone();
        if let Some(times) = &mut fault.times {
            *times -= 1;
            if *times == 0 {
                self.faults.remove(index);
            }
        }
        Some(action)
    }
}

impl Project {
    /// GitLab's `safe_find_or_create_by`: locking, writing and unlocking create the record.
    fn state_entry(&mut self, name: &str) -> &mut StateRec {
        self.states
            .entry(name.to_string())
            .or_insert_with(|| StateRec {
                versions: BTreeMap::new(),
                lock: None,
                updated_at: SystemTime::now(),
                deleting: false,
            })
    }
}

impl StateRec {
    /// GitLab's `lock_matches?`: no lock and no ID match; otherwise the IDs must be equal, so
    /// an ID sent to an unlocked state does not match, and neither does a missing ID sent to a
    /// locked one.
    fn lock_matches(&self, id: Option<&str>) -> bool {
        match (&self.lock, id) {
            (None, None) => true,
            (lock, id) => lock.as_ref().map_or("", |l| l.id.as_str()) == id.unwrap_or(""),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling.

/// What the connection should do with a request.
enum Outcome {
    Reply(Reply),
    Hang(Duration),
    Truncate(Reply),
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    /// GitLab's error shape for most failures.
    fn message(status: u16, message: &str) -> Reply {
        Reply::json(status, json!({ "message": message }))
    }

    /// Grape's shape for parameter validation failures.
    fn error(status: u16, error: &str) -> Reply {
        Reply::json(status, json!({ "error": error }))
    }

    fn raw(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type: "application/octet-stream",
            body,
        }
    }

    fn empty_ok() -> Reply {
        Reply::json(200, json!({}))
    }

    fn no_content() -> Reply {
        Reply {
            status: 204,
            content_type: "application/json",
            body: Vec::new(),
        }
    }

    fn unauthorized() -> Reply {
        Reply::message(401, "401 Unauthorized")
    }

    fn forbidden() -> Reply {
        Reply::message(403, "403 Forbidden")
    }

    fn not_found() -> Reply {
        Reply::message(404, "404 Not Found")
    }
}

/// Where a request path leads, decoded only after splitting on `/` so that `%2F` stays part
/// of a name while a raw `/` misses the route.
enum Endpoint {
    State {
        project: String,
        name: String,
        tail: Tail,
    },
    GraphQL,
    /// `GET /projects/:id`: tfw asks it for `path_with_namespace` (GraphQL needs the path).
    Project(String),
    Unknown,
}

enum Tail {
    Base,
    Lock,
    Version(String),
}

impl Endpoint {
    fn parse(path: &str) -> Endpoint {
        if path == "/api/graphql" {
            return Endpoint::GraphQL;
        }
        let segments: Vec<&str> = path.split('/').collect();
        if let ["", "api", "v4", "projects", project] = segments.as_slice() {
            return match percent_decode_str(project).decode_utf8() {
                Ok(project) => Endpoint::Project(project.into_owned()),
                Err(_) => Endpoint::Unknown,
            };
        }
        let [
            "",
            "api",
            "v4",
            "projects",
            project,
            "terraform",
            "state",
            name,
            rest @ ..,
        ] = segments.as_slice()
        else {
            return Endpoint::Unknown;
        };
        let tail = match rest {
            [] => Tail::Base,
            ["lock"] => Tail::Lock,
            ["versions", serial] => Tail::Version(serial.to_string()),
            _ => return Endpoint::Unknown,
        };
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        };
        match (decode(project), decode(name)) {
            (Some(project), Some(name)) if !project.is_empty() && !name.is_empty() => {
                Endpoint::State {
                    project,
                    name,
                    tail,
                }
            }
            _ => Endpoint::Unknown,
        }
    }

    fn route(&self) -> Route {
        match self {
            Endpoint::State { tail, .. } => match tail {
                Tail::Base => Route::State,
                Tail::Lock => Route::Lock,
                Tail::Version(_) => Route::Versions,
            },
            Endpoint::GraphQL => Route::GraphQL,
            Endpoint::Project(_) | Endpoint::Unknown => Route::Other,
        }
    }

    fn state_name(&self) -> Option<&str> {
        match self {
            Endpoint::State { name, .. } => Some(name),
            _ => None,
        }
    }
}

struct Shared {
    world: Mutex<World>,
    stopping: AtomicBool,
    /// Guards nothing: delayed and hung requests sleep on `wake` so that Drop can end them.
    nap: Mutex<()>,
    wake: Condvar,
}

impl Shared {
    fn world(&self) -> MutexGuard<'_, World> {
        lock_ignoring_poison(&self.world)
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` (capped at `MAX_FAULT_WAIT`) unless the server stops first.
    fn pause(&self, duration: Duration) {
        let deadline = Instant::now() + duration.min(MAX_FAULT_WAIT);
        let mut nap = lock_ignoring_poison(&self.nap);
        while !self.stopping() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            nap = match self.wake.wait_timeout(nap, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn handle(&self, request: &HttpRequest) -> Outcome {
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        let endpoint = Endpoint::parse(path);
        let method = request.method.to_ascii_uppercase();

        let (auth, log_index, fault) = {
            let mut world = self.world();
            let basic_allowed = matches!(endpoint, Endpoint::State { .. });
            let auth = world.authenticate(&request.headers, basic_allowed);
            let log_index = (!world.log_disabled).then(|| {
                world.log.push(RequestRecord {
                    method: request.method.clone(),
                    url: request.target.clone(),
                    user: auth.username(),
                    status: 0,
                    body: request.body.clone(),
                    headers: request.headers.clone(),
                });
                world.log.len() - 1
            });
            let fault = world.take_fault(&method, endpoint.route(), endpoint.state_name());
            (auth, log_index, fault)
        };

        let outcome = match fault {
            Some(FaultAction::Respond { status, body }) => Outcome::Reply(Reply {
                status,
                content_type: "application/json",
                body: body.into_bytes(),
            }),
            Some(FaultAction::Hang(hold)) => Outcome::Hang(hold),
            Some(FaultAction::Truncate) => {
                Outcome::Truncate(self.dispatch(&method, &endpoint, query, request, &auth))
            }
            Some(FaultAction::Delay(delay)) => {
                self.pause(delay);
                Outcome::Reply(self.dispatch(&method, &endpoint, query, request, &auth))
            }
            None => Outcome::Reply(self.dispatch(&method, &endpoint, query, request, &auth)),
        };

        if let Some(index) = log_index {
            let status = match &outcome {
                Outcome::Reply(reply) | Outcome::Truncate(reply) => reply.status,
                Outcome::Hang(_) => 0,
            };
            // clear_requests may have emptied the log meanwhile.
            if let Some(record) = self.world().log.get_mut(index) {
                record.status = status;
            }
        }
        outcome
    }

    fn dispatch(
        &self,
        method: &str,
        endpoint: &Endpoint,
        query: &str,
        request: &HttpRequest,
        auth: &Auth,
    ) -> Reply {
        let mut world = self.world();
        match endpoint {
            Endpoint::GraphQL if method == "POST" => graphql(&world, auth, &request.body),
            Endpoint::GraphQL => Reply::error(405, "405 Not Allowed"),
            Endpoint::Unknown => Reply::error(404, "404 Not Found"),
            Endpoint::Project(project) => {
                if matches!(auth, Auth::Anonymous | Auth::Invalid) {
                    return Reply::unauthorized();
                }
                match world.project_index(project) {
                    Some(index) if method == "GET" => {
                        let project = &world.projects[index];
                        Reply::json(
                            200,
                            serde_json::json!({
                                "id": project.id,
                                "path_with_namespace": project.full_path,
                            }),
                        )
                    }
                    Some(_) => Reply::error(405, "405 Not Allowed"),
                    None => Reply::not_found(),
                }
            }
            Endpoint::State {
                project,
                name,
                tail,
            } => {
                let user = match auth {
                    Auth::User { user, job } => (user.clone(), job.clone()),
                    Auth::Anonymous | Auth::Invalid => return Reply::unauthorized(),
                };
                rest(
                    &mut world,
                    method,
                    project,
                    name,
                    tail,
                    query,
                    &request.body,
                    user,
                )
            }
        }
    }
}

/// The REST routes, in the order GitLab checks things: authentication, project, read access,
/// parameter validation, write access, then the state itself.
#[allow(clippy::too_many_arguments)]
fn rest(
    world: &mut World,
    method: &str,
    project: &str,
    name: &str,
    tail: &Tail,
    query: &str,
    body: &[u8],
    (user, job): (User, Option<String>),
) -> Reply {
    let Some(project_index) = world.project_index(project) else {
        return Reply::not_found();
    };
    if user.role < Role::Developer {
        return Reply::forbidden();
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Reply::error(400, "name is too long (maximum is 255 characters)");
    }
    let can_write = user.role >= Role::Maintainer;
    let max_state_size = world.max_state_size;
    let project = &mut world.projects[project_index];
    let now = SystemTime::now();

    match (tail, method) {
        (Tail::Base, "GET") => {
            let Some(state) = project.states.get(name) else {
                return Reply::not_found();
            };
            if state.deleting {
                return deleting();
            }
            match state.versions.values().next_back() {
                Some(version) => Reply::raw(200, version.bytes.clone()),
                None => Reply::no_content(),
            }
        }

        (Tail::Base, "POST") => {
            if !can_write {
                return Reply::forbidden();
            }
            if body.is_empty() {
                return Reply::no_content();
            }
            if max_state_size > 0 && body.len() > max_state_size {
                return Reply::message(413, "413 Request Entity Too Large");
            }
            let Ok(document) = serde_json::from_slice::<Value>(body) else {
                return Reply::message(422, "The state is not valid JSON");
            };
            let id = query_param(query, "ID");
            let state = project.state_entry(name);
            if state.deleting {
                return deleting();
            }
            if !state.lock_matches(id.as_deref()) {
                return match &state.lock {
                    Some(lock) => Reply::json(409, lock.as_json()),
                    None => Reply::message(409, "409 Conflict: the state is not locked"),
                };
            }
            let Some(serial) = serial_of(&document) else {
                return Reply::message(422, "Version can't be blank");
            };
            if state.versions.contains_key(&serial) {
                return Reply::message(422, "Version has already been taken");
            }
            let created_by = state.lock.as_ref().map(|l| l.username.clone());
            state.versions.insert(
                serial,
                VersionRec {
                    bytes: body.to_vec(),
                    created_at: now,
                    created_by,
                    job,
                },
            );
            state.updated_at = now;
            Reply::empty_ok()
        }

        (Tail::Base, "DELETE") => {
            if !can_write {
                return Reply::forbidden();
            }
            let Some(state) = project.states.get(name) else {
                return Reply::not_found();
            };
            if state.deleting {
                return deleting();
            }
            // GitLab refuses to delete a locked state but still answers 200.
            if state.lock.is_none() {
                project.states.remove(name);
            }
            Reply::empty_ok()
        }

        (Tail::Lock, "POST") => {
            let params = request_params(query, body);
            let missing: Vec<String> = [
                "ID",
                "Operation",
                "Info",
                "Who",
                "Version",
                "Created",
                "Path",
            ]
            .iter()
            .filter(|key| params.get(**key).is_none_or(Value::is_null))
            .map(|key| format!("{key} is missing"))
            .collect();
            if !missing.is_empty() {
                return Reply::error(400, &missing.join(", "));
            }
            let id = value_text(&params["ID"]);
            if id.chars().count() > MAX_NAME_LEN {
                return Reply::error(400, "ID must be less than 255 characters");
            }
            if !can_write {
                return Reply::forbidden();
            }
            if id.trim().is_empty() {
                return Reply::message(400, "400 Bad request - ID is empty");
            }
            let state = project.state_entry(name);
            if state.deleting {
                return deleting();
            }
            let status = if state.lock.is_some() {
                409
            } else {
                state.lock = Some(LockRec {
                    id,
                    username: user.username.clone(),
                    locked_at: now,
                    info: params.clone(),
                });
                state.updated_at = now;
                200
            };
            let holder = state.lock.as_ref().expect("the state is locked");
            // GitLab answers with the request's own Operation/Info/Version/Path and the
            // holder's ID, Who (GitLab username) and Created, on 200 and 409 alike.
            let mut answer = Map::new();
            for key in ["Operation", "Info", "Version", "Path"] {
                answer.insert(key.into(), params[key].clone());
            }
            answer.insert("ID".into(), holder.id.clone().into());
            answer.insert("Who".into(), holder.username.clone().into());
            answer.insert("Created".into(), rfc3339_millis(holder.locked_at).into());
            Reply::json(status, Value::Object(answer))
        }

        (Tail::Lock, "DELETE") => {
            let params = request_params(query, body);
            let id = params.get("ID").filter(|v| !v.is_null()).map(value_text);
            if id
                .as_ref()
                .is_some_and(|id| id.chars().count() > MAX_NAME_LEN)
            {
                return Reply::error(400, "ID must be less than 255 characters");
            }
            if !can_write {
                return Reply::forbidden();
            }
            let state = project.state_entry(name);
            if state.deleting {
                return deleting();
            }
            // No ID is Terraform's force-unlock and always succeeds; an ID must match.
            if id.is_some() && !state.lock_matches(id.as_deref()) {
                return Reply::message(409, "409 Conflict");
            }
            if state.lock.take().is_some() {
                state.updated_at = now;
            }
            Reply::empty_ok()
        }

        (Tail::Version(serial), "GET" | "DELETE") => {
            let Ok(serial) = serial.parse::<u64>() else {
                return Reply::error(400, "serial is invalid");
            };
            if method == "DELETE" && !can_write {
                return Reply::forbidden();
            }
            let Some(state) = project.states.get_mut(name) else {
                return Reply::not_found();
            };
            if state.deleting {
                return deleting();
            }
            if method == "DELETE" {
                return match state.versions.remove(&serial) {
                    Some(_) => Reply::no_content(),
                    None => Reply::not_found(),
                };
            }
            match state.versions.get(&serial) {
                Some(version) => Reply::raw(200, version.bytes.clone()),
                None => Reply::not_found(),
            }
        }

        _ => Reply::error(405, "405 Not Allowed"),
    }
}

fn deleting() -> Reply {
    Reply::message(422, "The state is scheduled for deletion")
}

/// `project(fullPath:) { terraformStates { nodes { ... } } }`: every listed field is always
/// returned, whatever the query selects.
fn graphql(world: &World, auth: &Auth, body: &[u8]) -> Reply {
    let user = match auth {
        Auth::Invalid => return Reply::unauthorized(),
        // GitLab's GraphQL serves anonymous requests; a private project is then invisible.
        Auth::Anonymous => return Reply::json(200, json!({ "data": { "project": null } })),
        Auth::User { user, .. } => user,
    };
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Reply::json(
            400,
            json!({ "errors": [{ "message": "Invalid JSON in the request body" }] }),
        );
    };
    let query = request.get("query").and_then(Value::as_str).unwrap_or("");
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    let Some(full_path) = graphql_full_path(query, &variables) else {
        return Reply::json(
            200,
            json!({ "errors": [{ "message": "project(fullPath:) needs a full path" }] }),
        );
    };
    let project = world
        .projects
        .iter()
        .find(|p| p.full_path.eq_ignore_ascii_case(&full_path));
    let Some(project) = project else {
        return Reply::json(200, json!({ "data": { "project": null } }));
    };
    if user.role < Role::Developer {
        return Reply::json(
            200,
            json!({ "data": { "project": { "fullPath": project.full_path, "terraformStates": null } } }),
        );
    }
    let nodes: Vec<Value> = project
        .states
        .iter()
        .map(|(name, state)| {
            let latest = state.versions.iter().next_back().map(|(serial, v)| {
                json!({
                    "serial": serial,
                    "createdAt": rfc3339_seconds(v.created_at),
                    "createdByUser": v.created_by.as_ref().map(|u| json!({ "username": u })),
                    "job": v.job.as_ref().map(|j| json!({ "name": j })),
                })
            });
            json!({
                "name": name,
                "lockedAt": state.lock.as_ref().map(|l| rfc3339_seconds(l.locked_at)),
                "lockedByUser": state.lock.as_ref().map(|l| json!({ "username": l.username })),
                "updatedAt": rfc3339_seconds(state.updated_at),
                "latestVersion": latest,
            })
        })
        .collect();
    Reply::json(
        200,
        json!({ "data": { "project": {
            "fullPath": project.full_path,
            "terraformStates": { "count": nodes.len(), "nodes": nodes },
        } } }),
    )
}

/// The project path: a `fullPath: "literal"` argument, a `fullPath: $variable` argument, or
/// else `variables.fullPath`.
fn graphql_full_path(query: &str, variables: &Value) -> Option<String> {
    for (at, _) in query.match_indices("fullPath") {
        // `$fullPath: ID!` is the variable's declaration, not the argument.
        if query[..at].ends_with('$') {
            continue;
        }
        let Some(value) = query[at + "fullPath".len()..]
            .trim_start()
            .strip_prefix(':')
        else {
            continue;
        };
        let value = value.trim_start();
        if let Some(literal) = value.strip_prefix('"') {
            return literal.split('"').next().map(str::to_string);
        }
        if let Some(variable) = value.strip_prefix('$') {
            let variable: String = variable
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if let Some(path) = variables.get(&variable).and_then(Value::as_str) {
                return Some(path.to_string());
            }
        }
    }
    variables
        .get("fullPath")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The state's `serial`, as a number or (Grape coerces) a string of digits.
fn serial_of(document: &Value) -> Option<u64> {
    match document.get("serial")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Grape's params: the query string, overridden by a JSON object body (Terraform) or a form
/// body (GitLab's own specs post forms).
fn request_params(query: &str, body: &[u8]) -> Map<String, Value> {
    let mut params: Map<String, Value> = parse_form(query)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => params.extend(object),
        _ => {
            let form = String::from_utf8_lossy(body);
            params.extend(
                parse_form(&form)
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v))),
            );
        }
    }
    params
}

fn query_param(query: &str, key: &str) -> Option<String> {
    parse_form(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// `application/x-www-form-urlencoded`, as Rack reads query strings (`+` is a space).
fn parse_form(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Grape coerces the LockInfo fields to strings.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn rfc3339_seconds(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Rails renders times in JSON with milliseconds.
fn rfc3339_millis(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 plumbing.

const MAX_LINE: u64 = 64 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_BODY: u64 = 1 << 30;

struct HttpRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    keep_alive: bool,
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections: Vec<(TcpStream, JoinHandle<()>)> = Vec::new();
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) => {
                // Out of descriptors or a connection reset before accept: try again soon.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        connections.retain(|(_, handle)| !handle.is_finished());
        let Ok(control) = stream.try_clone() else {
            continue;
        };
        let worker = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("gitlab-conn".into())
                .spawn(move || serve_connection(stream, &shared))
        };
        if let Ok(handle) = worker {
            connections.push((control, handle));
        }
    }
    // Idle keep-alive connections would block their threads in `read` forever.
    for (stream, _) in &connections {
        let _ = stream.shutdown(Shutdown::Both);
    }
    for (_, handle) in connections {
        let _ = handle.join();
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while !shared.stopping() {
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(_) => {
                let _ = write_reply(
                    &mut writer,
                    "GET",
                    &Reply::error(400, "400 Bad Request"),
                    false,
                );
                break;
            }
        };
        match shared.handle(&request) {
            Outcome::Reply(reply) => {
                let sent = write_reply(&mut writer, &request.method, &reply, request.keep_alive);
                if sent.is_err() || !request.keep_alive {
                    break;
                }
            }
            Outcome::Hang(hold) => {
                shared.pause(hold);
                break;
            }
            Outcome::Truncate(reply) => {
                let _ = write_truncated(&mut writer, &reply);
                break;
            }
        }
    }
    // Write side first, so that what was sent arrives before the end of the stream.
    let _ = writer.shutdown(Shutdown::Write);
    let _ = writer.shutdown(Shutdown::Both);
}

fn read_line(reader: &mut BufReader<TcpStream>) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\n") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
    }
    let line =
        String::from_utf8(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one request; `Ok(None)` when the client closed the connection between requests.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<HttpRequest>> {
    let request_line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            // RFC 9112 asks servers to ignore empty lines before a request line.
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("unsupported HTTP version"));
    }

    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| bad("end of stream in headers"))?;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(bad("too many headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("malformed header"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }

    let connection = header(&headers, "connection").map(str::to_ascii_lowercase);
    let keep_alive = match connection.as_deref() {
        Some(c) if c.contains("close") => false,
        Some(c) if c.contains("keep-alive") => true,
        _ => version == "HTTP/1.1",
    };

    if header(&headers, "expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }

    let chunked = header(&headers, "transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let length = match header(&headers, "content-length") {
            Some(len) => len.parse::<u64>().map_err(|_| bad("bad Content-Length"))?,
            None => 0,
        };
        if length > MAX_BODY {
            return Err(bad("body too large"));
        }
        let mut body = Vec::new();
        reader.by_ref().take(length).read_to_end(&mut body)?;
        if body.len() as u64 != length {
            return Err(bad("end of stream in body"));
        }
        body
    };

    Ok(Some(HttpRequest {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body,
        keep_alive,
    }))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| bad("end of stream in chunk size"))?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?
                .ok_or_else(|| bad("end of stream in trailers"))?
                .is_empty()
            {}
            return Ok(body);
        }
        if body.len() as u64 + size > MAX_BODY {
            return Err(bad("body too large"));
        }
        let before = body.len();
        reader.by_ref().take(size).read_to_end(&mut body)?;
        if (body.len() - before) as u64 != size {
            return Err(bad("end of stream in chunk"));
        }
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn write_head(
    writer: &mut TcpStream,
    reply: &Reply,
    content_length: Option<usize>,
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    if let Some(length) = content_length {
        head.push_str(&format!(
            "Content-Type: {}\r\nContent-Length: {length}\r\n",
            reply.content_type
        ));
    }
    head.push_str(if keep_alive {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    writer.write_all(head.as_bytes())
}

fn write_reply(
    writer: &mut TcpStream,
    method: &str,
    reply: &Reply,
    keep_alive: bool,
) -> io::Result<()> {
    // A 204 has no body and so no length either.
    let length = (reply.status != 204).then_some(reply.body.len());
    write_head(writer, reply, length, keep_alive)?;
    if length.is_some() && !method.eq_ignore_ascii_case("HEAD") {
        writer.write_all(&reply.body)?;
    }
    writer.flush()
}

fn write_truncated(writer: &mut TcpStream, reply: &Reply) -> io::Result<()> {
    let announced = reply.body.len() + 1024;
    write_head(writer, reply, Some(announced), false)?;
    writer.write_all(&reply.body[..reply.body.len() / 2])?;
    writer.flush()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        423 => "Locked",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock must not take every later request down.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let value = BASE64.iter().position(|b| *b == c)? as u32;
        acc = acc << 6 | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
